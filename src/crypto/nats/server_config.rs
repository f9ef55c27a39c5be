//! The nats-server configuration for operator mode with a memory resolver.
//!
//! ```text
//! # Operator named Acme
//! operator: eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
//! # System Account named SYS
//! system_account: ACFZ...
//!
//! # Every account JWT is preloaded into the memory resolver.
//! resolver: MEMORY
//! resolver_preload: {
//!     # Account named SYS
//!     ACFZ...: eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
//!     # Account named Engineering
//!     ADXH...: eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
//! }
//!
//! jetstream: {
//!     store_dir: "/var/lib/nats/jetstream"
//! }
//! ```
//!
//! The text is built only from verified JWTs: the operator's, and each account's, which must
//! be vouched for by that operator (Go's `DidSign`, honouring `strict_signing_key_usage`).
//! The system account named in the operator JWT must be among them. Names appear only in
//! comments; control characters in them are replaced so a name cannot end a comment line.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::NatsError;
use super::claims::{Account, Operator};
use super::jwt::{self, Jwt};

/// The server's JetStream settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JetStreamServerConfig {
    /// `store_dir`: where the server keeps streams (a directory on the server's machine).
    pub store_dir: String,
    /// `max_memory_store`: bytes of memory for all streams (server default when `None`).
    pub max_memory_store: Option<u64>,
    /// `max_file_store`: bytes of disk for all streams (server default when `None`).
    pub max_file_store: Option<u64>,
}

fn comment(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn quoted(what: &str, value: &str) -> Result<String, NatsError> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(NatsError::ServerConfig(format!("{what} must be non-empty and without control characters")));
    }
    Ok(format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// The configuration text of a nats-server in operator mode that trusts `operator_jwt` and
/// knows every account in `account_jwts` (the system account first, the rest in the given
/// order), with JetStream enabled when `jetstream` is given.
///
/// Fails, naming the problem, when a JWT does not verify, is not of the right kind, is not
/// vouched for by the operator, appears twice, or when the operator names no system account
/// or the system account's JWT is missing.
pub fn server_config(
    operator_jwt: &str,
    account_jwts: &[&str],
    jetstream: Option<&JetStreamServerConfig>,
) -> Result<String, NatsError> {
    let operator: Jwt<Operator> = jwt::decode(operator_jwt)?;
    if operator.issuer() != operator.subject() {
        return Err(NatsError::ServerConfig("the operator JWT must be signed by the operator's own key".into()));
    }
    let system_account = operator.claims().nats.system_account.as_str();
    if system_account.is_empty() {
        return Err(NatsError::ServerConfig(
            "the operator JWT names no system account; set system_account and re-sign it".into(),
        ));
    }

    let mut accounts: Vec<Jwt<Account>> = Vec::with_capacity(account_jwts.len());
    let mut seen = BTreeSet::new();
    for token in account_jwts {
        let account: Jwt<Account> = jwt::decode(token)?;
        if !operator.did_sign(&account) {
            return Err(NatsError::ServerConfig(format!(
                "account {} ({}) is signed by {}, which the operator does not vouch for",
                comment(&account.claims().name),
                account.subject(),
                account.issuer()
            )));
        }
        if !seen.insert(account.subject().to_owned()) {
            return Err(NatsError::ServerConfig(format!("account {} is listed twice", account.subject())));
        }
        accounts.push(account);
    }
    let Some(position) = accounts.iter().position(|a| a.subject() == system_account) else {
        return Err(NatsError::ServerConfig(format!(
            "the system account {system_account} named by the operator is not among the accounts"
        )));
    };
    let system = accounts.remove(position);
    accounts.insert(0, system);

    let mut text =
        String::with_capacity(operator_jwt.len() + account_jwts.iter().map(|t| t.len() + 128).sum::<usize>());
    // Writing to a String cannot fail.
    let _ = writeln!(text, "# Operator named {}", comment(&operator.claims().name));
    let _ = writeln!(text, "operator: {}", operator.token());
    let _ = writeln!(text, "# System Account named {}", comment(&accounts[0].claims().name));
    let _ = writeln!(text, "system_account: {system_account}");
    text.push('\n');
    text.push_str("# Every account JWT is preloaded into the memory resolver.\n");
    text.push_str("resolver: MEMORY\n");
    text.push_str("resolver_preload: {\n");
    for account in &accounts {
        let _ = writeln!(text, "    # Account named {}", comment(&account.claims().name));
        let _ = writeln!(text, "    {}: {}", account.subject(), account.token());
    }
    text.push_str("}\n");
    if let Some(js) = jetstream {
        text.push_str("\njetstream: {\n");
        let _ = writeln!(text, "    store_dir: {}", quoted("the JetStream store_dir", &js.store_dir)?);
        if let Some(bytes) = js.max_memory_store {
            let _ = writeln!(text, "    max_memory_store: {bytes}");
        }
        if let Some(bytes) = js.max_file_store {
            let _ = writeln!(text, "    max_file_store: {bytes}");
        }
        text.push_str("}\n");
    }
    Ok(text)
}

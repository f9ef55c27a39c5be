//! Creds files: a user JWT and the user's nkey seed in one file, for NATS clients.
//!
//! The standard format, as written by `nsc` and the Go library's `FormatUserConfig`:
//!
//! ```text
//! -----BEGIN NATS USER JWT-----
//! eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ...
//! ------END NATS USER JWT------
//!
//! ************************* IMPORTANT *************************
//! NKEY Seed printed below can be used to sign and prove identity.
//! NKEYs are sensitive and should be treated as secrets.
//!
//! -----BEGIN USER NKEY SEED-----
//! SUA…(the user seed: 58 base32 characters)…
//! ------END USER NKEY SEED------
//!
//! *************************************************************
//! ```
//!
//! (Five dashes open each block, six close it.) The file ends with a newline. It holds a
//! secret: the application layer writes it with mode `0600` (owner read/write only), which is
//! IO and so not done here.

use std::fmt;

use zeroize::Zeroizing;

use super::NatsError;
use super::claims::User;
use super::jwt::{self, Jwt};
use super::nkey::{NKeyKind, NatsKeyPair, NatsSeed};

/// The bytes of a creds file. Secret (it holds the user's seed): printed redacted, never
/// serialized, zeroized on drop.
pub struct CredsFile {
    text: Zeroizing<String>,
}

impl CredsFile {
    /// The file's bytes, to be written with mode `0600`. Secret.
    pub fn expose_secret(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

impl fmt::Debug for CredsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredsFile([redacted])")
    }
}

/// The creds file of the user JWT `user_jwt` and the user's `seed`.
///
/// Checks that the JWT is a valid, verified user JWT and that the seed is that user's (its
/// public key is the JWT's subject), so a client never gets a file that cannot connect.
pub fn creds_file(user_jwt: &str, seed: &NatsSeed) -> Result<CredsFile, NatsError> {
    let user: Jwt<User> = jwt::decode(user_jwt)?;
    if seed.kind() != NKeyKind::User {
        return Err(NatsError::InvalidCreds(format!("the seed is an {} seed, not a user seed", seed.kind())));
    }
    if NatsKeyPair::from_seed(seed)?.public_key() != user.subject() {
        return Err(NatsError::InvalidCreds(
            "the seed does not belong to the JWT's user (its public key is not the JWT's subject)".into(),
        ));
    }
    let mut text = Zeroizing::new(String::with_capacity(user_jwt.len() + 512));
    text.push_str("-----BEGIN NATS USER JWT-----\n");
    text.push_str(user.token());
    text.push_str("\n------END NATS USER JWT------\n\n");
    text.push_str("************************* IMPORTANT *************************\n");
    text.push_str("NKEY Seed printed below can be used to sign and prove identity.\n");
    text.push_str("NKEYs are sensitive and should be treated as secrets.\n\n");
    text.push_str("-----BEGIN USER NKEY SEED-----\n");
    text.push_str(seed.expose_secret());
    text.push_str("\n------END USER NKEY SEED------\n\n");
    text.push_str("*************************************************************\n");
    Ok(CredsFile { text })
}

fn is_fence(line: &str) -> bool {
    let line = line.trim();
    line.len() >= 6 && line.starts_with("---") && line.ends_with("---")
}

/// Reads a creds file back: the user JWT (verified) and the seed (checked to be that user's).
///
/// Accepts the blocks the Go library accepts: a fence line (`---…---`), one line of content,
/// a fence line; the first block is the JWT, the second the seed.
pub fn parse_creds(text: &str) -> Result<(Jwt<User>, NatsSeed), NatsError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i + 2 < lines.len() {
        if is_fence(lines[i]) && is_fence(lines[i + 2]) && !is_fence(lines[i + 1]) {
            blocks.push(lines[i + 1].trim());
            i += 3;
        } else {
            i += 1;
        }
    }
    let [token, seed, ..] = blocks[..] else {
        return Err(NatsError::InvalidCreds("expected a JWT block and a seed block".into()));
    };
    let user: Jwt<User> = jwt::decode(token)?;
    let seed = NatsSeed::parse(seed)?;
    if seed.kind() != NKeyKind::User || NatsKeyPair::from_seed(&seed)?.public_key() != user.subject() {
        return Err(NatsError::InvalidCreds("the seed is not the JWT's user's seed".into()));
    }
    Ok((user, seed))
}

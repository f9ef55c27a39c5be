//! Printing: human text, or one JSON document with `--json`.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

use crate::app::nats::{BootstrapReport, JwtView, NatsTree, RotationReport};
use crate::app::{Receipt, Vault};
use crate::crypto::keystore::KdfParams;
use crate::store::{DomainEventRow, GraphEventRow, KeyRow, OrgSummary, OrgTree, PkiRow, Status, VerifyReport};

/// Prints results and errors in the chosen style.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    json: bool,
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

impl Printer {
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    fn json(&self, value: &impl Serialize) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => emit(&format!("{text}\n")),
            Err(e) => self.error(&format!("could not format the output as JSON: {e}")),
        }
    }

    /// A progress line on stderr, only when stderr is a terminal and output is for humans.
    pub fn progress(&self, what: &str, done: usize, total: usize) {
        use std::io::IsTerminal;
        if self.json || !std::io::stderr().is_terminal() {
            return;
        }
        let width = 30;
        let filled = (done * width).checked_div(total).unwrap_or(width).min(width);
        let end = if done == total { "\n" } else { "" };
        let _ = write!(
            std::io::stderr(),
            "\r{what} [{}{}] {done}/{total}{end}",
            "#".repeat(filled),
            " ".repeat(width - filled)
        );
    }

    /// One line on stderr (as JSON on stdout too, with `--json`).
    pub fn error(&self, message: &str) {
        let one_line: String = message.lines().collect::<Vec<_>>().join(" ");
        if self.json {
            self.json(&json!({ "error": one_line }));
        }
        let _ = writeln!(std::io::stderr(), "error: {one_line}");
    }

    pub fn init(&self, vault: &Vault, device_key: Option<&str>) {
        let identity = vault.identity();
        if self.json {
            self.json(&json!({
                "data_dir": vault.data_dir(),
                "vault_id": identity.vault_id,
                "device_id": identity.device_id.to_string(),
                "device_key": device_key,
            }));
        } else {
            emit(&format!(
                "created vault {} in {}\ndevice {}\ndevice key {}\n",
                identity.vault_id,
                vault.data_dir().display(),
                identity.device_id,
                device_key.unwrap_or("none")
            ));
        }
    }

    pub fn created(&self, id: &str, receipt: &Receipt) {
        if self.json {
            self.json(&json!({ "id": id, "receipt": receipt }));
        } else {
            emit(&format!("{id}\n"));
        }
    }

    /// The people imported (their NATS users, if any, are in the receipt).
    pub fn imported(&self, receipt: &Receipt) {
        let people = receipt.events.iter().filter(|e| e.event_type == "PersonAdded");
        if self.json {
            self.json(&json!({ "imported": people.count(), "receipt": receipt }));
        } else {
            let mut text = String::new();
            for event in people {
                text.push_str(&format!("{}\n", event.aggregate));
            }
            emit(&text);
        }
    }

    pub fn nats_bootstrap(&self, report: &BootstrapReport) {
        if self.json {
            self.json(report);
        } else {
            emit(&format!(
                "operator {} ({})\n{} accounts, {} users\n",
                report.operator_key, report.operator, report.accounts, report.users
            ));
        }
    }

    pub fn nats_list(&self, tree: &NatsTree) {
        if self.json {
            self.json(tree);
            return;
        }
        let op = &tree.operator;
        let mut text = format!("operator {}  {}  {}\n", op.id, op.public_key, op.name);
        for key in &op.signing_keys {
            text.push_str(&format!("  signing key {key}\n"));
        }
        for account in &tree.accounts {
            let what = if account.system {
                "system account"
            } else if account.unit_id.is_some() {
                "unit account"
            } else {
                "organization account"
            };
            text.push_str(&format!("{what} {}  {}  {}\n", account.id, account.public_key, account.name));
            for key in &account.signing_keys {
                match &key.role {
                    Some(role) => text.push_str(&format!("  signing key {} (scoped: {role})\n", key.public_key)),
                    None => text.push_str(&format!("  signing key {}\n", key.public_key)),
                }
            }
            for user in tree.users.iter().filter(|u| u.account_id == account.id) {
                let revoked = if user.revoked_at.is_some() { "  revoked" } else { "" };
                text.push_str(&format!("  user {}  {}  {}{revoked}\n", user.id, user.public_key, user.name));
            }
        }
        emit(&text);
    }

    pub fn nats_jwt(&self, view: &JwtView) {
        if self.json {
            self.json(view);
        } else {
            let claims = serde_json::to_string_pretty(&view.claims).unwrap_or_default();
            emit(&format!("{} JWT {}\n{claims}\n", view.kind, view.cid));
        }
    }

    #[cfg(feature = "sync")]
    pub fn nats_connection(&self, check: &crate::sync::ConnectionCheck) {
        if self.json {
            self.json(check);
            return;
        }
        let mut text = format!("connected to {} ({}): publish/subscribe OK\n", check.server, check.server_name);
        match &check.jetstream {
            Some(js) => {
                let limit = |n: i64| match n {
                    n if n < 0 => "unlimited".to_owned(),
                    n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
                    n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
                    n => format!("{n} bytes"),
                };
                text.push_str(&format!(
                    "JetStream enabled: memory {}, storage {}, {} streams\n",
                    limit(js.max_memory),
                    limit(js.max_storage),
                    js.streams
                ));
            }
            None => text.push_str("JetStream not enabled for this account\n"),
        }
        emit(&text);
    }

    pub fn nats_rotation(&self, report: &RotationReport) {
        if self.json {
            self.json(report);
            return;
        }
        let mut text = format!("retired {}\nnew     {}\nre-issued:\n", report.old_key, report.new_key);
        for r in &report.reissued {
            text.push_str(&format!("  {} {}  {}  {}\n", r.kind, r.id, r.public_key, r.name));
        }
        for user in &report.skipped_revoked {
            text.push_str(&format!("not re-issued (revoked): user {user}\n"));
        }
        emit(&text);
    }

    pub fn assigned(&self, receipt: &Receipt) {
        if self.json {
            self.json(&json!({ "receipt": receipt }));
        } else if let Some(event) = receipt.events.first() {
            emit(&format!("{}\n", event.id));
        }
    }

    pub fn organizations(&self, orgs: &[OrgSummary]) {
        if self.json {
            self.json(&json!({ "organizations": orgs }));
            return;
        }
        let mut text = String::new();
        for org in orgs {
            text.push_str(&format!(
                "{}  {}{}  ({}, {}, {})\n",
                org.id,
                org.name,
                org.domain.as_deref().map(|d| format!(" <{d}>")).unwrap_or_default(),
                count(org.units, "unit", "units"),
                count(org.people, "person", "people"),
                count(org.roles, "role", "roles")
            ));
        }
        emit(&text);
    }

    pub fn tree(&self, tree: &OrgTree) {
        if self.json {
            self.json(tree);
            return;
        }
        let mut text = format!("{}  {}\n", tree.organization.id, tree.organization.name);
        fn units(text: &mut String, tree: &OrgTree, parent: Option<&str>, depth: usize) {
            for unit in tree.units.iter().filter(|u| u.parent.as_deref() == parent) {
                text.push_str(&format!("{}unit {}  {}\n", "  ".repeat(depth), unit.id, unit.name));
                units(text, tree, Some(&unit.id), depth + 1);
            }
        }
        units(&mut text, tree, None, 1);
        for role in &tree.roles {
            text.push_str(&format!("  role {}  {}\n", role.id, role.name));
        }
        for person in &tree.people {
            text.push_str(&format!("  person {}  {} <{}>\n", person.id, person.name, person.email));
            for unit in &person.units {
                text.push_str(&format!("    member of {unit}\n"));
            }
            for role in &person.roles {
                text.push_str(&format!("    has role {role}\n"));
            }
        }
        emit(&text);
    }

    pub fn graph_events(&self, rows: &[GraphEventRow]) {
        if self.json {
            self.json(&json!({ "events": rows }));
            return;
        }
        let mut text = String::with_capacity(rows.len() * 160);
        text.push_str("SEQ  TIME                         TYPE                     FROM                 AGGREGATE                             CID\n");
        for r in rows {
            text.push_str(&format!(
                "{:<4} {:<28} {:<24} {:<20} {:<37} {}\n",
                r.seq, r.occurred_at, r.event_type, r.domain_type, r.aggregate, r.cid
            ));
        }
        emit(&text);
    }

    pub fn domain_events(&self, rows: &[DomainEventRow]) {
        if self.json {
            self.json(&json!({ "events": rows }));
            return;
        }
        let mut text = String::with_capacity(rows.len() * 160);
        text.push_str(
            "SEQ  TIME                         TYPE                 AGGREGATE                             VER  CID\n",
        );
        for r in rows {
            text.push_str(&format!(
                "{:<4} {:<28} {:<20} {:<37} {:<4} {}\n",
                r.seq, r.occurred_at, r.event_type, r.aggregate, r.version, r.cid
            ));
        }
        emit(&text);
    }

    pub fn verify(&self, report: &VerifyReport) {
        if self.json {
            self.json(&json!({ "ok": report.ok(), "report": report }));
        }
        match &report.problem {
            None if !self.json => emit(&format!(
                "ok: {} domain events and {} graph events verified{}; head {}\n",
                report.domain_events,
                report.graph_events,
                if report.deep { ", and their columns, projection and read models agree" } else { "" },
                report.head.map_or("(empty)".to_owned(), |c| c.to_string())
            )),
            None => {}
            Some(problem) => {
                let _ = writeln!(std::io::stderr(), "error: verification failed: {problem}");
            }
        }
    }

    /// A report: `value` as the JSON document with `--json`, else `text` (a newline added).
    pub fn report(&self, value: &impl Serialize, text: &str) {
        if self.json {
            self.json(value);
        } else {
            emit(&format!("{text}\n"));
        }
    }

    pub fn line(&self, text: &str) {
        if self.json {
            self.json(&json!({ "text": text }));
        } else {
            emit(&format!("{text}\n"));
        }
    }

    pub fn key_generated(&self, id: &str, fingerprint: &str, receipt: &Receipt) {
        if self.json {
            self.json(&json!({ "id": id, "fingerprint": fingerprint, "receipt": receipt }));
        } else {
            emit(&format!("{id}  {fingerprint}\n"));
        }
    }

    pub fn pki_init(&self, root: &str, intermediate: &str, receipt: &Receipt) {
        if self.json {
            self.json(&json!({ "root": root, "intermediate": intermediate, "receipt": receipt }));
        } else {
            emit(&format!("{root}  root CA\n{intermediate}  intermediate CA\n"));
        }
    }

    pub fn pki(&self, cas: &[PkiRow], certificates: &[PkiRow]) {
        if self.json {
            self.json(&json!({ "cas": cas, "certificates": certificates }));
            return;
        }
        let mut text = String::new();
        for row in cas.iter().chain(certificates) {
            text.push_str(&format!(
                "{}  {:<12} {}  until {}  {}{}\n",
                row.id,
                row.kind,
                row.subject,
                &row.not_after[..10.min(row.not_after.len())],
                row.fingerprint,
                if row.names.is_empty() { String::new() } else { format!("  [{}]", row.names.join(", ")) }
            ));
        }
        emit(&text);
    }

    pub fn keys(&self, keys: &[KeyRow]) {
        if self.json {
            self.json(&json!({ "keys": keys }));
            return;
        }
        let mut text = String::from(
            "KEY                                   OWNER                 ALGORITHM  STATUS   FINGERPRINT\n",
        );
        for k in keys {
            text.push_str(&format!(
                "{:<37} {:<21} {:<10} {:<8} {}\n",
                k.id,
                k.owner_email.chars().take(21).collect::<String>(),
                k.algorithm,
                k.status,
                k.fingerprint
            ));
        }
        emit(&text);
    }

    pub fn done(&self, what: &str) {
        if self.json {
            self.json(&json!({ "ok": true, "done": what }));
        } else {
            emit(&format!("{what}\n"));
        }
    }

    /// An informational line on stderr (never on stdout, which scripts parse).
    #[cfg(feature = "sync")]
    pub fn note(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "{message}");
    }

    /// A warning on stderr (never on stdout, which scripts parse).
    pub fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "warning: {message}");
    }

    pub fn status(
        &self,
        status: &Status,
        kdf: Option<KdfParams>,
        device_key: Option<&str>,
        dir: &Path,
        upload_error: Option<&(u64, u64, String)>,
    ) {
        let keystore = kdf.map(|k| {
            format!("sealed; argon2id, {} MiB, {} passes, {} lane(s)", k.memory_kib / 1024, k.iterations, k.parallelism)
        });
        if self.json {
            let kdf = kdf.map(|k| json!({ "kdf": "argon2id", "memory_kib": k.memory_kib, "iterations": k.iterations, "parallelism": k.parallelism }));
            let upload_error = upload_error
                .map(|(seq, attempts, error)| json!({ "graph_seq": seq, "attempts": attempts, "error": error }));
            self.json(&json!({ "data_dir": dir, "status": status, "keystore": kdf, "device_key": device_key, "last_upload_error": upload_error }));
            return;
        }
        emit(&format!(
            "vault          {}\ndata dir       {}\ndevice         {}\ndevice key     {}\nkeystore       {}\ndomain events  {}\ngraph events   {}\npending        {}\nuploaded       {}\nhead           {}\n",
            status.vault_id,
            dir.display(),
            status.device_id,
            device_key.unwrap_or("none yet (created by the first export)"),
            keystore.as_deref().unwrap_or("none (create one with `cim-keys passwd`)"),
            status.domain_events,
            status.graph_events,
            status.pending,
            status.uploaded,
            status.head.map_or("(empty)".to_owned(), |c| c.to_string())
        ));
        if let Some((seq, attempts, error)) = upload_error {
            emit(&format!("last upload    failed (graph event #{seq}, attempt {attempts}): {error}\n"));
        }
    }
}

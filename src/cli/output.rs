//! Printing: human text, or one JSON document with `--json`.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::json;

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

    pub fn init(&self, vault: &Vault) {
        let identity = vault.identity();
        if self.json {
            self.json(&json!({
                "data_dir": vault.data_dir(),
                "vault_id": identity.vault_id,
                "device_id": identity.device_id.to_string(),
            }));
        } else {
            emit(&format!(
                "created vault {} in {}\ndevice {}\n",
                identity.vault_id,
                vault.data_dir().display(),
                identity.device_id
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

    pub fn imported(&self, receipt: &Receipt) {
        if self.json {
            self.json(&json!({ "imported": receipt.events.len(), "receipt": receipt }));
        } else {
            let mut text = String::new();
            for event in &receipt.events {
                text.push_str(&format!("{}\n", event.aggregate));
            }
            emit(&text);
        }
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

    /// A warning on stderr (never on stdout, which scripts parse).
    pub fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "warning: {message}");
    }

    pub fn status(&self, status: &Status, kdf: Option<KdfParams>, dir: &Path) {
        let keystore = kdf.map(|k| {
            format!("sealed; argon2id, {} MiB, {} passes, {} lane(s)", k.memory_kib / 1024, k.iterations, k.parallelism)
        });
        if self.json {
            let kdf = kdf.map(|k| json!({ "kdf": "argon2id", "memory_kib": k.memory_kib, "iterations": k.iterations, "parallelism": k.parallelism }));
            self.json(&json!({ "data_dir": dir, "status": status, "keystore": kdf }));
            return;
        }
        emit(&format!(
            "vault          {}\ndata dir       {}\ndevice         {}\nkeystore       {}\ndomain events  {}\ngraph events   {}\npending        {}\nuploaded       {}\nhead           {}\n",
            status.vault_id,
            dir.display(),
            status.device_id,
            keystore.as_deref().unwrap_or("none (create one with `cim-keys passwd`)"),
            status.domain_events,
            status.graph_events,
            status.pending,
            status.uploaded,
            status.head.map_or("(empty)".to_owned(), |c| c.to_string())
        ));
    }
}

//! The CA hierarchy from the CLI, checked by the real `openssl`: `pki init` then `pki issue`
//! give certificates that `openssl verify` accepts with the right names and usages; a leaf of
//! another hierarchy is refused; bad requests change nothing.

use std::path::Path;

use crate::support::{Vault, bin};

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed (Debian package openssl) for this test");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

struct Pki {
    org: String,
    root: String,
    intermediate: String,
}

fn init(vault: &Vault, name: &str) -> Pki {
    let org = vault.run(&["org", "create", "--name", name]).ok();
    let ids = vault.run(&["pki", "init", "--org", &org]).ok();
    let mut lines = ids.lines().map(|l| l.split_whitespace().next().unwrap().to_owned());
    Pki { org, root: lines.next().unwrap(), intermediate: lines.next().unwrap() }
}

fn export(vault: &Vault, id: &str, file: &str) {
    let path = vault.dir().join(file);
    vault.run(&["pki", "export", "--id", id, "--out", path.to_str().unwrap()]).ok();
}

#[test]
fn certificates_verify_with_openssl_and_show_what_was_asked() {
    let vault = Vault::new();
    let pki = init(&vault, "Acme Corp");
    let issued = vault
        .run(&[
            "pki",
            "issue",
            "--org",
            &pki.org,
            "--kind",
            "server",
            "--name",
            "nats.acme.example",
            "--san",
            "nats.acme.example",
            "--san",
            "127.0.0.1",
        ])
        .ok();
    let (server, fingerprint) = issued.split_once("  ").unwrap();
    let client = vault
        .run(&[
            "pki",
            "issue",
            "--org",
            &pki.org,
            "--kind",
            "client",
            "--name",
            "ann",
            "--san",
            "email:ann@acme.example",
        ])
        .ok();
    let client = client.split_whitespace().next().unwrap();
    export(&vault, &pki.root, "root.pem");
    export(&vault, &pki.intermediate, "intermediate.pem");
    export(&vault, server, "server.pem");
    export(&vault, client, "client.pem");
    let dir = vault.dir();
    let (ok, out) = openssl(
        &[
            "verify",
            "-x509_strict",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "intermediate.pem",
            "server.pem",
            "client.pem",
        ],
        dir,
    );
    assert!(ok, "{out}");
    assert!(out.contains("server.pem: OK") && out.contains("client.pem: OK"), "{out}");
    let (ok, out) = openssl(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "intermediate.pem",
            "-purpose",
            "sslserver",
            "-verify_hostname",
            "nats.acme.example",
            "server.pem",
        ],
        dir,
    );
    assert!(ok, "{out}");
    let (_, text) = openssl(&["x509", "-in", "server.pem", "-noout", "-text", "-fingerprint", "-sha256"], dir);
    assert!(text.contains("DNS:nats.acme.example, IP Address:127.0.0.1"), "{text}");
    assert!(text.contains("TLS Web Server Authentication") && text.contains("Digital Signature"), "{text}");
    assert!(text.contains(&format!("Fingerprint={fingerprint}")), "{text}");
    let (_, text) = openssl(&["x509", "-in", "root.pem", "-noout", "-text"], dir);
    assert!(text.contains("CA:TRUE, pathlen:1") && text.contains("Certificate Sign, CRL Sign"), "{text}");
    let (_, text) = openssl(&["x509", "-in", "client.pem", "-noout", "-text"], dir);
    assert!(text.contains("email:ann@acme.example") && text.contains("TLS Web Client Authentication"), "{text}");

    // A leaf of another organization's hierarchy does not verify under this root.
    let other = init(&vault, "Globex");
    let foreign = vault
        .run(&[
            "pki",
            "issue",
            "--org",
            &other.org,
            "--kind",
            "server",
            "--name",
            "nats.acme.example",
            "--san",
            "nats.acme.example",
        ])
        .ok();
    export(&vault, foreign.split_whitespace().next().unwrap(), "foreign.pem");
    export(&vault, &other.intermediate, "foreign-intermediate.pem");
    let (ok, out) =
        openssl(&["verify", "-CAfile", "root.pem", "-untrusted", "foreign-intermediate.pem", "foreign.pem"], dir);
    assert!(!ok, "a foreign leaf verified: {out}");

    // The events carry the certificate's CID, serial, subject, validity and fingerprint.
    let events = vault.run(&["events", "--domain", "--json"]).json();
    let issued = events["events"].as_array().unwrap().iter().filter(|e| e["type"] == "CertificateIssued").count();
    assert_eq!(issued, 3);
    let list = vault.run(&["pki", "list", "--org", &pki.org, "--json"]).json();
    let leaf = &list["certificates"][0];
    assert_eq!(leaf["fingerprint"], fingerprint);
    assert!(leaf["certificate"].as_str().unwrap().starts_with("bafkrei"), "raw-codec CID: {leaf}");
    assert!(vault.run(&["verify", "--deep"]).ok().starts_with("ok:"));
}

#[test]
fn bad_pki_requests_change_nothing() {
    let vault = Vault::new();
    let org = vault.run(&["org", "create", "--name", "Acme"]).ok();
    let before = vault.counts();
    let run = vault.run(&["pki", "issue", "--org", &org, "--kind", "server", "--name", "x", "--san", "x.example"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("has no CA hierarchy yet"), "{run:?}");
    let wrong = bin()
        .env("CIM_KEYS_PASSPHRASE", "wrong")
        .arg("--data-dir")
        .arg(vault.dir())
        .args(["pki", "init", "--org", &org])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert_eq!(vault.counts(), before);
    let none: i64 = vault
        .sql()
        .query_row("SELECT count(*) FROM secrets WHERE kind <> 'device-ed25519-seed'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(none, 0);

    vault.run(&["pki", "init", "--org", &org]).ok();
    let after_init = vault.counts();
    let cases: [(&[&str], &str); 5] = [
        (&["pki", "init", "--org", &org], "already has a CA hierarchy"),
        (
            &["pki", "issue", "--org", &org, "--kind", "server", "--name", "x"],
            "needs at least one DNS name or IP address",
        ),
        (&["pki", "issue", "--org", &org, "--kind", "server", "--name", "x", "--san", "bad name!"], "DNS"),
        (
            &[
                "pki",
                "issue",
                "--org",
                &org,
                "--kind",
                "server",
                "--name",
                "x",
                "--san",
                "x.example",
                "--days",
                "40000",
            ],
            "valid",
        ),
        (&["pki", "export", "--id", "0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c"], "no CA or certificate"),
    ];
    for (args, says) in cases {
        let run = vault.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(vault.counts(), after_init, "{args:?}");
    }
}

#[test]
fn a_tampered_certificate_block_is_not_exported() {
    let vault = Vault::new();
    let pki = init(&vault, "Acme");
    vault.sql().execute("UPDATE artifacts SET bytes = bytes || x'00'", []).unwrap();
    let run = vault.run(&["pki", "export", "--id", &pki.root]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("does not hash to its CID"), "{run:?}");
}

#[test]
fn ca_and_leaf_keys_exist_only_sealed() {
    use cim_keys::crypto::keystore::{self, Passphrase};
    use cim_keys::crypto::x509::{CertificateKey, LeafKind};
    use data_encoding::{BASE64, HEXLOWER};
    let tmp = tempfile::TempDir::new().unwrap();
    let mut vault = crate::support::library_vault(&tmp.path().join("v"));
    let org = cim_keys::domain::OrgId::from_uuid(cim_keys::app::new_id());
    vault
        .execute(cim_keys::domain::Command::CreateOrganization { id: org, name: "Acme".into(), domain: None })
        .unwrap();
    let passphrase = Passphrase::new(crate::support::PASSPHRASE.to_owned()).unwrap();
    let (root, intermediate, _) = vault.pki_init(org, &passphrase).unwrap();
    let spec = cim_keys::app::pki::LeafSpec {
        kind: LeafKind::Server,
        common_name: "svc".into(),
        names: vec!["svc.acme.example".into()],
        days: 30,
    };
    let (leaf, _) = vault.pki_issue(org, &spec, &passphrase).unwrap();
    let master = vault.unlock(&passphrase).unwrap();
    let mut needles: Vec<Vec<u8>> = Vec::new();
    for id in [root.to_string(), intermediate.to_string(), leaf.to_string()] {
        let (kind, sealed) = vault.store().secret(&id).unwrap().expect("every key is sealed");
        let seed = keystore::open(&master, &id, &kind, &sealed).unwrap();
        let seed: [u8; 32] = seed.expose_secret().try_into().unwrap();
        let key = CertificateKey::from_seed(&seed);
        needles.push(seed.to_vec());
        needles.push(HEXLOWER.encode(&seed).into_bytes());
        needles.push(BASE64.encode(&seed).into_bytes());
        needles.push(key.expose_secret_pkcs8_der().to_vec());
        let pem = key.expose_secret_pkcs8_pem();
        // The base64 body of the PEM (its header is no secret).
        needles.push(pem.lines().nth(1).unwrap().as_bytes().to_vec());
    }
    let path = vault.store().path().to_owned();
    let mut haystacks = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(&p) {
            haystacks.push(bytes);
        }
    }
    haystacks.push(serde_json::to_vec(&vault.pki_list(org).unwrap()).unwrap());
    haystacks.push(vault.pki_pem(&leaf.to_string()).unwrap().into_bytes());
    for haystack in &haystacks {
        for needle in &needles {
            assert!(!haystack.windows(needle.len()).any(|w| w == needle.as_slice()), "a private key leaked");
        }
    }
}

//! The README's command-line walk-through really works: its commands are extracted from the
//! README and run, in order, by bash against a fresh data directory and the binary under
//! test.

use std::path::Path;

/// The shell commands of the README section "Command-line walk-through": every line of an
/// `sh` block, and every `$ ` line of a `console` block (with the body of a here-document).
fn walk_through_script(readme: &str) -> String {
    let start = readme.find("## Command-line walk-through").expect("the README has a walk-through");
    let section = &readme[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let section = &section[..end];
    let mut script = String::new();
    let mut block: Option<&str> = None;
    let mut heredoc: Option<String> = None;
    for line in section.lines() {
        if let Some(kind) = line.strip_prefix("```") {
            block = if block.is_some() { None } else { Some(kind.trim()) };
            continue;
        }
        if let Some(terminator) = &heredoc {
            script.push_str(line);
            script.push('\n');
            if line.trim() == terminator {
                heredoc = None;
            }
            continue;
        }
        let command = match block {
            Some("sh") => Some(line),
            Some("console") => line.strip_prefix("$ "),
            _ => None,
        };
        let Some(command) = command else { continue };
        // The test puts the binary under test on PATH itself.
        if command.trim_start().starts_with("export PATH=") {
            continue;
        }
        if let Some((_, rest)) = command.split_once("<<") {
            heredoc = Some(rest.trim().trim_matches(|c| c == '\'' || c == '"').to_owned());
        }
        script.push_str(command);
        script.push('\n');
    }
    script
}

/// Needs the `sync` feature (`nats test-connection`) and `nats-server` on `PATH`
/// (`scripts/test` puts it there).
#[test]
#[cfg_attr(not(feature = "sync"), ignore = "the walk-through uses `nats test-connection` (feature sync)")]
fn the_readme_walk_through_runs() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let script = walk_through_script(&readme);
    assert!(script.contains("cim-keys init") && script.contains("cim-keys verify"), "{script}");
    let tmp = tempfile::TempDir::new().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_cim-keys")).parent().unwrap().to_owned();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -u\ntrap '[ -f nats.pid ] && kill \"$(cat nats.pid)\" 2>/dev/null' EXIT\n{script}"))
        .current_dir(tmp.path())
        .env("PATH", path)
        .env("TMPDIR", tmp.path())
        .env_remove("CIM_KEYS_DATA_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the walk-through failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    for expected in [
        "Acme Corp <acme.example>  (2 units, 4 people, 1 role)",
        "ok: 11 domain events and 18 graph events verified",
        "verified, and their columns, projection and read models agree",
        "\"domain_events\": 11",
        "SHA256:",
        "(ED25519)",
        "server.pem: OK",
        "4 accounts, 4 users",
        "publish/subscribe OK",
        "JetStream enabled: memory 64 MiB, storage 1 GiB",
        "exit 2",
        "exit 1",
        "encrypted to passphrase",
        "nats-server.conf",
        "imported 25 domain events (65 graph events, 13 artifacts)",
        "same history",
        "restored 21 of 21 secrets",
        "same creds, same seed",
        "uploaded 65 graph events from the vault",
        "65 stored now, 0 already there",
        "pending        0",
        "0 stored now, 65 already there",
        "replayed 25 domain events (65 graph events, 13 artifacts)",
        "same history, rebuilt from NATS",
    ] {
        assert!(stdout.contains(expected), "the walk-through did not print {expected:?}:\n{stdout}\n{stderr}");
    }
    // Only the five commands shown failing fail (the last: the revoked user's connection).
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 5, "unexpected errors:\n{stderr}");
    assert!(errors[4].contains("authorization violation"), "{stderr}");
    assert!(errors.iter().all(|e| !e.contains("verification failed")), "{stderr}");
}

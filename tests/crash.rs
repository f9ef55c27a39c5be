//! Crash safety: SIGKILL a CLI process in the middle of a large command at several points.
//! Afterwards the vault opens, `verify` passes, and the command is either fully present or
//! fully absent.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support::{Vault, bin};

const PEOPLE: usize = 20_000;

fn people_csv(vault: &Vault, tag: &str) -> std::path::PathBuf {
    let path = vault.dir().join(format!("people-{tag}.csv"));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..PEOPLE {
        writeln!(file, "Person {i},p{i}.{tag}@crash.example").unwrap();
    }
    file.flush().unwrap();
    path
}

#[test]
fn a_killed_import_is_all_or_nothing() {
    let vault = Vault::new();
    let org = vault.run(&["org", "create", "--name", "Crash Test"]).ok();

    // Measure how long a full import takes here, to aim the kills inside it.
    let csv = people_csv(&vault, "full");
    let started = Instant::now();
    vault.run(&["person", "import", "--org", &org, "--file", csv.to_str().unwrap()]).ok();
    let full = started.elapsed();
    let (mut domain, mut graph, _) = vault.counts();
    assert_eq!(domain, 1 + PEOPLE as u64);

    let mut killed_midway = 0;
    for (round, fraction) in [0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.1].into_iter().enumerate() {
        let csv = people_csv(&vault, &format!("r{round}"));
        let mut child = bin()
            .arg("--data-dir")
            .arg(vault.dir())
            .args(["person", "import", "--org", &org, "--file", csv.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        let was_killed = still_running && status.code().is_none();

        let run = vault.run(&["verify"]);
        assert_eq!(run.code, 0, "round {round}: verify failed after the kill: {run:?}");
        let (d, g, _) = vault.counts();
        if d == domain {
            assert_eq!(g, graph, "round {round}: graph events without their domain events");
            assert!(was_killed, "round {round}: the import finished but is absent");
            killed_midway += 1;
        } else {
            assert_eq!(d, domain + PEOPLE as u64, "round {round}: a partial import is visible");
            assert_eq!(g, graph + PEOPLE as u64, "round {round}: a partial import is visible");
        }
        (domain, graph) = (d, g);
    }
    assert!(
        killed_midway >= 2,
        "the kills never landed inside the transaction ({killed_midway}); the test proved nothing"
    );
    // The vault still takes new commands.
    vault.run(&["person", "add", "--org", &org, "--name", "After", "--email", "after@crash.example"]).ok();
    assert!(vault.run(&["verify"]).ok().starts_with("ok:"));
    let _ = Duration::ZERO;
}

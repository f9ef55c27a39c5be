//! A small shared harness for the `harness = false` benchmarks.
//!
//! Every benchmark measures our code and a raw baseline **in the same run, interleaved**: round
//! *i* runs ours then raw, round *i + 1* runs raw then ours, and so on; each side's figure is the
//! median of its rounds. The machines these run on are small and noisy (2 cores, shared disk), so
//! only a ratio measured this way means anything; absolute figures are printed for scale.
//!
//! Two modes:
//! * `cargo bench --no-default-features` passes `--bench`: real sizes, many rounds, one
//!   `name: ours …, raw …, ratio raw/ours … (target >= …) PASS|FAIL` line per benchmark;
//! * without `--bench` (as `cargo test --benches` runs them): a quick pass with tiny sizes and a
//!   few rounds that only checks the benchmark code runs; its figures are not measurements.
//!
//! A missed target is reported as `FAIL` but does not fail the process (timings are noisy); set
//! `CIM_KEYS_BENCH_STRICT=1` to exit with status 1 when a full run misses a target.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

pub use std::hint::black_box;

/// Quick (test) or full (`--bench`) run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// True without `--bench`: tiny sizes, few rounds.
    pub quick: bool,
}

impl Mode {
    /// Reads the mode from the command line.
    pub fn from_args() -> Self {
        let full = std::env::args().skip(1).any(|a| a == "--bench");
        let mode = Self { quick: !full };
        if mode.quick {
            println!("(quick pass without --bench: tiny sizes, figures are not measurements)");
        }
        mode
    }

    /// `full` in a full run, `quick` otherwise.
    pub fn pick<T>(self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }
}

/// Times one call of `f`.
pub fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// Medians (and spread) of interleaved rounds; values are seconds per unit of work.
#[derive(Debug, Clone)]
pub struct Samples {
    /// Ours, one value per round.
    pub ours: Vec<f64>,
    /// Raw baseline, one value per round.
    pub raw: Vec<f64>,
}

/// The median of `v` (which must be non-empty).
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

impl Samples {
    /// Median of ours.
    pub fn ours(&self) -> f64 {
        median(&self.ours)
    }

    /// Median of raw.
    pub fn raw(&self) -> f64 {
        median(&self.raw)
    }
}

/// Runs `rounds` rounds, alternating which side goes first. Each closure does one round of work
/// and returns its cost in seconds per unit (it times itself, so that per-round setup can stay
/// outside the measurement).
pub fn interleave(rounds: usize, mut ours: impl FnMut() -> f64, mut raw: impl FnMut() -> f64) -> Samples {
    // One untimed warm-up of each side.
    black_box(ours());
    black_box(raw());
    let mut s = Samples { ours: Vec::with_capacity(rounds), raw: Vec::with_capacity(rounds) };
    for round in 0..rounds {
        if round % 2 == 0 {
            s.ours.push(ours());
            s.raw.push(raw());
        } else {
            s.raw.push(raw());
            s.ours.push(ours());
        }
    }
    s
}

/// Formats seconds with a sensible unit.
pub fn fmt_secs(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.2} ms", secs * 1e3)
    } else if secs >= 1e-6 {
        format!("{:.2} µs", secs * 1e6)
    } else {
        format!("{:.0} ns", secs * 1e9)
    }
}

/// The result of one comparison.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// raw / ours (higher is better for us; 1.0 means as fast as raw).
    pub ratio: f64,
    /// Whether `ratio >= target`.
    pub pass: bool,
}

/// Prints the one-line summary of a benchmark, and the spread on a second line.
///
/// `per` names the unit of work ("event", "commit", …). The ratio is raw/ours.
pub fn report(mode: Mode, name: &str, per: &str, s: &Samples, target: f64) -> Verdict {
    report_labelled(mode, name, per, s, target, "ours", "raw", "raw/ours")
}

/// Like [`report`], with other labels for the two sides (the `status` benchmark compares two
/// sizes of vault, not ours and raw).
#[allow(clippy::too_many_arguments)]
pub fn report_labelled(
    mode: Mode,
    name: &str,
    per: &str,
    s: &Samples,
    target: f64,
    ours_label: &str,
    raw_label: &str,
    ratio_label: &str,
) -> Verdict {
    let (ours, raw) = (s.ours(), s.raw());
    let ratio = raw / ours;
    let pass = ratio >= target;
    let verdict = match (mode.quick, pass) {
        (true, _) => "(quick pass, not judged)",
        (false, true) => "PASS",
        (false, false) => "FAIL",
    };
    println!(
        "{name}: {ours_label} {}/{per}, {raw_label} {}/{per}, ratio {ratio_label} {ratio:.2} (target >= {target}) {verdict}",
        fmt_secs(ours),
        fmt_secs(raw),
    );
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{}..{}", fmt_secs(lo), fmt_secs(hi))
    };
    println!(
        "    {} interleaved rounds; {ours_label} range {}, {raw_label} range {}",
        s.ours.len(),
        range(&s.ours),
        range(&s.raw)
    );
    Verdict { ratio, pass }
}

/// Ends the benchmark binary: exit status 1 only in a strict full run that missed a target.
pub fn finish(mode: Mode, verdicts: &[Verdict]) {
    let strict = std::env::var("CIM_KEYS_BENCH_STRICT").is_ok_and(|v| v == "1");
    if !mode.quick && strict && verdicts.iter().any(|v| !v.pass) {
        std::process::exit(1);
    }
}

/// Where benchmark vaults and databases go: `CIM_KEYS_BENCH_DIR` if set, else Cargo's
/// per-target temporary directory (`target/tmp`, on the same disk as the build — not a
/// tmpfs, so `fsync` costs what it costs for a real vault).
pub fn bench_dir() -> PathBuf {
    let dir = std::env::var_os("CIM_KEYS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    std::fs::create_dir_all(&dir).expect("benchmark directory can be created");
    dir
}

/// A fresh temporary directory under [`bench_dir`], removed on drop.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("cim-keys-bench-").tempdir_in(bench_dir()).expect("temporary directory")
}

/// Opens a raw SQLite connection with the same settings as a vault: WAL, `synchronous = FULL`,
/// foreign keys on, the same busy timeout.
pub fn raw_connection(path: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).expect("raw database opens");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("WAL");
    assert!(mode.eq_ignore_ascii_case("wal"), "raw database is in WAL mode");
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").expect("pragmas");
    conn
}

/// Builds a vault in `data_dir` holding exactly `domain_events` domain events: an organization,
/// 10 units, and people each in one unit (so about two graph events per domain event), recorded
/// with `execute_all` in chunks of at most 5,000 commands. Prints how long it took.
pub fn build_vault(data_dir: &std::path::Path, domain_events: usize) -> cim_keys::app::Vault {
    use cim_keys::app::{Vault, new_id};
    use cim_keys::domain::{Command, OrgId, PersonId, UnitId};

    const UNITS: usize = 10;
    assert!(domain_events > UNITS, "a benchmark vault has more than {UNITS} events");
    let start = Instant::now();
    let mut vault = Vault::init_with_kdf(data_dir, &passphrase(), cim_keys::crypto::keystore::KdfParams::MINIMUM)
        .expect("vault init");
    let org = OrgId::from_uuid(new_id());
    let units: Vec<UnitId> = (0..UNITS).map(|_| UnitId::from_uuid(new_id())).collect();
    let mut seed = vec![Command::CreateOrganization { id: org, name: "Bench Org".into(), domain: None }];
    seed.extend(units.iter().enumerate().map(|(i, &id)| Command::CreateUnit {
        id,
        org,
        parent: None,
        name: format!("Unit {i}"),
    }));
    vault.execute_all(seed).expect("seed");
    let people = domain_events - 1 - UNITS;
    let mut n = 0;
    while n < people {
        let chunk = (people - n).min(5_000);
        let commands = (n..n + chunk)
            .map(|i| Command::AddPerson {
                id: PersonId::from_uuid(new_id()),
                org,
                name: format!("Person {i}"),
                email: format!("person{i}@bench.example"),
                units: vec![units[i % UNITS]],
            })
            .collect();
        vault.execute_all(commands).expect("chunk commits");
        n += chunk;
    }
    let status = vault.status().expect("status");
    assert_eq!(status.domain_events as usize, domain_events);
    println!(
        "    built a vault of {} domain / {} graph events in {}",
        status.domain_events,
        status.graph_events,
        fmt_secs(start.elapsed().as_secs_f64())
    );
    vault
}

/// The passphrase of benchmark vaults (the KDF is not what these benchmarks measure, so they
/// use its cheapest parameters).
pub fn passphrase() -> cim_keys::crypto::keystore::Passphrase {
    cim_keys::crypto::keystore::Passphrase::new("benchmark passphrase".to_owned()).expect("non-empty")
}

/// Copies the vault database in `from` (and its WAL, if any) into a fresh directory `to`.
pub fn copy_vault(from: &std::path::Path, to: &std::path::Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).expect("remove old copy");
    }
    std::fs::create_dir_all(to).expect("create copy dir");
    for suffix in ["", "-wal"] {
        let src = from.join(format!("{}{suffix}", cim_keys::store::DATABASE_FILE));
        if src.exists() {
            std::fs::copy(&src, to.join(format!("{}{suffix}", cim_keys::store::DATABASE_FILE))).expect("copy vault");
        }
    }
}

//! `status` on a 100,000-event vault vs the same on a 1,000-event vault.
//!
//! Both vaults are built once per run (an organization, 10 units, people in one unit each;
//! "events" counts domain events, so the large vault holds about 200,000 graph events too).
//! Two comparisons, each interleaving the large and the small vault:
//! * `status (open + status)`: what `cim-keys status` does — `Vault::open` (open the file,
//!   check it, apply settings and migrations) then `Vault::status`, then close;
//! * `status (open vault)`: `Vault::status` alone on vaults opened once.
//!
//! Target: the large vault within 2x of the small one, i.e. ratio small/large >= 0.5.

mod common;

use cim_keys::app::Vault;
use common::{Mode, black_box, build_vault, interleave, report_labelled, temp_dir, time};

fn main() {
    let mode = Mode::from_args();
    let (small, large) = mode.pick((1_000, 100_000), (20, 200));
    let rounds = mode.pick(21, 3);
    let opens = mode.pick(20, 2);
    let calls = mode.pick(2_000, 10);

    let dir = temp_dir();
    println!("status: vaults in {}", dir.path().display());
    let small_dir = dir.path().join("small");
    let large_dir = dir.path().join("large");
    drop(build_vault(&small_dir, small));
    drop(build_vault(&large_dir, large));

    let open_status = |path: &std::path::Path| {
        let (elapsed, ()) = time(|| {
            for _ in 0..opens {
                let vault = Vault::open(path).expect("vault opens");
                black_box(vault.status().expect("status"));
            }
        });
        elapsed.as_secs_f64() / opens as f64
    };
    let samples = interleave(rounds, || open_status(&large_dir), || open_status(&small_dir));
    let label_large = format!("{large} events");
    let label_small = format!("{small} events");
    let v1 = report_labelled(
        mode,
        "status (open + status)",
        "call",
        &samples,
        0.5,
        &label_large,
        &label_small,
        "small/large",
    );

    let large_vault = Vault::open(&large_dir).expect("large opens");
    let small_vault = Vault::open(&small_dir).expect("small opens");
    let status_only = |vault: &Vault| {
        let (elapsed, ()) = time(|| {
            for _ in 0..calls {
                black_box(vault.status().expect("status"));
            }
        });
        elapsed.as_secs_f64() / calls as f64
    };
    let samples = interleave(rounds, || status_only(&large_vault), || status_only(&small_vault));
    let v2 =
        report_labelled(mode, "status (open vault)", "call", &samples, 0.5, &label_large, &label_small, "small/large");
    common::finish(mode, &[v1, v2]);
}

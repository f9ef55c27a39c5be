//! Writes the seeds of the `bundle_age` target: each plaintext CAR given, encrypted to the
//! fuzz passphrase with scrypt work factor 1 (2^1 iterations) so that an execution costs
//! microseconds, not the second a real bundle's passphrase costs. Run by `fuzz/make-corpus.sh`:
//!
//!     seal_seeds OUT_DIR CAR...

use std::fs::File;
use std::io::Write;
use std::path::Path;

use cim_keys::bundle::Seal;
use cim_keys::crypto::keystore::Passphrase;

/// The passphrase of `fuzz_targets/bundle_age.rs`.
const PASSPHRASE: &str = "cim-keys fuzz passphrase";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, cars)) = args.split_first() else {
        eprintln!("usage: seal_seeds OUT_DIR CAR...");
        std::process::exit(2);
    };
    let mut seal = Seal::passphrase(&Passphrase::new(PASSPHRASE.to_owned()).unwrap());
    if let Seal::Passphrase { log_n, .. } = &mut seal {
        *log_n = Some(1);
    }
    for car in cars {
        let plain = std::fs::read(car).unwrap_or_else(|e| panic!("{car}: {e}"));
        let name = Path::new(car).file_stem().unwrap().to_string_lossy().into_owned();
        let path = Path::new(out).join(format!("{name}.age"));
        let mut writer = seal.encrypt(File::create(&path).unwrap()).unwrap();
        writer.write_all(&plain).unwrap();
        writer.finish().unwrap().sync_all().unwrap();
        println!("{}", path.display());
    }
}

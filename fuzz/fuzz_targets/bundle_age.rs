//! A whole bundle file: `BundleReader::open` with a passphrase (the age layer: header, scrypt
//! stanza, header MAC, STREAM chunks), then every entry. Seeds: real bundles encrypted to
//! [`PASSPHRASE`] with scrypt work factor 1, and one encrypted to an X25519 recipient
//! (`fuzz/make-corpus.sh`).
//!
//! A scrypt stanza may legally ask for a work factor up to [`MAX_SCRYPT_LOG_N`] (2^22: 4 GiB
//! and seconds of work): inputs asking for more than 2^12 and at most that are skipped, being
//! slow by design. Above the bound they run: they must be refused before any scrypt work.

#![no_main]

use cim_keys::bundle::seal::MAX_SCRYPT_LOG_N;
use cim_keys::bundle::{BundleReader, Unseal};
use cim_keys::crypto::keystore::Passphrase;
use libfuzzer_sys::fuzz_target;

/// The passphrase the seeds are encrypted to.
const PASSPHRASE: &str = "cim-keys fuzz passphrase";
/// The largest scrypt work factor the harness lets through (2^12: about a millisecond).
const MAX_LOG_N: u32 = 12;

/// Whether an scrypt stanza (`-> scrypt SALT LOG_N`) asks for more than [`MAX_LOG_N`] and at
/// most [`MAX_SCRYPT_LOG_N`]: allowed, and slow.
fn slow_by_design(data: &[u8]) -> bool {
    data.split(|&b| b == b'\n').take_while(|line| !line.starts_with(b"---")).any(|line| {
        let mut args = line.split(|&b| b == b' ');
        args.next() == Some(b"->")
            && args.next() == Some(b"scrypt")
            && args.nth(1).is_some_and(|log_n| {
                let n = std::str::from_utf8(log_n).ok().and_then(|t| t.parse::<u32>().ok());
                n.is_some_and(|n| n > MAX_LOG_N && n <= u32::from(MAX_SCRYPT_LOG_N))
            })
    })
}

fuzz_target!(|data: &[u8]| {
    if slow_by_design(data) {
        return;
    }
    let unseal = Unseal::passphrase(&Passphrase::new(PASSPHRASE.to_owned()).unwrap());
    if let Ok(mut reader) = BundleReader::open(data, &unseal) {
        while let Ok(Some(_)) = reader.next_entry() {}
    }
});

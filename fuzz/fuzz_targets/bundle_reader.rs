//! The bundle reader on a bundle's decrypted content (a CAR archive), both ways it reads:
//! `BundleReader::from_plain` then `next_entry` until the end or an error (import: every block
//! re-derived), and `check_links` (export's read-back: hashes and links). Whatever the bytes,
//! each must return an error or its entries — never panic, allocate without bound or hang.
//! Seeds: real plaintext bundles (`fuzz/make-corpus.sh`), whose signed manifests let the
//! fuzzer reach the entries.

#![no_main]

use cim_keys::bundle::BundleReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut reader) = BundleReader::from_plain(data) {
        while let Ok(Some(_)) = reader.next_entry() {}
    }
    if let Ok(mut reader) = BundleReader::from_plain(data) {
        let _ = reader.check_links(&mut |_| true);
    }
});

//! The CAR v1 layer alone: `CarReader::new` then `next_block` (each block's bytes hashed and
//! compared with its CID) until the end or an error; also `next_raw`, which parses the CID
//! without checking it, on a second pass.

#![no_main]

use cim_keys::bundle::car::CarReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut car) = CarReader::new(data) {
        let _ = car.roots();
        while let Ok(Some(_)) = car.next_block() {}
    }
    if let Ok(mut car) = CarReader::new(data) {
        while let Ok(Some(_)) = car.next_raw() {}
    }
});

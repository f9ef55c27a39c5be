//! The CAR v1 layer alone: `CarReader::new` then `next_block` (each block's bytes hashed and
//! compared with its CID) until the end or an error, and `next_raw` (the CID parsed, not
//! checked) on a second pass. Whatever the bytes: an error or blocks, never a panic, an
//! unbounded allocation or a hang. And parse → write → same bytes (STYLE.md point 6): an
//! input read to its end without error is exactly what `CarWriter` writes for its roots and
//! blocks, so the reader accepts one encoding of each archive only.

#![no_main]

use cim_keys::bundle::car::{CarReader, CarWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut car) = CarReader::new(data) {
        let roots = car.roots().to_vec();
        let mut blocks = Vec::new();
        let complete = loop {
            match car.next_block() {
                Ok(Some(block)) => blocks.push(block),
                Ok(None) => break true,
                Err(_) => break false,
            }
        };
        if complete {
            let mut writer = CarWriter::new(Vec::new(), &roots).expect("the roots read are written again");
            for (cid, bytes) in &blocks {
                writer.block(cid, bytes).expect("a block read is written again");
            }
            assert!(writer.into_inner() == data, "an archive read in full is not what the writer writes for it");
        }
    }
    if let Ok(mut car) = CarReader::new(data) {
        while let Ok(Some(_)) = car.next_raw() {}
    }
});

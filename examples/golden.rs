//! Prints the golden history of `docs/formats/graph-events.md`: every domain event block and
//! graph event block with its CID and bytes (hex), so the worked example can be checked by
//! hand or with any IPLD tool.
//!
//! ```sh
//! cargo run --no-default-features --example golden
//! ```

use cim_keys::domain::fixtures::golden_history;
use cim_keys::projection::{Chain, GraphProjector};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut chain = Chain::default();
    for (n, lifted) in GraphProjector.lift_all(&golden_history())?.iter().enumerate() {
        println!("domain event {} {}", n + 1, lifted.domain.cid);
        println!("  {}", hex(&lifted.domain.bytes));
        for event in &lifted.graph {
            let block = chain.link(event)?;
            println!("  graph event {} {}", event.payload.name(), block.cid);
            println!("    {}", hex(&block.bytes));
        }
    }
    println!("head {}", chain.head().map(|c| c.to_string()).unwrap_or_default());
    Ok(())
}

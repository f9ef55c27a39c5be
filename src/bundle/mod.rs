//! The SD card: export bundles and secrets backups, over `io::Read`/`io::Write`.
//!
//! Pure like `domain`, `projection` and `crypto`: no files, no clock, no random numbers (age
//! draws its own file keys). Specified normatively in `docs/formats/bundle.md`.
//!
//! * [`seal`]: the age layer (passphrase or X25519 recipients), readable by the `age` tool.

pub mod car;
mod error;
pub mod manifest;
pub mod seal;
mod stream;

pub use error::BundleError;
pub use manifest::{BUNDLE_FORMAT, Manifest, SeqRange};
pub use seal::{Seal, Unseal, parse_recipient};
pub use stream::{Artifact, BundleReader, BundleWriter, Entry};

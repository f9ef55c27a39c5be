//! The jobs the screens ask for, one module per screen: each is a call into the application
//! service ([`crate::app::Vault`]), run by the root on a blocking thread (or by a test, directly).

pub mod bundle;
pub mod events;
pub mod keys;
pub mod nats;
pub mod organization;
pub mod pki;
#[cfg(feature = "sync")]
pub mod sync;
pub mod vault;

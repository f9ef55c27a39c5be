//! The screens. Each has `State`, `Message` (`Clone + Debug`), `Action`, `update(&mut self,
//! Message) -> Action` and `view(&self) -> Element<Message>`; an action that needs the vault
//! carries a job (see `gui::jobs`) that the root runs off the UI thread, and whose reply comes
//! back as the screen's `Message::Done`.

pub mod bundle;
pub mod events;
pub mod keys;
pub mod nats;
pub mod organization;
pub mod pki;
#[cfg(feature = "sync")]
pub mod sync;
pub mod vault;

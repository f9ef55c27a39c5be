//! Crypto: key material and the public artifacts made from it.
//!
//! Pure code, like `domain` and `projection`: no IO, no clock, no random numbers. Seeds,
//! nonces, salts, serial numbers and times are passed in by the caller (the application layer
//! draws them from the OS CSPRNG and the clock), so every artifact here is reproducible from
//! its inputs and testable against fixed vectors.
//!
//! * [`nats`]: NATS nkeys, JWT v2 claims for operators, accounts and users, creds files and
//!   the nats-server configuration;
//! * [`x509`]: the X.509 CA hierarchy (root, intermediate, leaf certificates);
//! * [`ssh`]: OpenSSH public keys and their `SHA256:` fingerprints;
//! * [`keystore`]: secret types and the sealed keystore (Argon2id, XChaCha20-Poly1305).

pub mod keystore;
pub mod nats;
pub mod ssh;
pub mod x509;

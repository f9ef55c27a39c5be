//! Encoding, signing, decoding and verifying NATS JWT v2.
//!
//! A NATS JWT is three base64url (no padding) parts joined by dots:
//!
//! ```text
//! base64url({"typ":"JWT","alg":"ed25519-nkey"}) . base64url(claims JSON) . base64url(signature)
//! ```
//!
//! The signature is ed25519 by the issuer's nkey over the ASCII bytes of the first two parts
//! joined by the dot. The claims JSON is written exactly as Go's `json.Marshal` writes the
//! claim structs of `nats-io/jwt` v2 (see [`gojson`] and [`claims`](super::claims)).
//!
//! `jti` is computed as the Go library does: with `iss` and `iat` set and `jti` empty, the
//! *registered claims only* (`aud`, `exp`, `iat`, `iss`, `name`, `nbf`, `sub`, each omitted
//! when empty or zero; never the `nats` object) are marshalled to JSON, hashed with
//! SHA-512/256, and the 32-byte digest is written in RFC 4648 base32, uppercase, without
//! padding (52 characters).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha512_256};

use super::NatsError;
use super::claims::{Account, Claims, GenericFields, Operator, User};
use super::gojson;
use super::nkey::{self, NKeyKind, NatsKeyPair};

/// The JOSE header of every NATS JWT v2, as Go writes it.
pub const HEADER_JSON: &str = r#"{"typ":"JWT","alg":"ed25519-nkey"}"#;
/// The `alg` of NATS JWT v2.
pub const ALGORITHM: &str = "ed25519-nkey";
/// The `nats.version` of NATS JWT v2.
pub const JWT_VERSION: i64 = 2;

const BASE64: data_encoding::Encoding = data_encoding::BASE64URL_NOPAD;

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Operator {}
    impl Sealed for super::Account {}
    impl Sealed for super::User {}
}

/// A `nats` claims object: [`Operator`], [`Account`] or [`User`].
pub trait NatsClaim: Serialize + DeserializeOwned + sealed::Sealed {
    /// The kind of claims, which is also the kind of their subject key.
    const KIND: NKeyKind;
    /// The kinds of key allowed to sign such claims (`iss`), as in Go's `ExpectedPrefixes`.
    const ISSUER_KINDS: &'static [NKeyKind];
    /// The shared `tags`/`type`/`version` fields.
    fn generic(&self) -> &GenericFields;
    /// The shared fields, mutably.
    fn generic_mut(&mut self) -> &mut GenericFields;
    /// Puts lists into the order Go writes them in.
    fn normalize(&mut self) {}
    /// Checks claim-specific rules before signing or after decoding.
    fn check(&self, _claims: &Claims<Self>) -> Result<(), NatsError>
    where
        Self: Sized,
    {
        Ok(())
    }
}

impl NatsClaim for Operator {
    const KIND: NKeyKind = NKeyKind::Operator;
    const ISSUER_KINDS: &'static [NKeyKind] = &[NKeyKind::Operator];
    fn generic(&self) -> &GenericFields {
        &self.generic
    }
    fn generic_mut(&mut self) -> &mut GenericFields {
        &mut self.generic
    }
    fn check(&self, _claims: &Claims<Self>) -> Result<(), NatsError> {
        for key in &self.signing_keys {
            nkey::check_public_key(key, NKeyKind::Operator, "operator signing key")?;
        }
        if !self.system_account.is_empty() {
            nkey::check_public_key(&self.system_account, NKeyKind::Account, "system account")?;
        }
        Ok(())
    }
}

impl NatsClaim for Account {
    const KIND: NKeyKind = NKeyKind::Account;
    const ISSUER_KINDS: &'static [NKeyKind] = &[NKeyKind::Operator, NKeyKind::Account];
    fn generic(&self) -> &GenericFields {
        &self.generic
    }
    fn generic_mut(&mut self) -> &mut GenericFields {
        &mut self.generic
    }
    fn normalize(&mut self) {
        Account::normalize(self);
    }
    fn check(&self, _claims: &Claims<Self>) -> Result<(), NatsError> {
        for key in &self.signing_keys {
            nkey::check_public_key(key.key(), NKeyKind::Account, "account signing key")?;
        }
        Ok(())
    }
}

impl NatsClaim for User {
    const KIND: NKeyKind = NKeyKind::User;
    const ISSUER_KINDS: &'static [NKeyKind] = &[NKeyKind::Account];
    fn generic(&self) -> &GenericFields {
        &self.generic
    }
    fn generic_mut(&mut self) -> &mut GenericFields {
        &mut self.generic
    }
    fn check(&self, claims: &Claims<Self>) -> Result<(), NatsError> {
        if !self.issuer_account.is_empty() {
            nkey::check_public_key(&self.issuer_account, NKeyKind::Account, "issuer_account")?;
            if self.issuer_account == claims.issuer {
                return Err(NatsError::Invalid(
                    "issuer_account names the account that signed the user itself; leave it empty when the \
                     account's identity key signs"
                        .into(),
                ));
            }
        }
        Ok(())
    }
}

/// A signed (or decoded and verified) JWT: the token text and its claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwt<T> {
    token: String,
    claims: Claims<T>,
}

impl<T: NatsClaim> Jwt<T> {
    /// The token text (`header.claims.signature`). A public artifact.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The claims.
    pub fn claims(&self) -> &Claims<T> {
        &self.claims
    }

    /// The token text and the claims.
    pub fn into_parts(self) -> (String, Claims<T>) {
        (self.token, self.claims)
    }

    /// The public key the JWT is about (`sub`).
    pub fn subject(&self) -> &str {
        &self.claims.subject
    }

    /// The public key that signed the JWT (`iss`).
    pub fn issuer(&self) -> &str {
        &self.claims.issuer
    }

    /// Whether `jti` is the hash of the registered claims, as the Go library computes it.
    pub fn jti_matches(&self) -> bool {
        self.claims.id == compute_jti(&self.claims)
    }
}

impl Jwt<Operator> {
    /// Whether this operator vouches for `account`: signed by the operator's identity key
    /// (unless `strict_signing_key_usage`) or one of its signing keys (Go's `DidSign`).
    pub fn did_sign(&self, account: &Jwt<Account>) -> bool {
        let op = &self.claims;
        let issuer = account.issuer();
        if issuer == op.subject {
            return !op.nats.strict_signing_key_usage;
        }
        op.nats.signing_keys.iter().any(|k| k == issuer)
    }
}

impl Jwt<Operator> {
    /// Whether a server trusting this operator accepts `user` of `account`: the operator
    /// vouches for the account, the account for the user, and — under
    /// `strict_signing_key_usage`, which the server applies to users too — the user is signed by
    /// one of the account's signing keys, not by its identity key; a user signed by a scoped
    /// signing key sets no permissions or limits of its own.
    pub fn trusts(&self, account: &Jwt<Account>, user: &Jwt<User>) -> bool {
        let scoped_user_is_bare =
            account.claims.nats.scope(user.issuer()).is_none_or(|_| user.claims.nats.permission_limits.is_empty());
        self.did_sign(account)
            && account.did_sign(user)
            && !(self.claims.nats.strict_signing_key_usage && user.issuer() == account.subject())
            && scoped_user_is_bare
    }
}

impl Jwt<Account> {
    /// Whether this account vouches for `user`: signed by the account's identity key, or by
    /// one of its signing keys with `issuer_account` naming this account (Go's `DidSign`).
    pub fn did_sign(&self, user: &Jwt<User>) -> bool {
        let account = &self.claims;
        let issuer = user.issuer();
        if issuer == account.subject {
            return user.claims.nats.issuer_account.is_empty();
        }
        user.claims.nats.issuer_account == account.subject && account.nats.has_signing_key(issuer)
    }
}

/// A verified JWT of any of the three kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // a short-lived decoding result, matched at once
pub enum AnyJwt {
    /// An operator JWT.
    Operator(Jwt<Operator>),
    /// An account JWT.
    Account(Jwt<Account>),
    /// A user JWT.
    User(Jwt<User>),
}

impl AnyJwt {
    /// The kind of the JWT (`nats.type`).
    pub fn kind(&self) -> NKeyKind {
        match self {
            AnyJwt::Operator(_) => NKeyKind::Operator,
            AnyJwt::Account(_) => NKeyKind::Account,
            AnyJwt::User(_) => NKeyKind::User,
        }
    }
}

/// The registered claims as hashed for `jti`: Go's `ClaimsData` with `jti` empty.
#[derive(Serialize)]
struct ClaimsData<'a> {
    #[serde(rename = "aud", skip_serializing_if = "str::is_empty")]
    audience: &'a str,
    #[serde(rename = "exp", skip_serializing_if = "is_zero")]
    expires: i64,
    #[serde(rename = "iat", skip_serializing_if = "is_zero")]
    issued_at: i64,
    #[serde(rename = "iss", skip_serializing_if = "str::is_empty")]
    issuer: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "nbf", skip_serializing_if = "is_zero")]
    not_before: i64,
    #[serde(rename = "sub", skip_serializing_if = "str::is_empty")]
    subject: &'a str,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The JSON that `jti` hashes: the registered claims without `jti`, in Go's encoding.
pub fn jti_input<T>(claims: &Claims<T>) -> Vec<u8> {
    let data = ClaimsData {
        audience: &claims.audience,
        expires: claims.expires,
        issued_at: claims.issued_at,
        issuer: &claims.issuer,
        name: &claims.name,
        not_before: claims.not_before,
        subject: &claims.subject,
    };
    gojson::to_vec(&data).expect("a struct of strings and integers always serializes")
}

/// `jti` as the Go library computes it: base32 (RFC 4648, no padding) of SHA-512/256 of
/// [`jti_input`]. Whatever `claims.id` holds is ignored.
pub fn compute_jti<T>(claims: &Claims<T>) -> String {
    let digest = Sha512_256::digest(jti_input(claims));
    data_encoding::BASE32_NOPAD.encode(&digest)
}

/// Signs `claims` with `issuer`'s key at `issued_at` (unix seconds, from the caller's clock).
///
/// Sets `iss`, `iat`, `jti`, `nats.type` and `nats.version: 2`, puts lists in Go's order, and
/// checks that the subject is a key of the claims' kind, that `issuer` may sign such claims
/// (operator for operators and accounts, account for users) and the claim-specific rules.
pub fn encode<T: NatsClaim>(mut claims: Claims<T>, issuer: &NatsKeyPair, issued_at: i64) -> Result<Jwt<T>, NatsError> {
    if issued_at <= 0 {
        return Err(NatsError::Invalid("the issue time (iat) must be a positive unix time".into()));
    }
    nkey::check_public_key(&claims.subject, T::KIND, "subject")?;
    if !T::ISSUER_KINDS.contains(&issuer.kind()) {
        return Err(NatsError::WrongIssuer { claim: T::KIND, issuer: issuer.kind() });
    }
    claims.issuer = issuer.public_key().to_owned();
    claims.issued_at = issued_at;
    claims.id = compute_jti(&claims);
    let generic = claims.nats.generic_mut();
    generic.claim_type = T::KIND.as_str().to_owned();
    generic.version = JWT_VERSION;
    claims.nats.normalize();
    claims.nats.check(&claims)?;

    let payload = gojson::to_vec(&claims).map_err(|e| NatsError::Malformed(format!("claims do not encode: {e}")))?;
    let mut token = BASE64.encode(HEADER_JSON.as_bytes());
    token.push('.');
    token.push_str(&BASE64.encode(&payload));
    let signature = issuer.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&BASE64.encode(&signature));
    Ok(Jwt { token, claims })
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: String,
    #[serde(default)]
    alg: String,
}

#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    nats: PeekNats,
}

#[derive(Deserialize, Default)]
struct PeekNats {
    #[serde(rename = "type", default)]
    claim_type: String,
    #[serde(default)]
    version: i64,
}

struct Parts<'a> {
    signed: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
    kind: NKeyKind,
}

fn split(token: &str) -> Result<Parts<'_>, NatsError> {
    let token = token.trim();
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NatsError::Malformed("a JWT has three dot-separated parts".into()));
    };
    let decode = |what: &str, part: &str| {
        BASE64.decode(part.as_bytes()).map_err(|e| NatsError::Malformed(format!("the {what} is not base64url: {e}")))
    };
    let header: Header = serde_json::from_slice(&decode("header", header)?)
        .map_err(|e| NatsError::Malformed(format!("the header is not JSON: {e}")))?;
    if !header.typ.eq_ignore_ascii_case("JWT") || !header.alg.eq_ignore_ascii_case(ALGORITHM) {
        return Err(NatsError::UnsupportedHeader { typ: header.typ, alg: header.alg });
    }
    let payload = decode("claims part", payload)?;
    let peek: Peek =
        serde_json::from_slice(&payload).map_err(|e| NatsError::Malformed(format!("the claims are not JSON: {e}")))?;
    if peek.nats.version != JWT_VERSION {
        return Err(NatsError::UnsupportedVersion(peek.nats.version));
    }
    let kind = match peek.nats.claim_type.as_str() {
        "operator" => NKeyKind::Operator,
        "account" => NKeyKind::Account,
        "user" => NKeyKind::User,
        other => return Err(NatsError::UnknownClaimType(other.to_owned())),
    };
    let signed = &token[..token.rfind('.').unwrap_or(0)];
    Ok(Parts { signed, payload, signature: decode("signature", signature)?, kind })
}

fn verify<T: NatsClaim>(token: &str, parts: Parts<'_>) -> Result<Jwt<T>, NatsError> {
    let claims: Claims<T> = serde_json::from_slice(&parts.payload)
        .map_err(|e| NatsError::Malformed(format!("the {} claims do not parse: {e}", T::KIND)))?;
    nkey::check_public_key(&claims.subject, T::KIND, "subject")?;
    match nkey::public_key_kind(&claims.issuer) {
        Some(kind) if T::ISSUER_KINDS.contains(&kind) => {}
        Some(kind) => return Err(NatsError::WrongIssuer { claim: T::KIND, issuer: kind }),
        None => {
            return Err(NatsError::InvalidPublicKey {
                what: "issuer".into(),
                key: claims.issuer.clone(),
                expected: T::ISSUER_KINDS[0],
            });
        }
    }
    nkey::verify(&claims.issuer, parts.signed.as_bytes(), &parts.signature)?;
    claims.nats.check(&claims)?;
    Ok(Jwt { token: token.trim().to_owned(), claims })
}

/// Decodes a JWT of the expected kind and verifies it: the header, `nats.version: 2`, the
/// claim type, the subject and issuer keys' kinds, and the issuer's signature.
///
/// It does not judge trust (whether the issuer is the operator or account you expect — see
/// `did_sign`), expiry, or `jti` (see [`Jwt::jti_matches`]).
pub fn decode<T: NatsClaim>(token: &str) -> Result<Jwt<T>, NatsError> {
    let parts = split(token)?;
    if parts.kind != T::KIND {
        return Err(NatsError::WrongClaimType { expected: T::KIND, found: parts.kind });
    }
    verify(token, parts)
}

/// Decodes and verifies a JWT of any kind (see [`decode`]).
pub fn decode_any(token: &str) -> Result<AnyJwt, NatsError> {
    let parts = split(token)?;
    Ok(match parts.kind {
        NKeyKind::Operator => AnyJwt::Operator(verify(token, parts)?),
        NKeyKind::Account => AnyJwt::Account(verify(token, parts)?),
        NKeyKind::User => AnyJwt::User(verify(token, parts)?),
    })
}

/// The claims JSON of a token exactly as it was signed (no verification). For inspection and
/// tests.
pub fn claims_json(token: &str) -> Result<Vec<u8>, NatsError> {
    let part = token.trim().split('.').nth(1).ok_or_else(|| NatsError::Malformed("no claims part".into()))?;
    BASE64.decode(part.as_bytes()).map_err(|e| NatsError::Malformed(format!("the claims part is not base64url: {e}")))
}

/// The claims JSON we would sign for `claims` (Go's encoding).
pub fn encode_claims_json<T: NatsClaim>(claims: &Claims<T>) -> Result<Vec<u8>, NatsError> {
    gojson::to_vec(claims).map_err(|e| NatsError::Malformed(format!("claims do not encode: {e}")))
}

//! Typed identifiers.
//!
//! Every aggregate, event and device is named by a UUID. The newtypes here keep an
//! organization id from being passed where a person id is expected, and give every id the
//! same text form: lowercase, hyphenated (RFC 9562), which is also how ids are encoded in
//! DAG-CBOR blocks (see `docs/formats/graph-events.md`). New ids are UUIDv7 (time-ordered);
//! they are created by the application layer and passed in, so this module never reads a
//! clock or a random number generator.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// An id could not be parsed from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a valid {kind} id: expected a UUID such as 0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c")]
pub struct IdParseError {
    /// What kind of id was expected ("organization", "unit", ...).
    pub kind: &'static str,
    /// The offending input, shortened to keep error messages on one line.
    pub input: String,
}

/// Shortens user input for use inside an error message.
pub(crate) fn excerpt(input: &str) -> String {
    const MAX: usize = 40;
    let cleaned: String = input.chars().map(|c| if c.is_control() { '?' } else { c }).take(MAX + 1).collect();
    if cleaned.chars().count() > MAX {
        let short: String = cleaned.chars().take(MAX).collect();
        format!("{short}…")
    } else {
        cleaned
    }
}

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// What this id names, as used in messages.
            pub const KIND: &'static str = $kind;

            /// Wraps a UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_uuid(s, $kind).map(Self)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_uuid(&self.0, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_uuid(deserializer).map(Self)
            }
        }
    };
}

fn parse_uuid(s: &str, kind: &'static str) -> Result<Uuid, IdParseError> {
    let trimmed = s.trim();
    // Only the canonical hyphenated form is accepted: it is the form we print.
    if trimmed.len() != 36 {
        return Err(IdParseError { kind, input: excerpt(s) });
    }
    Uuid::try_parse(trimmed).map_err(|_| IdParseError { kind, input: excerpt(s) })
}

/// Serializes a UUID as its lowercase hyphenated text, in every serde format.
pub(crate) fn serialize_uuid<S: Serializer>(uuid: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buf = Uuid::encode_buffer();
    serializer.serialize_str(uuid.hyphenated().encode_lower(&mut buf))
}

/// Reads a UUID written by [`serialize_uuid`].
pub(crate) fn deserialize_uuid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = Uuid;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a hyphenated UUID string")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Uuid, E> {
            // Only the form we write: 36 characters, lowercase, hyphenated.
            let uuid = Uuid::try_parse(v).map_err(E::custom)?;
            let mut buf = Uuid::encode_buffer();
            if uuid.hyphenated().encode_lower(&mut buf) != v {
                return Err(E::custom("a UUID must be written lowercase and hyphenated"));
            }
            Ok(uuid)
        }
    }
    deserializer.deserialize_str(Visitor)
}

id_type!(
    /// An organization: the bounded context everything else lives in.
    OrgId,
    "organization"
);
id_type!(
    /// An organizational unit (department, team), nested under a parent unit or the organization.
    UnitId,
    "unit"
);
id_type!(
    /// A person of an organization.
    PersonId,
    "person"
);
id_type!(
    /// A role defined by an organization.
    RoleId,
    "role"
);
id_type!(
    /// A key: an identity key of a person (and, later, NATS and CA keys).
    KeyId,
    "key"
);
id_type!(
    /// A certificate authority (root or intermediate) of an organization.
    CaId,
    "CA"
);
id_type!(
    /// A leaf certificate issued by an intermediate CA.
    CertificateId,
    "certificate"
);
id_type!(
    /// A NATS operator: the root of an organization's NATS trust chain.
    OperatorId,
    "NATS operator"
);
id_type!(
    /// A NATS account: the system account, the organization's account, or a unit's account.
    AccountId,
    "NATS account"
);
id_type!(
    /// A NATS user: a person's identity on the NATS servers.
    NatsUserId,
    "NATS user"
);
id_type!(
    /// A domain event.
    EventId,
    "event"
);
id_type!(
    /// A command, the cause of the domain events it produced.
    CommandId,
    "command"
);
id_type!(
    /// Groups everything caused by one operator action.
    CorrelationId,
    "correlation"
);
id_type!(
    /// The machine (vault) on which events were recorded.
    DeviceId,
    "device"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = OrgId::from_uuid(Uuid::from_u128(0x0192_f0c1_7d3e_7a10_8b2c_5d9e_4f6a_7b8c));
        let text = id.to_string();
        assert_eq!(text, "0192f0c1-7d3e-7a10-8b2c-5d9e4f6a7b8c");
        assert_eq!(text.parse::<OrgId>(), Ok(id));
        assert_eq!(format!(" {text}\n").parse::<OrgId>(), Ok(id));
    }

    #[test]
    fn malformed_ids_name_their_kind() {
        let err = "not-a-uuid".parse::<PersonId>().unwrap_err();
        assert_eq!(err.kind, "person");
        assert!(err.to_string().contains("not a valid person id"));
        // Simple (unhyphenated) and braced forms are refused: we only accept what we print.
        assert!("0192f0c17d3e7a108b2c5d9e4f6a7b8c".parse::<PersonId>().is_err());
        let long = "x".repeat(100_000);
        let err = long.parse::<UnitId>().unwrap_err();
        assert!(err.to_string().len() < 200);
    }
}

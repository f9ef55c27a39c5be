//! Validated values: names, e-mail addresses, DNS domains and timestamps.
//!
//! Commands carry raw text; `decide` turns it into these types or rejects the command with a
//! [`DomainError`] naming the field and the rule. Once built, a value is known to be valid, and
//! its `key()` is the form used to detect duplicates (case-insensitive).

use std::fmt;

use chrono::{DateTime, Datelike, SubsecRound, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::error::DomainError;
use super::ids::excerpt;

/// Longest name accepted, in characters (after trimming).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest e-mail address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A display name: trimmed, non-empty, at most [`MAX_NAME_CHARS`] characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Validates `input` as the value of `field` ("organization name", ...).
    pub fn parse(field: &'static str, input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DomainError::EmptyName { field });
        }
        let chars = trimmed.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(DomainError::NameTooLong { field, chars, max: MAX_NAME_CHARS });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DomainError::ControlCharacter { field });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to detect duplicates: case-folded.
    pub fn key(&self) -> String {
        name_key(&self.0)
    }

    /// The name, consumed.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// Case-folded form of a name, used for uniqueness checks.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address in the common `local@domain.tld` form.
///
/// We accept what mail systems deliver in practice: an unquoted local part of RFC 5322
/// "atext" characters and dots (no leading, trailing or doubled dot), and a DNS domain with at
/// least two labels. Quoted local parts and IP-literal domains are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates an e-mail address.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim();
        let invalid = |reason: &'static str| DomainError::InvalidEmail { input: excerpt(trimmed), reason };
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed.chars().count() > MAX_EMAIL_CHARS {
            return Err(invalid("it is longer than 254 characters"));
        }
        let Some((local, domain)) = trimmed.rsplit_once('@') else {
            return Err(invalid("it has no '@'"));
        };
        if local.is_empty() {
            return Err(invalid("nothing comes before the '@'"));
        }
        if local.len() > 64 {
            return Err(invalid("the part before the '@' is longer than 64 characters"));
        }
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
        if !local.chars().all(|c| atext(c) || c == '.') {
            return Err(invalid("the part before the '@' has a character that is not allowed"));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(invalid("the part before the '@' has a misplaced dot"));
        }
        DomainName::parse(domain).map_err(|_| invalid("the part after the '@' is not a domain name"))?;
        Ok(Self(trimmed.to_owned()))
    }

    /// The address as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used to detect duplicates: lowercased.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The address, consumed.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A DNS domain name such as `example.org`: two or more labels of letters, digits and
/// hyphens (not at either end of a label), each at most 63 characters, 253 in all. Stored
/// lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DomainName(String);

impl DomainName {
    /// Validates a domain name.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let trimmed = input.trim().trim_end_matches('.');
        let invalid = |reason: &'static str| DomainError::InvalidDomain { input: excerpt(input.trim()), reason };
        if trimmed.is_empty() {
            return Err(invalid("it is empty"));
        }
        if trimmed.len() > 253 {
            return Err(invalid("it is longer than 253 characters"));
        }
        let labels: Vec<&str> = trimmed.split('.').collect();
        if labels.len() < 2 {
            return Err(invalid("it needs at least two labels, such as example.org"));
        }
        for label in labels {
            if label.is_empty() || label.len() > 63 {
                return Err(invalid("each label must have 1 to 63 characters"));
            }
            if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(invalid("labels may hold only letters, digits and hyphens"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(invalid("a label may not start or end with a hyphen"));
            }
        }
        Ok(Self(trimmed.to_ascii_lowercase()))
    }

    /// The domain, lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain, consumed.
    pub fn into_string(self) -> String {
        self.0
    }
}

/// A point in time with microsecond precision, in UTC.
///
/// Encoded everywhere as RFC 3339 text with exactly six fractional digits and a `Z`
/// (`2026-11-22T18:03:50.123456Z`), so that one instant has one encoding.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Wraps a time, dropping anything finer than a microsecond.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.trunc_subsecs(6))
    }

    /// Builds a timestamp from microseconds since the Unix epoch.
    pub fn from_micros(micros: i64) -> Option<Self> {
        DateTime::from_timestamp_micros(micros).map(Self)
    }

    /// The time inside.
    pub fn datetime(self) -> DateTime<Utc> {
        self.0
    }

    /// Parses the canonical text form.
    pub fn parse(text: &str) -> Option<Self> {
        let parsed = DateTime::parse_from_rfc3339(text).ok()?.with_timezone(&Utc);
        let ts = Self::from_datetime(parsed);
        (ts.to_string() == text).then_some(ts)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What `format("%Y-%m-%dT%H:%M:%S%.6fZ")` writes, without interpreting the format string
        // each time (every recorded event and row formats one). Years outside 0–9999 (written
        // with a sign) and leap seconds are left to chrono.
        let (year, nanos) = (self.0.year(), self.0.nanosecond());
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            return write!(f, "{}", self.0.format("%Y-%m-%dT%H:%M:%S%.6fZ"));
        }
        write!(
            f,
            "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.0.month(),
            self.0.day(),
            self.0.hour(),
            self.0.minute(),
            self.0.second(),
            nanos / 1_000
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("timestamp is not canonical RFC 3339 with six fractional digits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_as_chrono_formats_them() {
        let chrono = |t: Timestamp| t.datetime().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut micros = vec![0, 1, -1, 999_999, 1_000_000, 1_795_370_400_123_456, 253_402_300_799_999_999];
        // Years 9999/10000 and 0/-1 on either side of the fast path, and the ends of the range.
        micros.extend([253_402_300_800_000_000, -62_167_219_200_000_000, -62_167_219_200_000_001]);
        micros.extend([DateTime::<Utc>::MIN_UTC.timestamp_micros(), DateTime::<Utc>::MAX_UTC.timestamp_micros()]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            micros.push((x % 400_000_000_000_000_000) as i64 - 100_000_000_000_000_000);
        }
        for m in micros {
            let t = Timestamp::from_micros(m).unwrap();
            assert_eq!(t.to_string(), chrono(t), "{m}");
            assert_eq!(Timestamp::parse(&t.to_string()), (0..=9999).contains(&t.datetime().year()).then_some(t));
        }
        // A leap second (chrono keeps it as a nanosecond count above one second).
        let leap = DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
        assert_eq!(Timestamp::from_datetime(leap).to_string(), leap.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("unit name", "  Ops  ").unwrap().as_str(), "Ops");
        assert_eq!(Name::parse("unit name", " \t ").unwrap_err(), DomainError::EmptyName { field: "unit name" });
        assert!(matches!(Name::parse("unit name", &"é".repeat(201)), Err(DomainError::NameTooLong { chars: 201, .. })));
        assert!(Name::parse("unit name", &"é".repeat(200)).is_ok());
        assert!(matches!(Name::parse("unit name", "a\u{7}b"), Err(DomainError::ControlCharacter { .. })));
        assert!(matches!(Name::parse("unit name", "a\nb"), Err(DomainError::ControlCharacter { .. })));
        assert_eq!(Name::parse("x", "ÉQUIPE").unwrap().key(), "équipe");
    }

    #[test]
    fn emails_follow_the_common_form() {
        for good in ["ann@example.org", "a.b+tag@mail.example.co.uk", " x_y@ex-ample.io "] {
            assert!(Email::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "ann",
            "@example.org",
            "ann@",
            "ann@localhost",
            "a nn@example.org",
            "ann@exa mple.org",
            ".ann@example.org",
            "a..b@example.org",
            "ann@-ex.org",
            "ann@ex..org",
            "a\u{0}@example.org",
        ] {
            assert!(matches!(Email::parse(bad), Err(DomainError::InvalidEmail { .. })), "{bad:?}");
        }
        assert_eq!(Email::parse("Ann@Example.ORG").unwrap().key(), "ann@example.org");
    }

    #[test]
    fn domains_are_lowercased_dns_names() {
        assert_eq!(DomainName::parse("Example.ORG.").unwrap().as_str(), "example.org");
        for bad in ["example", "exa_mple.org", "-x.org", "x-.org", "", "a..org"] {
            assert!(DomainName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn timestamps_have_one_text_form() {
        let ts = Timestamp::from_micros(1_795_370_630_123_456).unwrap();
        assert_eq!(ts.to_string(), "2026-11-22T18:03:50.123456Z");
        assert_eq!(Timestamp::parse(&ts.to_string()), Some(ts));
        assert_eq!(Timestamp::parse("2026-11-22T18:03:50Z"), None);
        assert_eq!(Timestamp::parse("2026-11-22T19:03:50.123456+01:00"), None);
    }
}

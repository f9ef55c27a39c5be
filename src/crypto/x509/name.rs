//! Names in certificates: the [`Subject`] distinguished name and the subject alternative names
//! ([`SubjectAltName`]) that TLS actually matches.
//!
//! A distinguished name here has at most four attributes, encoded in the conventional order
//! country, organization, organizational unit, common name (so `openssl x509 -subject` prints
//! `C = DE, O = Acme, OU = Ops, CN = Acme Root CA`), each as a UTF8String except the country,
//! which RFC 5280 requires to be a PrintableString. Names are checked against the RFC 5280 upper
//! bounds (64 characters) and may not hold control characters.
//!
//! TLS clients (Go's crypto/tls in nats-server, rustls, browsers) ignore the common name and
//! match only the subject alternative names, so a server certificate must carry at least one DNS
//! name or IP address.

use core::net::IpAddr;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use super::X509Error;
use super::error::shorten;

/// RFC 5280 `ub-common-name`, `ub-organization-name`, `ub-organizational-unit-name`.
const MAX_NAME_CHARS: usize = 64;

/// A certificate's subject (or issuer) distinguished name.
///
/// Built with [`Subject::new`] and the `with_*` methods, each of which checks its field; the
/// `Display` form is the RFC 4514 string (`CN=Acme Root CA,O=Acme,C=DE`), as
/// `openssl x509 -subject -nameopt RFC2253` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Subject {
    common_name: String,
    organizational_unit: Option<String>,
    organization: Option<String>,
    country: Option<String>,
}

impl Subject {
    /// A subject with only a common name.
    pub fn new(common_name: impl Into<String>) -> Result<Self, X509Error> {
        let common_name = common_name.into();
        check_name("common name", &common_name)?;
        Ok(Self { common_name, organizational_unit: None, organization: None, country: None })
    }

    /// Adds (or replaces) the organization (`O`).
    pub fn with_organization(mut self, organization: impl Into<String>) -> Result<Self, X509Error> {
        let organization = organization.into();
        check_name("organization", &organization)?;
        self.organization = Some(organization);
        Ok(self)
    }

    /// Adds (or replaces) the organizational unit (`OU`).
    pub fn with_organizational_unit(mut self, unit: impl Into<String>) -> Result<Self, X509Error> {
        let unit = unit.into();
        check_name("organizational unit", &unit)?;
        self.organizational_unit = Some(unit);
        Ok(self)
    }

    /// Adds (or replaces) the country (`C`): a two-letter upper-case ISO 3166 code.
    pub fn with_country(mut self, country: impl Into<String>) -> Result<Self, X509Error> {
        let country = country.into();
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(X509Error::InvalidCountry(shorten(&country)));
        }
        self.country = Some(country);
        Ok(self)
    }

    /// The common name (`CN`).
    pub fn common_name(&self) -> &str {
        &self.common_name
    }

    /// The organization (`O`), if any.
    pub fn organization(&self) -> Option<&str> {
        self.organization.as_deref()
    }

    /// The organizational unit (`OU`), if any.
    pub fn organizational_unit(&self) -> Option<&str> {
        self.organizational_unit.as_deref()
    }

    /// The country (`C`), if any.
    pub fn country(&self) -> Option<&str> {
        self.country.as_deref()
    }

    /// The attributes in encoding order (most significant first), with their RFC 4514 short
    /// names.
    fn attributes(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("C", self.country.as_deref()),
            ("O", self.organization.as_deref()),
            ("OU", self.organizational_unit.as_deref()),
            ("CN", Some(self.common_name.as_str())),
        ]
        .into_iter()
        .filter_map(|(short, value)| value.map(|v| (short, v)))
    }

    /// The name as rcgen encodes it.
    pub(crate) fn to_rcgen(&self) -> Result<rcgen::DistinguishedName, X509Error> {
        let mut dn = rcgen::DistinguishedName::new();
        for (short, value) in self.attributes() {
            match short {
                "C" => {
                    let printable = rcgen::string::PrintableString::try_from(value)
                        .map_err(|_| X509Error::InvalidCountry(shorten(value)))?;
                    dn.push(rcgen::DnType::CountryName, rcgen::DnValue::PrintableString(printable));
                }
                "O" => dn.push(rcgen::DnType::OrganizationName, value),
                "OU" => dn.push(rcgen::DnType::OrganizationalUnitName, value),
                _ => dn.push(rcgen::DnType::CommonName, value),
            }
        }
        Ok(dn)
    }
}

impl fmt::Display for Subject {
    /// RFC 4514: the attributes from least significant (CN) to most significant (C), separated
    /// by commas, with `,+"\<>;` and a leading `#` escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let attributes: Vec<_> = self.attributes().collect();
        for (i, (short, value)) in attributes.iter().rev().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{short}=")?;
            for (j, c) in value.chars().enumerate() {
                if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';') || (j == 0 && c == '#') {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

fn check_name(field: &'static str, value: &str) -> Result<(), X509Error> {
    if value.trim().is_empty() {
        return Err(X509Error::EmptyName { field });
    }
    let chars = value.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(X509Error::NameTooLong { field, chars, max: MAX_NAME_CHARS });
    }
    if value.chars().any(char::is_control) {
        return Err(X509Error::BadNameCharacters { field, reason: "contains a control character" });
    }
    if value.trim() != value {
        return Err(X509Error::BadNameCharacters { field, reason: "has leading or trailing whitespace" });
    }
    Ok(())
}

/// A subject alternative name: what a TLS peer's name is matched against.
///
/// `Display` writes the form `openssl x509 -text` uses for IPv4 and the names (`DNS:`,
/// `IP Address:`, `email:`, `URI:`); [`FromStr`] reads that form and also `IP:`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum SubjectAltName {
    /// A DNS host name, `nats.example.org`; a server certificate may use one leading wildcard
    /// label, `*.example.org`.
    Dns(String),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// An e-mail address (RFC 822 name), for client certificates.
    Email(String),
    /// A URI, for client certificates (for example a SPIFFE id `spiffe://example.org/svc`).
    Uri(String),
}

impl SubjectAltName {
    /// The kind of name, as error messages say it.
    fn kind(&self) -> &'static str {
        match self {
            Self::Dns(_) => "DNS name",
            Self::Ip(_) => "IP address",
            Self::Email(_) => "e-mail address",
            Self::Uri(_) => "URI",
        }
    }

    /// Checks the syntax of the name; `wildcard` allows a leading `*.` on a DNS name.
    pub(crate) fn check(&self, wildcard: bool) -> Result<(), X509Error> {
        let result = match self {
            Self::Dns(name) => check_dns(name, wildcard),
            Self::Ip(ip) if ip.is_unspecified() => Err("the unspecified address names no host"),
            Self::Ip(_) => Ok(()),
            Self::Email(address) => check_email(address),
            Self::Uri(uri) => check_uri(uri),
        };
        result.map_err(|reason| X509Error::InvalidAltName {
            kind: self.kind(),
            input: shorten(&self.to_string()),
            reason,
        })
    }

    /// The name as rcgen encodes it (after [`Self::check`]).
    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType, X509Error> {
        let ia5 = |s: &str| {
            rcgen::string::Ia5String::try_from(s).map_err(|_| X509Error::InvalidAltName {
                kind: self.kind(),
                input: shorten(s),
                reason: "only ASCII characters are allowed",
            })
        };
        Ok(match self {
            Self::Dns(name) => rcgen::SanType::DnsName(ia5(name)?),
            Self::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            Self::Email(address) => rcgen::SanType::Rfc822Name(ia5(address)?),
            Self::Uri(uri) => rcgen::SanType::URI(ia5(uri)?),
        })
    }
}

impl fmt::Display for SubjectAltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dns(name) => write!(f, "DNS:{name}"),
            Self::Ip(ip) => write!(f, "IP Address:{ip}"),
            Self::Email(address) => write!(f, "email:{address}"),
            Self::Uri(uri) => write!(f, "URI:{uri}"),
        }
    }
}

impl FromStr for SubjectAltName {
    type Err = X509Error;

    /// Reads `DNS:name`, `IP:address` (or `IP Address:address`), `email:address` or `URI:uri`
    /// (the prefix in any case) and checks the name's syntax.
    fn from_str(text: &str) -> Result<Self, X509Error> {
        let bad = |reason| X509Error::InvalidAltName { kind: "subject alternative name", input: shorten(text), reason };
        let (prefix, value) =
            text.split_once(':').ok_or(bad("write it as DNS:name, IP:address, email:address or URI:uri"))?;
        let san = match prefix.to_ascii_lowercase().as_str() {
            "dns" => Self::Dns(value.to_owned()),
            "ip" | "ip address" => Self::Ip(value.parse().map_err(|_| X509Error::InvalidAltName {
                kind: "IP address",
                input: shorten(value),
                reason: "not an IPv4 or IPv6 address",
            })?),
            "email" => Self::Email(value.to_owned()),
            "uri" => Self::Uri(value.to_owned()),
            _ => return Err(bad("the prefix must be DNS, IP, email or URI")),
        };
        san.check(true)?;
        Ok(san)
    }
}

/// Checks that no two names are the same (DNS names and e-mail addresses compared without
/// regard to case).
pub(crate) fn check_unique(names: &[SubjectAltName]) -> Result<(), X509Error> {
    let mut seen = HashSet::new();
    for name in names {
        let key = match name {
            SubjectAltName::Dns(_) | SubjectAltName::Email(_) => name.to_string().to_ascii_lowercase(),
            _ => name.to_string(),
        };
        if !seen.insert(key) {
            return Err(X509Error::DuplicateAltName(shorten(&name.to_string())));
        }
    }
    Ok(())
}

/// A host name (RFC 1123): labels of letters, digits and inner hyphens, 1 to 63 characters each,
/// at most 253 in all, no trailing dot.
fn check_dns(name: &str, wildcard: bool) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.len() > 253 {
        return Err("a DNS name has at most 253 characters");
    }
    if name.parse::<IpAddr>().is_ok() {
        return Err("this is an IP address; give it as an IP address (IP:...) instead");
    }
    let mut labels = name.split('.').peekable();
    if labels.peek() == Some(&"*") {
        if !wildcard {
            return Err("wildcards are allowed only in server certificates");
        }
        labels.next();
        if name.split('.').count() < 3 {
            return Err("a wildcard needs at least two labels after it (*.example.org)");
        }
    }
    for label in labels {
        if label.is_empty() {
            return Err("it has an empty label (two dots in a row, or a leading or trailing dot)");
        }
        if label.len() > 63 {
            return Err("a label has more than 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("only letters, digits, hyphens and dots are allowed (write IDNs in their xn-- form)");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not begin or end with a hyphen");
        }
    }
    Ok(())
}

fn check_email(address: &str) -> Result<(), &'static str> {
    if address.len() > 254 {
        return Err("an e-mail address has at most 254 characters");
    }
    let (local, domain) = address.rsplit_once('@').ok_or("it has no @")?;
    if local.is_empty() || local.len() > 64 {
        return Err("the part before @ must have 1 to 64 characters");
    }
    if !local.bytes().all(|b| b.is_ascii_graphic() && !b"@<>()[],;:\\\"".contains(&b)) {
        return Err("the part before @ has a character not allowed there");
    }
    check_dns(domain, false).map_err(|_| "the part after @ is not a valid domain name")
}

fn check_uri(uri: &str) -> Result<(), &'static str> {
    if uri.len() > 2048 {
        return Err("a URI here has at most 2048 characters");
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("a URI has only printable ASCII characters and no spaces (percent-encode the rest)");
    }
    let (scheme, rest) = uri.split_once(':').ok_or("it has no scheme (such as https: or spiffe:)")?;
    let mut scheme_bytes = scheme.bytes();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok {
        return Err("the scheme must start with a letter and hold only letters, digits, +, - and .");
    }
    if rest.is_empty() {
        return Err("nothing follows the scheme");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_print_as_rfc4514() {
        let subject = Subject::new("Acme Root CA")
            .unwrap()
            .with_organization("Acme, Inc.")
            .unwrap()
            .with_organizational_unit("Ops")
            .unwrap()
            .with_country("DE")
            .unwrap();
        assert_eq!(subject.to_string(), r"CN=Acme Root CA,OU=Ops,O=Acme\, Inc.,C=DE");
        assert_eq!(Subject::new("#1 <x>+y;\"z\"\\").unwrap().to_string(), r#"CN=\#1 \<x\>\+y\;\"z\"\\"#);
        assert_eq!(Subject::new("Müller").unwrap().to_string(), "CN=Müller");
    }

    #[test]
    fn bad_subjects_are_refused_with_the_field_named() {
        assert_eq!(Subject::new("  "), Err(X509Error::EmptyName { field: "common name" }));
        assert!(matches!(Subject::new("a\nb"), Err(X509Error::BadNameCharacters { field: "common name", .. })));
        assert!(matches!(Subject::new(" a"), Err(X509Error::BadNameCharacters { .. })));
        assert_eq!(
            Subject::new("x".repeat(65)),
            Err(X509Error::NameTooLong { field: "common name", chars: 65, max: 64 })
        );
        assert!(Subject::new("ü".repeat(64)).is_ok(), "the bound counts characters, not bytes");
        let s = Subject::new("a").unwrap();
        assert!(matches!(s.clone().with_organization(""), Err(X509Error::EmptyName { field: "organization" })));
        assert!(matches!(s.clone().with_organizational_unit("\t"), Err(X509Error::EmptyName { .. })));
        for bad in ["de", "DEU", "D", "", "1A"] {
            assert!(matches!(s.clone().with_country(bad), Err(X509Error::InvalidCountry(_))), "{bad}");
        }
    }

    #[test]
    fn alt_names_parse_and_print() {
        for (text, san) in [
            ("DNS:nats.example.org", SubjectAltName::Dns("nats.example.org".into())),
            ("dns:*.example.org", SubjectAltName::Dns("*.example.org".into())),
            ("IP:10.0.0.1", SubjectAltName::Ip("10.0.0.1".parse().unwrap())),
            ("IP Address:::1", SubjectAltName::Ip("::1".parse().unwrap())),
            ("email:ops@example.org", SubjectAltName::Email("ops@example.org".into())),
            ("URI:spiffe://example.org/nats", SubjectAltName::Uri("spiffe://example.org/nats".into())),
        ] {
            let parsed: SubjectAltName = text.parse().unwrap();
            assert_eq!(parsed, san, "{text}");
            assert_eq!(parsed.to_string().parse::<SubjectAltName>().unwrap(), san, "round trip of {text}");
        }
    }

    #[test]
    fn malformed_alt_names_are_refused() {
        for text in [
            "nats.example.org",
            "FOO:bar",
            "DNS:",
            "DNS:a..b",
            "DNS:-a.org",
            "DNS:a-.org",
            "DNS:a_b.org",
            "DNS:a.org.",
            "DNS:*.org",
            "DNS:a.*.org",
            "DNS:10.0.0.1",
            "DNS:bücher.de",
            "IP:10.0.0",
            "IP:0.0.0.0",
            "IP:::",
            "email:nobody",
            "email:@example.org",
            "email:a b@example.org",
            "email:a@b@example.org",
            "email:a@-x.org",
            "URI:example.org",
            "URI:1http://x",
            "URI:https://exa mple.org",
            "URI:https:",
        ] {
            assert!(text.parse::<SubjectAltName>().is_err(), "{text} was accepted");
        }
        let long_label = format!("DNS:{}.org", "a".repeat(64));
        assert!(long_label.parse::<SubjectAltName>().is_err());
        let long_name = format!("DNS:{}org", "abcdefghi.".repeat(26));
        assert!(long_name.parse::<SubjectAltName>().is_err());
    }

    #[test]
    fn wildcards_only_where_allowed() {
        let wildcard = SubjectAltName::Dns("*.example.org".into());
        assert!(wildcard.check(true).is_ok());
        assert!(wildcard.check(false).is_err());
    }

    #[test]
    fn duplicates_are_found_regardless_of_case() {
        let names = [SubjectAltName::Dns("A.example.org".into()), SubjectAltName::Dns("a.EXAMPLE.org".into())];
        assert!(matches!(check_unique(&names), Err(X509Error::DuplicateAltName(_))));
        let names = [SubjectAltName::Dns("a.example.org".into()), SubjectAltName::Email("x@a.example.org".into())];
        assert!(check_unique(&names).is_ok());
    }
}

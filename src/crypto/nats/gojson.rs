//! JSON bytes exactly as Go's `encoding/json` writes them.
//!
//! The reference NATS tooling (`nats-io/jwt`, `nsc`) marshals claims with Go's `json.Marshal`.
//! To produce byte-identical claims, and above all the same `jti` (a hash of JSON bytes), we
//! write JSON the way Go does:
//!
//! * struct fields in declaration order, maps with keys sorted bytewise (our types declare
//!   their fields in Go's order and use `BTreeMap`);
//! * no whitespace;
//! * strings escaped like Go: `"` `\` and the control characters below U+0020 (`\b` `\f` `\n`
//!   `\r` `\t`, the rest as `\u00XX` with lowercase hex, as Go since 1.22), **plus** Go's HTML
//!   safety escapes `<` → `\u003c`, `>` → `\u003e`, `&` → `\u0026`, and U+2028/U+2029 →
//!   `\u2028`/`\u2029`, which `serde_json` alone does not do.
//!
//! The first list is `serde_json`'s own behaviour; [`GoFormatter`] adds the second.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// A `serde_json` formatter that escapes strings the way Go's `encoding/json` does.
#[derive(Debug, Clone, Copy, Default)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W>(&mut self, writer: &mut W, fragment: &str) -> io::Result<()>
    where
        W: ?Sized + io::Write,
    {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape: &[u8] = match c {
                '<' => b"\\u003c",
                '>' => b"\\u003e",
                '&' => b"\\u0026",
                '\u{2028}' => b"\\u2028",
                '\u{2029}' => b"\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            start = i + c.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }
}

/// Serializes `value` to compact JSON with Go's escaping rules.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut serializer)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn go(s: &str) -> String {
        String::from_utf8(to_vec(s).unwrap()).unwrap()
    }

    #[test]
    fn escapes_like_go_encoding_json() {
        // Expected strings are what Go 1.22+ `json.Marshal` prints for the same input.
        assert_eq!(go("plain"), r#""plain""#);
        assert_eq!(go("$SYS.ACCOUNT.*.>"), r#""$SYS.ACCOUNT.*.\u003e""#);
        assert_eq!(go("a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
        assert_eq!(go("q\"b\\s/"), r#""q\"b\\s/""#);
        assert_eq!(go("\n\r\t\u{8}\u{c}\u{1}\u{1f}"), r#""\n\r\t\b\f\u0001\u001f""#);
        assert_eq!(go("line\u{2028}para\u{2029}"), r#""line\u2028para\u2029""#);
        assert_eq!(go("Ünïcødé ✓ \u{7f}"), "\"Ünïcødé ✓ \u{7f}\"");
        assert_eq!(go("<<>>"), r#""\u003c\u003c\u003e\u003e""#);
    }

    #[test]
    fn map_keys_are_escaped_and_sorted() {
        let mut map = BTreeMap::new();
        map.insert("b>", 1);
        map.insert("a", -1);
        assert_eq!(String::from_utf8(to_vec(&map).unwrap()).unwrap(), r#"{"a":-1,"b\u003e":1}"#);
    }
}

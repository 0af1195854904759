//! Deserializing a host call's result: `serde_json::from_slice` with a shortcut for the
//! small scalars most results are.
//!
//! On wasmi, `serde_json::from_slice::<i64>(b"42")` costs about as much as the rest of a
//! round trip's guest-side parsing (its setup, a loop per digit and the end check). A
//! non-negative integer of up to 16 digits, a string without escapes, `true`, `false` and
//! `null` are read here at once and handed to the visitor exactly as serde_json would
//! (`visit_u64`, `visit_borrowed_str`, `visit_bool`, `visit_unit`/`visit_none`); anything
//! else goes to serde_json. The one difference: an error raised by the visitor on such a
//! value (say `300` for a `u8`) does not end in serde_json's "at line 1 column N".

use serde::Deserialize;
use serde::de::{self, Visitor};

/// Deserializes `bytes`, one JSON value, as `T`; see the [module docs](self).
pub(crate) fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    T::deserialize(Small(bytes))
}

/// A JSON value that may be a small scalar.
struct Small<'a>(&'a [u8]);

/// What [`Small::scalar`] recognised.
enum Scalar<'a> {
    Unsigned(u64),
    Str(&'a str),
    Bool(bool),
    Null,
}

impl<'a> Small<'a> {
    /// The value, if it is one of the scalars read here.
    fn scalar(&self) -> Option<Scalar<'a>> {
        let bytes = self.0;
        match bytes.first()? {
            b'0'..=b'9' => digits(bytes).map(Scalar::Unsigned),
            b'"' => plain_str(bytes).map(Scalar::Str),
            b't' if bytes == b"true" => Some(Scalar::Bool(true)),
            b'f' if bytes == b"false" => Some(Scalar::Bool(false)),
            b'n' if bytes == b"null" => Some(Scalar::Null),
            _ => None,
        }
    }

    /// Hands the value to serde_json's deserializer (what `serde_json::from_slice` does).
    fn json<T>(
        self,
        f: impl FnOnce(
            &mut serde_json::Deserializer<serde_json::de::SliceRead<'a>>,
        ) -> serde_json::Result<T>,
    ) -> serde_json::Result<T> {
        let mut json = serde_json::Deserializer::from_slice(self.0);
        let value = f(&mut json)?;
        json.end()?;
        Ok(value)
    }
}

/// A non-negative JSON integer of 1 to 16 digits (no leading zero), as all of `bytes`.
fn digits(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 16 || (bytes.len() > 1 && bytes[0] == b'0') {
        return None;
    }
    // Right-aligned in 16 bytes of '0's: two words of 8 digits each.
    let mut padded = [b'0'; 16];
    padded[16 - bytes.len()..].copy_from_slice(bytes);
    let (high, low) = padded.split_at(8);
    let high = eight_digits(high.try_into().ok()?)?;
    let low = eight_digits(low.try_into().ok()?)?;
    Some(high * 100_000_000 + low)
}

/// The value of 8 ASCII digits (the first is the most significant), 8 at a time.
fn eight_digits(bytes: [u8; 8]) -> Option<u64> {
    let values = u64::from_le_bytes(bytes).wrapping_sub(u64::from_le_bytes([b'0'; 8]));
    // A byte is a digit when its value is below 10: adding 0x76 leaves its high bit clear.
    if (values | values.wrapping_add(u64::from_le_bytes([0x76; 8]))) & u64::from_le_bytes([0x80; 8])
        != 0
    {
        return None;
    }
    // Combine neighbours into 2-digit, then 4-digit and 8-digit values (SWAR).
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    Some(
        (pairs & MASK)
            .wrapping_mul(100 + (1_000_000 << 32))
            .wrapping_add(((pairs >> 16) & MASK).wrapping_mul(1 + (10_000 << 32)))
            >> 32,
    )
}

/// The text of a JSON string without escapes or control characters, as all of `bytes`.
fn plain_str(bytes: &[u8]) -> Option<&str> {
    let text = bytes.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if needs_escape(text) {
        return None;
    }
    std::str::from_utf8(text).ok()
}

/// Whether `text` has a byte a JSON string must escape (`"`, `\`, or a control
/// character), 8 bytes at a time: a long string (the packed form's base64, say) costs
/// about a sixth of the fuel of a loop over its bytes.
fn needs_escape(text: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // A byte of `x` below `n` (n ≤ 128) sets its high bit in `(x - n·ONES) & !x`.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let (words, tail) = text.as_chunks::<8>();
    for word in words {
        let x = u64::from_le_bytes(*word);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        if (below(x, 0x20) | below(quote, 1) | below(backslash, 1)) & HIGHS != 0 {
            return true;
        }
    }
    tail.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// Forwards `deserialize_*` methods without a shortcut to serde_json.
macro_rules! forward {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
                self.json(|json| de::Deserializer::$method(json, visitor))
            }
        )*
    };
}

/// Tries the shortcut for `deserialize_*` methods that accept any of the scalars.
macro_rules! scalar {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
                match self.scalar() {
                    Some(scalar) => visit(scalar, visitor),
                    None => self.json(|json| de::Deserializer::$method(json, visitor)),
                }
            }
        )*
    };
}

/// Visits a scalar as serde_json's deserializer does: numbers, strings, booleans and
/// `null` go to the visitor whatever type was asked for, which then accepts or rejects
/// them.
fn visit<'de, V: Visitor<'de>>(scalar: Scalar<'de>, visitor: V) -> serde_json::Result<V::Value> {
    match scalar {
        Scalar::Unsigned(n) => visitor.visit_u64(n),
        Scalar::Str(s) => visitor.visit_borrowed_str(s),
        Scalar::Bool(b) => visitor.visit_bool(b),
        Scalar::Null => visitor.visit_unit(),
    }
}

impl<'de> de::Deserializer<'de> for Small<'de> {
    type Error = serde_json::Error;

    // serde_json reads a number the same way whatever numeric type is asked for, and a
    // string the same way for `str`, `string` and `any`.
    scalar! {
        deserialize_any deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_f32
        deserialize_f64 deserialize_str deserialize_string
    }

    forward! {
        deserialize_i128 deserialize_u128 deserialize_bool deserialize_char deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> serde_json::Result<V::Value> {
        if self.0 == b"null" {
            return visitor.visit_none();
        }
        match self.scalar() {
            // Like serde_json: anything but `null` is `Some`.
            Some(_) => visitor.visit_some(self),
            None => self.json(|json| de::Deserializer::deserialize_option(json, visitor)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_unit_struct(json, name, visitor))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_newtype_struct(json, name, visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_tuple(json, len, visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_tuple_struct(json, name, len, visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_struct(json, name, fields, visitor))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> serde_json::Result<V::Value> {
        self.json(|json| de::Deserializer::deserialize_enum(json, name, variants, visitor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Json;
    use std::collections::BTreeMap;

    /// Deserializes `json` both ways; the results (or errors) must match.
    fn same<T: de::DeserializeOwned + PartialEq + std::fmt::Debug>(json: &str) {
        let ours = from_slice::<T>(json.as_bytes()).map_err(|e| e.to_string());
        let theirs = serde_json::from_slice::<T>(json.as_bytes()).map_err(|e| e.to_string());
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{json}"),
            // The shortcut's visitor errors lack serde_json's position; the text before it
            // is the same.
            (Err(a), Err(b)) => assert!(b.starts_with(a.as_str()), "{json}: {a} vs {b}"),
            _ => panic!("{json}: {ours:?} vs {theirs:?}"),
        }
    }

    #[test]
    fn reads_like_serde_json() {
        let values = [
            "0",
            "7",
            "42",
            "1236",
            "99999999",
            "100000000",
            "1234567890123456",
            "12345678901234567",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "-0",
            "01",
            "1.5",
            "1e3",
            " 1",
            "1 ",
            "300",
            "70000",
            "\"pong\"",
            "\"\"",
            "\"ü\"",
            "\"a\\\"b\"",
            "\"a\\nb\"",
            "\"tab\tx\"",
            "\"open",
            "true",
            "false",
            "null",
            "nul",
            "[1,2]",
            "{\"a\":1}",
            "",
            "x",
        ];
        for json in values {
            same::<i64>(json);
            same::<u64>(json);
            same::<i32>(json);
            same::<u8>(json);
            same::<f64>(json);
            same::<String>(json);
            same::<bool>(json);
            same::<()>(json);
            same::<Option<i64>>(json);
            same::<Option<String>>(json);
            same::<Option<()>>(json);
            same::<Vec<i64>>(json);
            same::<(i64, i64)>(json);
            same::<BTreeMap<String, i64>>(json);
            same::<serde_json::Value>(json);
        }
        let raw: Json = from_slice(b"{\"a\": [1, 2]}").unwrap();
        assert_eq!(raw.get(), "{\"a\": [1, 2]}");
        let raw: Json = from_slice(b"42").unwrap();
        assert_eq!(raw.get(), "42");
    }

    #[test]
    fn escapes_are_found_8_bytes_at_a_time_as_one_by_one() {
        let plain = |b: u8| b != b'"' && b != b'\\' && b >= 0x20;
        // Each byte value at each place of strings long enough for words and a tail.
        for len in 1..=19 {
            for at in 0..len {
                for byte in 0..=255u8 {
                    let mut text = vec![b'A'; len];
                    text[at] = byte;
                    assert_eq!(needs_escape(&text), !plain(byte), "{byte} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn digits_8_at_a_time() {
        for n in [
            0u64,
            1,
            9,
            10,
            12_345_678,
            99_999_999,
            100_000_000,
            9_999_999_999_999_999,
        ] {
            assert_eq!(digits(n.to_string().as_bytes()), Some(n));
        }
        for bad in ["", "/", ":", "1a", "00", "12345678901234567", "1-2"] {
            assert_eq!(digits(bad.as_bytes()), None, "{bad}");
        }
    }
}

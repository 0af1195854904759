//! Recognising the host's requests and notifications in the protocol's fixed wire form
//! without the general parser.
//!
//! The protocol crate's writers always put members in one order without spaces
//! (`{"jsonrpc":"2.0","id":1,"method":"m","params":[…]}`), and hosts use them. A line in
//! exactly that form (numeric id, method without escapes, array or object params) is
//! read here by hand — on wasmi this costs a few thousand fuel instead of the ~20k of
//! [`parse_frame`](crate::parse_frame) — and the params are still
//! validated as one JSON value. Anything else returns `None` and takes the general path,
//! which also produces every error response, so both paths answer alike.
//!
//! This is the request-side twin of [`fast_result`](crate::fast_result).

use std::borrow::Cow;

use crate::{Message, Notification, Request, RequestId};
use serde_json::value::RawValue;

/// What [`fast_parse`] recognised in a line in the fixed wire form.
#[derive(Debug, Clone)]
pub enum Fast<'a> {
    /// A success response: its id and the bytes of its result (not validated).
    Result {
        /// The request id.
        id: i64,
        /// The `result` member's bytes.
        result: &'a [u8],
    },
    /// A request or a notification.
    Message(Message<'a>),
}

/// Reads `line` (trimmed, without `\n`) if it is a success response, a request or a
/// notification in the fixed wire form; `None` means "use
/// [`parse_frame`](crate::parse_frame)". The prefix and id are read once for all three.
pub fn fast_parse(line: &[u8]) -> Option<Fast<'_>> {
    fast_head(line)?.finish(line)
}

/// The start of a message in the fixed wire form, read by [`fast_head`] before the end of
/// its line is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastHead<'a> {
    /// The numeric id, if the message has one.
    id: Option<i64>,
    /// The method name (of a request or notification); `None` for a success response.
    method: Option<&'a str>,
    /// Where the rest begins: the result, or what follows the method name.
    body: usize,
}

/// Reads the start of a message in the fixed wire form from `input`, which may go on past
/// the end of the message's line (say, a read buffer holding several lines): up to the
/// result of a response, or up to the end of the method name of a request or
/// notification.
///
/// Returns `None` when `input` does not start in the fixed form (then [`fast_parse`]
/// returns `None` for its line too) or ends too soon. The first
/// [`FastHead::body`] bytes of `input` hold no line break, so a reader looking for the end
/// of the line can start there; [`FastHead::finish`] then reads the rest of the line.
///
/// ```
/// use bevy_wasmi_plugins_protocol::{fast_head, Fast};
///
/// let input = b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}\n{\"jsonrpc\":";
/// let head = fast_head(input).unwrap();
/// let end = head.body() + input[head.body()..].iter().position(|&b| b == b'\n').unwrap();
/// assert!(matches!(head.finish(&input[..end]), Some(Fast::Message(_))));
/// ```
#[inline(always)]
pub fn fast_head(input: &[u8]) -> Option<FastHead<'_>> {
    let (id, rest) = match strip(input, br#"{"jsonrpc":"2.0","id":"#) {
        Some(rest) => {
            let (id, rest) = leading_integer(rest)?;
            (Some(id), strip(rest, b",")?)
        }
        None => (None, strip(input, br#"{"jsonrpc":"2.0","#)?),
    };
    if let Some(result) = strip(rest, br#""result":"#) {
        id?;
        return Some(FastHead {
            id,
            method: None,
            body: input.len() - result.len(),
        });
    }
    let rest = strip(rest, br#""method":""#)?;
    let (method, end) = plain_string(input, input.len() - rest.len())?;
    Some(FastHead {
        id,
        method: Some(method),
        body: end,
    })
}

impl<'a> FastHead<'a> {
    /// How many bytes at the start of the input were read; none of them is a line break.
    pub fn body(&self) -> usize {
        self.body
    }

    /// Reads the whole message from `line`: the input given to [`fast_head`] cut at the
    /// end of this message's line (trimmed, without `\n`). `None` means "use
    /// [`parse_frame`](crate::parse_frame)", as for [`fast_parse`] (also when `line` is
    /// shorter than [`FastHead::body`]: it is not the input this head was read from).
    #[inline(always)]
    pub fn finish(self, line: &'a [u8]) -> Option<Fast<'a>> {
        let rest = line.get(self.body..)?;
        let Some(method) = self.method else {
            return Some(Fast::Result {
                id: self.id?,
                result: rest.strip_suffix(b"}")?,
            });
        };
        let params = match rest {
            b"}" => None,
            _ => {
                let params = strip(rest, br#","params":"#)?.strip_suffix(b"}")?;
                if !matches!(params.first(), Some(b'[' | b'{')) {
                    return None;
                }
                Some(serde_json::from_slice::<&RawValue>(params).ok()?)
            }
        };
        let method = Cow::Borrowed(method);
        Some(Fast::Message(match self.id {
            Some(id) => Message::Request(Request {
                id: RequestId::Number(id),
                method,
                params,
            }),
            None => Message::Notification(Notification { method, params }),
        }))
    }
}

/// Reads `line` (trimmed, without `\n`) if it is a request or notification in the fixed
/// wire form; `None` means "use [`parse_frame`](crate::parse_frame)".
///
/// ```
/// use bevy_wasmi_plugins_protocol::{fast_message, Message};
///
/// let line = br#"{"jsonrpc":"2.0","id":3,"method":"add","params":[1,2]}"#;
/// let Some(Message::Request(request)) = fast_message(line) else { panic!() };
/// assert_eq!((request.method.as_ref(), request.params.unwrap().get()), ("add", "[1,2]"));
/// assert!(fast_message(br#"{"id":3,"jsonrpc":"2.0","method":"add"}"#).is_none());
/// ```
pub fn fast_message(line: &[u8]) -> Option<Message<'_>> {
    match fast_parse(line)? {
        Fast::Message(message) => Some(message),
        Fast::Result { .. } => None,
    }
}

/// Recognises a success response in the fixed wire form,
/// `{"jsonrpc":"2.0","id":<integer>,"result":<json>}`, without parsing the result.
///
/// Returns the id and the bytes of the result. The result bytes are not validated: the
/// caller's deserializer does that. Any other form returns `None`; use
/// [`parse_frame`](crate::parse_frame).
pub fn fast_result(line: &[u8]) -> Option<(i64, &[u8])> {
    match fast_parse(line)? {
        Fast::Result { id, result } => Some((id, result)),
        Fast::Message(_) => None,
    }
}

/// Every byte `0x01`, and every byte `0x80`: constants of the 8-bytes-at-a-time checks.
const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

// On wasmi every loop iteration and every call costs about as much as a dozen plain
// operations, so the readers below look at 8 bytes at a time where they can and leave
// the byte-by-byte work to the rare cases.

/// The 8 bytes of `bytes` from `at`, little-endian; `None` past the end.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*bytes.get(at..)?.first_chunk::<8>()?))
}

/// Flags the zero bytes of `x` (their high bit). The lowest flag is exact; flags above it
/// may be wrong (borrows only disturb the bytes above a zero byte).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Whether a JSON string holding `bytes` needs escapes: a quote, a backslash or a control
/// character.
pub(crate) fn needs_escapes(bytes: &[u8]) -> bool {
    let (words, tail) = bytes.as_chunks::<8>();
    let mut flags = 0;
    for word in words {
        flags |= escape_flags(u64::from_le_bytes(*word));
    }
    if !tail.is_empty() {
        // Padded with spaces, which need no escape.
        let mut last = [b' '; 8];
        last[..tail.len()].copy_from_slice(tail);
        flags |= escape_flags(u64::from_le_bytes(last));
    }
    flags != 0
}

/// Flags the quotes, backslashes and control characters in `x`: not zero exactly when
/// there is one (a wrong flag only ever sits above a right one).
#[inline(always)]
fn escape_flags(x: u64) -> u64 {
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    const SPACES: u64 = u64::from_le_bytes([0x20; 8]);
    zero_bytes(x ^ QUOTES) | zero_bytes(x ^ BACKSLASHES) | (x.wrapping_sub(SPACES) & !x & HIGHS)
}

/// `bytes` without `prefix`, if it starts with it (compared with [`same_bytes`]: on wasm
/// a `strip_prefix` is a byte-by-byte `memcmp` call, several times dearer for these short
/// constant prefixes).
#[inline(always)]
fn strip<'a, const N: usize>(bytes: &'a [u8], prefix: &[u8; N]) -> Option<&'a [u8]> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    same_bytes(head, prefix).then_some(rest)
}

/// Whether `a` and `b` hold the same bytes, compared 8 (or 4) at a time with the last
/// chunk overlapping the one before: on wasm, `==` on slices is a byte-by-byte `memcmp`
/// call, and padding a short tail into a word costs two `memory.copy`s. Shared with the
/// PDK, which compares method names this way.
#[doc(hidden)]
#[inline(always)]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if let (Some(a_last), Some(b_last)) = (a.last_chunk::<8>(), b.last_chunk::<8>()) {
        let (a_words, _) = a.as_chunks::<8>();
        let (b_words, _) = b.as_chunks::<8>();
        let mut diff = u64::from_le_bytes(*a_last) ^ u64::from_le_bytes(*b_last);
        for (x, y) in a_words.iter().zip(b_words) {
            diff |= u64::from_le_bytes(*x) ^ u64::from_le_bytes(*y);
        }
        return diff == 0;
    }
    if let (Some(a_first), Some(a_last), Some(b_first), Some(b_last)) = (
        a.first_chunk::<4>(),
        a.last_chunk::<4>(),
        b.first_chunk::<4>(),
        b.last_chunk::<4>(),
    ) {
        return (u32::from_le_bytes(*a_first) ^ u32::from_le_bytes(*b_first))
            | (u32::from_le_bytes(*a_last) ^ u32::from_le_bytes(*b_last))
            == 0;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// The text of a string without escapes or control characters that starts at `start` in
/// `line` (just after its opening quote), and the index after its closing quote; `None`
/// for any other string (the general parser judges those).
#[inline(always)]
fn plain_string(line: &[u8], start: usize) -> Option<(&str, usize)> {
    let mut at = start;
    loop {
        // The next 8 bytes; near the end, the line's last 8 shifted down so that `at`
        // comes first and zeros (which read as control characters) fill the top.
        let x = match word(line, at) {
            Some(x) => x,
            None if at < line.len() => {
                let Some(last) = line.len().checked_sub(8) else {
                    return slow_string(line, start);
                };
                word(line, last)? >> (8 * (at - last))
            }
            None => return None,
        };
        // Flag quotes, backslashes, control characters and non-ASCII bytes; the lowest
        // flag is exact.
        let flags = escape_flags(x) | (x & HIGHS);
        if flags == 0 {
            at += 8;
            continue;
        }
        let end = at + (flags.trailing_zeros() / 8) as usize;
        return match line.get(end)? {
            b'"' => {
                // SAFETY: every byte from `start` to `end` is ASCII (no flag below
                // `end`), so valid UTF-8.
                let text = unsafe { std::str::from_utf8_unchecked(&line[start..end]) };
                Some((text, end + 1))
            }
            0x80.. => slow_string(line, start),
            _ => None, // an escape or a control character: let the parser judge
        };
    }
}

/// [`plain_string`] one byte at a time: for text that is not all ASCII, or a line
/// shorter than 8 bytes.
#[inline(never)]
fn slow_string(line: &[u8], start: usize) -> Option<(&str, usize)> {
    let bytes = &line[start..];
    let end = bytes
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if bytes[end] != b'"' {
        return None;
    }
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    Some((text, start + end + 1))
}

/// A JSON integer that fits `i64` at the start of `bytes` (no leading zeros); returns it
/// and the bytes after it. A fraction or exponent is left in the rest, where the caller's
/// next check fails on it.
#[inline(always)]
fn leading_integer(bytes: &[u8]) -> Option<(i64, &[u8])> {
    // Up to 7 digits followed by something else: all 8 bytes at once.
    if let Some(x) = word(bytes, 0) {
        let values = x.wrapping_sub(u64::from_le_bytes([b'0'; 8]));
        // A byte is a digit when its value is below 10: adding 0x76 leaves its high bit
        // clear. The lowest flagged byte is exact (carries and borrows only go up).
        let others = (values | values.wrapping_add(u64::from_le_bytes([0x76; 8]))) & HIGHS;
        if others != 0 {
            let len = (others.trailing_zeros() / 8) as usize;
            if len == 0 || (len > 1 && bytes[0] == b'0') {
                return (bytes[0] == b'-').then(|| slow_integer(bytes)).flatten();
            }
            // Left-align the digits, so the bytes below them read as leading zeros, and
            // combine them pairwise (SWAR): 8 digits, most significant in the lowest byte.
            let digits = values << (8 * (8 - len));
            let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
            const MASK: u64 = 0x0000_00FF_0000_00FF;
            let value = (pairs & MASK)
                .wrapping_mul(100 + (1_000_000 << 32))
                .wrapping_add(((pairs >> 16) & MASK).wrapping_mul(1 + (10_000 << 32)))
                >> 32;
            // At most 7 digits: fits `i64`.
            return Some((value as i64, &bytes[len..]));
        }
    }
    slow_integer(bytes)
}

/// [`leading_integer`] one byte at a time: negative or long numbers, or near the end.
#[inline(never)]
fn slow_integer(bytes: &[u8]) -> Option<(i64, &[u8])> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    let len = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if len == 0 || len > 19 || (len > 1 && digits[0] == b'0') {
        return None;
    }
    // 19 digits always fit a u64, so plain arithmetic cannot overflow (checked 64-bit
    // multiplication costs a 128-bit helper call per digit on wasm32).
    let magnitude = digits[..len]
        .iter()
        .fold(0u64, |n, &digit| n * 10 + u64::from(digit - b'0'));
    let value = if negative {
        if magnitude == 0 {
            // `-0` is a float to serde_json, so `parse_frame` refuses it as an id.
            return None;
        }
        0i64.checked_sub_unsigned(magnitude)?
    } else {
        i64::try_from(magnitude).ok()?
    };
    Some((value, &digits[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Frame, parse_frame, write_notification, write_request};
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// What the general parser makes of `line`, in a comparable form.
    fn general(line: &[u8]) -> Option<String> {
        match parse_frame(line) {
            Ok(Frame::Single(Ok(message))) => Some(describe(&message)),
            _ => None,
        }
    }

    fn describe(message: &Message<'_>) -> String {
        match message {
            Message::Request(r) => {
                format!(
                    "req {:?} {} {:?}",
                    r.id,
                    r.method,
                    r.params.map(RawValue::get)
                )
            }
            Message::Notification(n) => {
                format!("note {} {:?}", n.method, n.params.map(RawValue::get))
            }
            Message::Response(_) => "response".to_owned(),
        }
    }

    #[test]
    fn reads_what_the_protocol_writers_write() {
        let mut line = Vec::new();
        write_request(
            &mut line,
            &RequestId::Number(-42),
            "game.tick",
            Some(&[1, 2]),
        )
        .unwrap();
        let message = fast_message(&line).unwrap();
        assert_eq!(
            describe(&message),
            "req Number(-42) game.tick Some(\"[1,2]\")"
        );
        assert_eq!(Some(describe(&message)), general(&line));

        for (params, expected) in [
            (None, "None"),
            (
                Some(serde_json::json!({"a": {"b": [1, "}"]}})),
                "Some(\"{\\\"a\\\":{\\\"b\\\":[1,\\\"}\\\"]}}\")",
            ),
        ] {
            line.clear();
            write_notification(&mut line, "ünïcode.event", params.as_ref()).unwrap();
            let message = fast_message(&line).unwrap();
            assert_eq!(describe(&message), format!("note ünïcode.event {expected}"));
            assert_eq!(Some(describe(&message)), general(&line));
        }
    }

    #[test]
    fn leaves_everything_else_to_the_parser() {
        for line in [
            // Other member orders, spaces, string ids, escapes.
            r#"{"id":1,"jsonrpc":"2.0","method":"a"}"#,
            r#"{"jsonrpc":"2.0", "id":1,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":"1","method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a\"b"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":01,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":99999999999999999999,"method":"a"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"a"}"#,
            // Invalid: scalar params, broken params, extra members, responses.
            r#"{"jsonrpc":"2.0","id":1,"method":"a","params":5}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a","params":[1,}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a","params":[1],"x":2}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a","result":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"a"} "#,
            r#"{"jsonrpc":"2.0","id":1,"result":1}"#,
            r#"{"jsonrpc":"2.0","method":"a""#,
        ] {
            assert!(fast_message(line.as_bytes()).is_none(), "{line}");
        }
    }

    #[test]
    fn strip_compares_every_byte() {
        let prefix = br#"{"jsonrpc":"2.0","#;
        let mut line = prefix.to_vec();
        line.extend_from_slice(b"rest");
        assert_eq!(strip(&line, prefix), Some(&b"rest"[..]));
        for i in 0..prefix.len() {
            let mut changed = line.clone();
            changed[i] ^= 0x20;
            assert_eq!(strip(&changed, prefix), None, "byte {i}");
        }
        assert_eq!(strip(&line[..prefix.len() - 1], prefix), None);
        for prefix in [&b"ab"[..], b"abcd", b"abcde", b"abcdefgh", b"abcdefghijk"] {
            let mut line = prefix.to_vec();
            line.push(b'!');
            let check = |line: &[u8]| {
                match prefix.len() {
                    2 => strip(line, b"ab"),
                    4 => strip(line, b"abcd"),
                    5 => strip(line, b"abcde"),
                    8 => strip(line, b"abcdefgh"),
                    _ => strip(line, b"abcdefghijk"),
                }
                .map(<[u8]>::to_vec)
            };
            assert_eq!(check(&line), Some(b"!".to_vec()));
            for i in 0..prefix.len() {
                let mut changed = line.clone();
                changed[i] ^= 1;
                assert_eq!(check(&changed), None, "{prefix:?} byte {i}");
            }
        }
    }

    #[test]
    fn integers_8_bytes_at_a_time_match_one_at_a_time() {
        let mut cases: Vec<String> = Vec::new();
        for n in [
            0u64, 1, 7, 9, 10, 42, 99, 100, 1234, 99_999, 1_000_000, 9_999_999,
        ] {
            cases.push(n.to_string());
            cases.push(format!("0{n}"));
            cases.push(format!("-{n}"));
        }
        for n in [
            10_000_000u64,
            12_345_678,
            123_456_789_012,
            u64::MAX,
            1 << 63,
        ] {
            cases.push(n.to_string());
        }
        for case in cases {
            for tail in [
                "",
                ",",
                "}",
                ",\"result\":1}",
                ".5,x",
                "e3,",
                "9",
                "/",
                ":",
                "\u{80}x",
            ] {
                let text = format!("{case}{tail}");
                let bytes = text.as_bytes();
                assert_eq!(leading_integer(bytes), slow_integer(bytes), "{text:?}");
            }
        }
        assert_eq!(
            leading_integer(b"1234,\"result\":5}"),
            Some((1234, &b",\"result\":5}"[..]))
        );
    }

    #[test]
    fn plain_strings() {
        // The byte-at-a-time fallback is the reference for the word-at-a-time scan.
        let reference = |line: &[u8], start: usize| -> Option<(String, Vec<u8>)> {
            slow_string(line, start).map(|(t, end)| (t.to_owned(), line[end..].to_vec()))
        };
        let names = [
            "",
            "a",
            "ping",
            "add",
            "roundtrip",
            "game.spawn_enemy",
            "ünï",
            "a\\b",
            "tab\t",
            "x\u{7f}y",
        ];
        for name in names {
            for pad in 0..10 {
                let method = format!("{}{name}", "m".repeat(pad));
                for tail in ["\"}", "\",\"params\":[1,2]}", "\"", ""] {
                    for before in ["", "{\"method\":\""] {
                        let text = format!("{before}{method}{tail}");
                        let got = plain_string(text.as_bytes(), before.len())
                            .map(|(t, end)| (t.to_owned(), text.as_bytes()[end..].to_vec()));
                        let expected = reference(text.as_bytes(), before.len());
                        assert_eq!(got, expected, "{text:?}");
                    }
                }
            }
        }
        assert_eq!(plain_string(b"abc", 0), None);
        assert_eq!(plain_string(b"\xff\xfe\"}", 0), None);
        assert_eq!(plain_string(b"0123456789", 10), None);
    }

    #[test]
    fn escapes_are_found_wherever_they_are() {
        for len in 0..20 {
            let plain = "ü".repeat(len / 2) + &"x".repeat(len % 2);
            assert!(!needs_escapes(plain.as_bytes()), "{plain:?}");
            for at in 0..plain.len() {
                for bad in [b'"', b'\\', 0, 0x1f, b'\n'] {
                    let mut bytes = plain.as_bytes().to_vec();
                    bytes[at] = bad;
                    assert!(needs_escapes(&bytes), "{bytes:?}");
                }
            }
        }
        assert!(!needs_escapes(b"\x7f !~"));
    }

    #[test]
    fn integers() {
        let whole = |b: &[u8]| {
            leading_integer(b)
                .filter(|(_, rest)| rest.is_empty())
                .map(|(n, _)| n)
        };
        assert_eq!(whole(b"0"), Some(0));
        assert_eq!(whole(b"-7"), Some(-7));
        assert_eq!(whole(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(whole(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(leading_integer(b"12,x"), Some((12, &b",x"[..])));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"00",
            b"-01",
            b"1e3",
            b"+1",
            b" 1",
            b"9223372036854775808",
        ] {
            assert_eq!(whole(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn same_bytes_agrees_with_slice_equality() {
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 0..=text.len() {
            let a = &text[..len];
            assert!(same_bytes(a, a), "len {len}");
            for at in 0..len {
                // One byte different, anywhere: never equal.
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "len {len}, at {at}");
            }
            if len > 0 {
                assert!(!same_bytes(a, &text[..len - 1]), "len {len}");
            }
        }
    }
}

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
    let rest = line.strip_prefix(br#"{"jsonrpc":"2.0","#)?;
    let (id, rest) = match rest.strip_prefix(br#""id":"#) {
        Some(rest) => {
            let (id, rest) = leading_integer(rest)?;
            (Some(id), rest.strip_prefix(b",")?)
        }
        None => (None, rest),
    };
    if let Some(result) = rest.strip_prefix(br#""result":"#) {
        return Some(Fast::Result {
            id: id?,
            result: result.strip_suffix(b"}")?,
        });
    }
    let rest = rest.strip_prefix(br#""method":""#)?;
    let end = rest
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if rest[end] != b'"' {
        return None; // escapes or control characters: let the parser judge
    }
    let method = std::str::from_utf8(&rest[..end]).ok()?;
    let rest = &rest[end + 1..];
    let params = match rest {
        b"}" => None,
        _ => {
            let params = rest.strip_prefix(br#","params":"#)?.strip_suffix(b"}")?;
            if !matches!(params.first(), Some(b'[' | b'{')) {
                return None;
            }
            Some(serde_json::from_slice::<&RawValue>(params).ok()?)
        }
    };
    let method = Cow::Borrowed(method);
    Some(Fast::Message(match id {
        Some(id) => Message::Request(Request {
            id: RequestId::Number(id),
            method,
            params,
        }),
        None => Message::Notification(Notification { method, params }),
    }))
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

/// A JSON integer that fits `i64` at the start of `bytes` (no leading zeros); returns it
/// and the bytes after it. A fraction or exponent is left in the rest, where the caller's
/// next check fails on it.
fn leading_integer(bytes: &[u8]) -> Option<(i64, &[u8])> {
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
}

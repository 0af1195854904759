//! Writing messages in the one fixed wire form (see the crate docs).

use super::*;

/// Writes `"jsonrpc":"2.0","id":…` (with the opening brace).
#[inline]
pub(crate) fn write_head(out: &mut Vec<u8>, id: Option<&RequestId>) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    match id {
        None => out.extend_from_slice(b"null"),
        Some(RequestId::Number(n)) => {
            out.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
        }
        Some(id @ RequestId::String(_)) => write_json(out, id),
    }
}

/// Writes `text` as a JSON string.
///
/// Text that needs no escapes (the usual method names and messages) is copied as it is,
/// which on wasm costs a fraction of serde's byte-by-byte escaping.
#[inline(always)]
pub(crate) fn write_str(out: &mut Vec<u8>, text: &str) {
    if fast::needs_escapes(text.as_bytes()) {
        write_json(out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// Writes `value` as JSON, as `serde_json::to_writer` does, except that a `&str` or
/// `String` that needs no escapes is copied as it is (serde escapes one byte at a time,
/// which on wasm costs a mod more than the rest of a short answer).
///
/// ```
/// let mut out = Vec::new();
/// bevy_wasmi_plugins_protocol::write_value(&mut out, &"pong").unwrap();
/// bevy_wasmi_plugins_protocol::write_value(&mut out, &String::from("a\"b")).unwrap();
/// bevy_wasmi_plugins_protocol::write_value(&mut out, &[1, 2]).unwrap();
/// assert_eq!(out, br#""pong""a\"b"[1,2]"#);
/// ```
///
/// # Errors
///
/// When `value`'s `Serialize` implementation fails (e.g. a map with keys that are not
/// strings or numbers).
pub fn write_value<T: Serialize + 'static>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    // The checks are on types, decided when `T` is known: other types pay nothing.
    let any: &dyn std::any::Any = value;
    let text = match any.downcast_ref::<&str>() {
        Some(text) => Some(*text),
        None => any.downcast_ref::<String>().map(String::as_str),
    };
    match text {
        Some(text) => {
            write_str(out, text);
            Ok(())
        }
        None => serde_json::to_writer(out, value),
    }
}

/// Serializes a value that cannot fail to serialize (strings, ids, error objects).
pub(crate) fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Writing into a Vec cannot fail, and these types have no fallible Serialize impl.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Serializes `value`, leaving `out` as it was when serialization fails.
pub(crate) fn write_fallible(
    out: &mut Vec<u8>,
    start: usize,
    value: &(impl Serialize + ?Sized),
) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value).inspect_err(|_| out.truncate(start))
}

/// Writes `,"params":…`, leaving the member out when the params serialize to `null`
/// (JSON-RPC params must be an array or an object; `()` means "no params"). Params that
/// serialize to anything else (a number, a string, a boolean) are an error.
pub(crate) fn write_params(
    out: &mut Vec<u8>,
    start: usize,
    params: &(impl Serialize + ?Sized),
) -> serde_json::Result<()> {
    let member = out.len();
    out.extend_from_slice(br#","params":"#);
    let value = out.len();
    write_fallible(out, start, params)?;
    match check_params(&out[value..]) {
        Ok(true) => {}
        Ok(false) => out.truncate(member),
        Err(not_params) => {
            out.truncate(start);
            return Err(<serde_json::Error as serde::ser::Error>::custom(not_params));
        }
    }
    Ok(())
}

/// Appends a request in the fixed wire form (no trailing newline).
///
/// `params` of `None`, or params that serialize to `null` (such as `()`), leave the
/// `params` member out.
///
/// # Errors
///
/// When `params` fails to serialize (e.g. a map with non-string keys), or serializes to
/// something other than an array, an object or `null` (JSON-RPC allows no other
/// params); `out` is left as it was.
pub fn write_request<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    method: &str,
    params: Option<&P>,
) -> serde_json::Result<()> {
    let start = out.len();
    write_head(out, Some(id));
    out.extend_from_slice(br#","method":"#);
    write_str(out, method);
    if let Some(params) = params {
        write_params(out, start, params)?;
    }
    out.push(b'}');
    Ok(())
}

/// Appends a notification in the fixed wire form (no trailing newline).
///
/// Params are left out, or refused, as in [`write_request`].
///
/// # Errors
///
/// When `params` fails to serialize or is not an array, an object or `null`; `out` is
/// left as it was.
pub fn write_notification<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&P>,
) -> serde_json::Result<()> {
    let start = out.len();
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    write_str(out, method);
    if let Some(params) = params {
        write_params(out, start, params)?;
    }
    out.push(b'}');
    Ok(())
}

/// Appends a success response in the fixed wire form (no trailing newline).
///
/// # Errors
///
/// When `result` fails to serialize; `out` is left as it was.
pub fn write_result<R: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    result: &R,
) -> serde_json::Result<()> {
    let start = out.len();
    write_head(out, Some(id));
    out.extend_from_slice(br#","result":"#);
    write_fallible(out, start, result)?;
    out.push(b'}');
    Ok(())
}

/// Appends a success response whose result is already JSON (no trailing newline).
///
/// Raw JSON holding line breaks (pretty-printed) is re-written compactly so the message
/// stays on one line.
pub fn write_raw_result(out: &mut Vec<u8>, id: &RequestId, result: &RawValue) {
    write_head(out, Some(id));
    out.extend_from_slice(br#","result":"#);
    push_raw(out, result);
    out.push(b'}');
}

/// `json` on one line: without its `\n` and `\r` bytes, borrowed when it has none.
///
/// In valid JSON a line break can only be whitespace between tokens (inside a string it
/// must be escaped), so what is left is the same JSON; no parse is needed, and no
/// `serde_json::Value`, whose code every mod would carry.
///
/// ```
/// use bevy_wasmi_plugins_protocol::one_line;
///
/// assert_eq!(one_line("{\r\n  \"a\": \"x\\ny\"\n}"), r#"{  "a": "x\ny"}"#);
/// assert!(matches!(one_line("[1, 2]"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn one_line(json: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'\n', b'\r', json.as_bytes()).is_none() {
        return Cow::Borrowed(json);
    }
    Cow::Owned(json.replace(['\n', '\r'], ""))
}

/// Appends raw JSON, on one line if it spans several ([`one_line`]).
pub(crate) fn push_raw(out: &mut Vec<u8>, raw: &RawValue) {
    out.extend_from_slice(one_line(raw.get()).as_bytes());
}

/// Appends an error response in the fixed wire form (no trailing newline).
pub fn write_error(out: &mut Vec<u8>, id: Option<&RequestId>, error: &ResponseError) {
    write_head(out, id);
    out.extend_from_slice(br#","error":{"code":"#);
    out.extend_from_slice(itoa::Buffer::new().format(error.code).as_bytes());
    out.extend_from_slice(br#","message":"#);
    write_str(out, &error.message);
    if let Some(data) = &error.data {
        out.extend_from_slice(br#","data":"#);
        push_raw(out, data);
    }
    out.extend_from_slice(b"}}");
}

/// Appends a response for `outcome` (no trailing newline).
pub fn write_outcome(out: &mut Vec<u8>, id: &RequestId, outcome: &Outcome) {
    match outcome {
        Ok(result) => write_raw_result(out, id, result),
        Err(error) => write_error(out, Some(id), error),
    }
}

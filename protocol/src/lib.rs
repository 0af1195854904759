//! The wire protocol between a `bevy_wasmi_plugins` host and its mods.
//!
//! Mods and hosts talk [JSON-RPC 2.0](https://www.jsonrpc.org/specification) over the
//! mod's stdin (host → mod) and stdout (mod → host), **one JSON value per line**
//! (`\n`-terminated UTF-8). Both sides send requests, responses and notifications; batches
//! are accepted and answered as the specification says. The mod's stderr is its log.
//!
//! This crate is the one definition of that protocol, used by the host runtime and by the
//! PDK alike:
//!
//! - [`parse_frame`] reads one line into a [`Frame`] of borrowed [`Message`]s, telling
//!   apart requests, notifications and responses and turning malformed input into the
//!   error object the specification asks for ([`Invalid`]).
//! - [`write_request`], [`write_notification`], [`write_result`], [`write_raw_result`]
//!   and [`write_error`] put messages on the wire in one fixed, compact form (see
//!   [the wire form](#the-wire-form)); [`write_value`] writes a value as JSON.
//! - [`serve_frame`] answers a whole line, batches included, with a caller's handler
//!   ([`serve_frame_with`] also hands over the peer's malformed answers).
//! - [`ErrorCode`] lists the standard codes and this project's application codes.
//! - [`lifecycle`] holds the params and results of `plugin.init` and `plugin.shutdown`,
//!   and [`brp`] the requests and responses of the `world.*` methods (the Bevy Remote
//!   Protocol's shapes): the host and the PDK read and write the same types.
//!
//! # The wire form
//!
//! Writers always emit members in this order, without spaces:
//!
//! ```text
//! {"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}
//! {"jsonrpc":"2.0","method":"log","params":{"text":"hi"}}
//! {"jsonrpc":"2.0","id":1,"result":3}
//! {"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}
//! ```
//!
//! Readers accept any member order and whitespace. [`fast_parse`] (and its halves
//! [`fast_result`] and [`fast_message`]) recognise the fixed forms above without a full parse, which keeps both sides of a
//! call cheap (on wasmi a full parse costs a mod ~20k fuel); anything else goes through
//! [`parse_frame`].
//!
//! ```
//! use bevy_wasmi_plugins_protocol::{parse_frame, write_request, Frame, Message, RequestId};
//!
//! let mut line = Vec::new();
//! write_request(&mut line, &RequestId::Number(7), "add", Some(&[1, 2])).unwrap();
//! assert_eq!(line, br#"{"jsonrpc":"2.0","id":7,"method":"add","params":[1,2]}"#);
//!
//! let Ok(Frame::Single(Ok(Message::Request(request)))) = parse_frame(&line) else {
//!     panic!("not a request");
//! };
//! assert_eq!(request.method, "add");
//! assert_eq!(request.params::<(i32, i32)>().unwrap(), (1, 2));
//! ```

pub mod brp;
mod fast;
pub mod lifecycle;
mod params;

use std::borrow::Cow;
use std::fmt;

pub use fast::{Fast, FastHead, fast_head, fast_message, fast_parse, fast_result, same_bytes};
pub use params::{NotParams, check_params, to_params};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// The `jsonrpc` member every message carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// Default cap on one message (one line), in bytes: 1 MiB.
///
/// Hosts and mods refuse longer lines with [`ErrorCode::MessageTooLarge`] instead of
/// buffering them.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// Most messages in one batch; a longer batch is refused whole with
/// [`ErrorCode::InvalidRequest`] (its answer would be far larger than the line).
pub const MAX_BATCH: usize = 1024;

/// Version of the host API a mod is told about in `plugin.init`.
pub const HOST_API_VERSION: u32 = 1;

/// The id of a request: a number or a string, kept apart (`1` is not `"1"`).
///
/// JSON-RPC also allows fractional numbers and `null`; a request with either is answered
/// with [`ErrorCode::InvalidRequest`], and a response to an undetectable id carries `null`
/// (an `Option<RequestId>` of `None`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id such as `1`.
    Number(i64),
    /// A string id such as `"1"`.
    String(String),
}

impl From<i64> for RequestId {
    fn from(id: i64) -> Self {
        RequestId::Number(id)
    }
}

impl From<String> for RequestId {
    fn from(id: String) -> Self {
        RequestId::String(id)
    }
}

impl From<&str> for RequestId {
    fn from(id: &str) -> Self {
        RequestId::String(id.to_owned())
    }
}

impl fmt::Display for RequestId {
    /// Writes the id as it appears on the wire (`1` or `"1"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// Error codes used on the wire.
///
/// The first five are the JSON-RPC 2.0 standard codes. Then come this project's
/// application codes, all in the range the specification reserves for implementations
/// (-32000 to -32099), and last the Bevy Remote Protocol's codes (-23401 to -23502),
/// which the `world.*` host methods answer with as BRP does. This enum is the one place
/// they are defined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `-32700`: the line is not valid JSON.
    ParseError,
    /// `-32600`: the JSON is not a valid request object (or the batch is empty).
    InvalidRequest,
    /// `-32601`: no such method.
    MethodNotFound,
    /// `-32602`: the params do not have the shape the method expects.
    InvalidParams,
    /// `-32603`: the method failed for a reason of its own.
    InternalError,
    /// `-32000`: the mod crashed (trap, panic, stack overflow) while the call was pending.
    ModCrashed,
    /// `-32001`: the mod is not running (it exited, was unloaded, or never started).
    ModUnavailable,
    /// `-32002`: the mod used more fuel than one activation may (runaway guard).
    FuelExhausted,
    /// `-32003`: the mod hit its memory cap.
    OutOfMemory,
    /// `-32004`: a message was longer than the message size cap.
    MessageTooLarge,
    /// `-32005`: the mod wrote more output than one activation may.
    OutputFlood,
    /// `-32006`: the caller is not allowed to use this method or type.
    PermissionDenied,
    /// `-32007`: the call did not complete within its deadline (fuel the mod used since
    /// the call, across activations, or wall time); the mod carries on.
    DeadlineExceeded,
    /// `-23401` (Bevy Remote Protocol): no entity with that id.
    EntityNotFound,
    /// `-23402` (Bevy Remote Protocol): a component type that is unknown, not
    /// reflectable, or whose value did not deserialize.
    ComponentError,
    /// `-23403` (Bevy Remote Protocol): the entity does not have that component.
    ComponentNotPresent,
    /// `-23501` (Bevy Remote Protocol): a resource or message type that is unknown, not
    /// reflectable, or whose value did not deserialize.
    ResourceError,
    /// `-23502` (Bevy Remote Protocol): the resource is not in the world.
    ResourceNotPresent,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::ParseError,
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::InternalError,
        ErrorCode::ModCrashed,
        ErrorCode::ModUnavailable,
        ErrorCode::FuelExhausted,
        ErrorCode::OutOfMemory,
        ErrorCode::MessageTooLarge,
        ErrorCode::OutputFlood,
        ErrorCode::PermissionDenied,
        ErrorCode::DeadlineExceeded,
        ErrorCode::EntityNotFound,
        ErrorCode::ComponentError,
        ErrorCode::ComponentNotPresent,
        ErrorCode::ResourceError,
        ErrorCode::ResourceNotPresent,
    ];

    /// The numeric code on the wire.
    pub const fn code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::MethodNotFound => -32601,
            ErrorCode::InvalidParams => -32602,
            ErrorCode::InternalError => -32603,
            ErrorCode::ModCrashed => -32000,
            ErrorCode::ModUnavailable => -32001,
            ErrorCode::FuelExhausted => -32002,
            ErrorCode::OutOfMemory => -32003,
            ErrorCode::MessageTooLarge => -32004,
            ErrorCode::OutputFlood => -32005,
            ErrorCode::PermissionDenied => -32006,
            ErrorCode::DeadlineExceeded => -32007,
            ErrorCode::EntityNotFound => -23401,
            ErrorCode::ComponentError => -23402,
            ErrorCode::ComponentNotPresent => -23403,
            ErrorCode::ResourceError => -23501,
            ErrorCode::ResourceNotPresent => -23502,
        }
    }

    /// The code for a number, if it is one of [`ErrorCode::ALL`].
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// The specification's message for the standard codes, a short description otherwise.
    pub const fn message(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "Parse error",
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::MethodNotFound => "Method not found",
            ErrorCode::InvalidParams => "Invalid params",
            ErrorCode::InternalError => "Internal error",
            ErrorCode::ModCrashed => "Mod crashed",
            ErrorCode::ModUnavailable => "Mod unavailable",
            ErrorCode::FuelExhausted => "Fuel exhausted",
            ErrorCode::OutOfMemory => "Out of memory",
            ErrorCode::MessageTooLarge => "Message too large",
            ErrorCode::OutputFlood => "Output flood",
            ErrorCode::PermissionDenied => "Permission denied",
            ErrorCode::DeadlineExceeded => "Deadline exceeded",
            ErrorCode::EntityNotFound => "Entity not found",
            ErrorCode::ComponentError => "Component error",
            ErrorCode::ComponentNotPresent => "Component not present",
            ErrorCode::ResourceError => "Resource error",
            ErrorCode::ResourceNotPresent => "Resource not present",
        }
    }
}

/// The `error` member of a failed response.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ResponseError {
    /// The error code; see [`ErrorCode`].
    pub code: i32,
    /// A short description.
    pub message: String,
    /// Optional extra information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

impl ResponseError {
    /// An error with `code` and `message` and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ResponseError {
            code: code.code(),
            message: message.into(),
            data: None,
        }
    }

    /// An error with `code` and the code's standard message, as in the specification's
    /// examples (`{"code":-32601,"message":"Method not found"}`).
    pub fn standard(code: ErrorCode) -> Self {
        ResponseError::new(code, code.message())
    }

    /// `-32601` naming the method that does not exist.
    pub fn method_not_found(method: &str) -> Self {
        ResponseError::new(
            ErrorCode::MethodNotFound,
            format!("Method not found: {method}"),
        )
    }

    /// `-32602` for params that did not deserialize, with serde's explanation.
    pub fn invalid_params(method: &str, error: impl fmt::Display) -> Self {
        ResponseError::new(
            ErrorCode::InvalidParams,
            format!("Invalid params for {method}: {error}"),
        )
    }

    /// `-32603` with a message.
    pub fn internal(message: impl Into<String>) -> Self {
        ResponseError::new(ErrorCode::InternalError, message)
    }

    /// The [`ErrorCode`] of this error, if it is a known one.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// Attaches `data`, serialized to JSON (left out if it does not serialize).
    #[must_use]
    pub fn with_data(mut self, data: &impl Serialize) -> Self {
        self.data = serde_json::value::to_raw_value(data).ok();
        self
    }
}

impl PartialEq for ResponseError {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_deref().map(RawValue::get) == other.data.as_deref().map(RawValue::get)
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ResponseError {}

/// A request: it has an id and expects a response.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The id the response must carry.
    pub id: RequestId,
    /// The method to call.
    pub method: Cow<'a, str>,
    /// The params, exactly as they were on the wire (an array or an object), if any.
    pub params: Option<&'a RawValue>,
}

impl Request<'_> {
    /// Deserializes the params into `T`; missing params deserialize from `null`, so `()`
    /// and `Option<_>` accept them.
    ///
    /// # Errors
    ///
    /// A [`ErrorCode::InvalidParams`] error naming the method and what did not match.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ResponseError> {
        extract_params(&self.method, self.params)
    }
}

/// A notification: like a request, but without an id and never answered.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// The method (event name).
    pub method: Cow<'a, str>,
    /// The params, exactly as they were on the wire, if any.
    pub params: Option<&'a RawValue>,
}

impl Notification<'_> {
    /// Deserializes the params into `T`, like [`Request::params`].
    ///
    /// # Errors
    ///
    /// A [`ErrorCode::InvalidParams`] error naming the method and what did not match.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ResponseError> {
        extract_params(&self.method, self.params)
    }
}

/// A response: the result of a request, or its error; never both.
#[derive(Debug, Clone)]
pub struct Response<'a> {
    /// The id of the request this answers; `None` (`null` on the wire) when the request's
    /// id could not be read.
    pub id: Option<RequestId>,
    /// The `result` member as it was on the wire, or the `error` member.
    pub result: Result<&'a RawValue, ResponseError>,
}

/// One JSON-RPC message, borrowing from the line it was read from.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    /// A request (has an id).
    Request(Request<'a>),
    /// A notification (no id).
    Notification(Notification<'a>),
    /// A response to an earlier request.
    Response(Response<'a>),
}

/// A value in a line that is not a valid message, with the error response it earns.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// The id to answer with, if one could be read.
    pub id: Option<RequestId>,
    /// The error to answer with ([`ErrorCode::InvalidRequest`]).
    pub error: ResponseError,
    /// Whether it looks like a response (no `method`, and a `result` or an `error`
    /// member): the peer's answer to one of our requests, malformed. Answering it would
    /// look like an answer to one of the peer's own requests with that id, so
    /// [`serve_frame_with`] hands it to the caller instead, whose call should fail.
    pub response: bool,
}

/// One entry of a line: a message, or what makes it invalid.
pub type Entry<'a> = Result<Message<'a>, Invalid>;

/// One line of input: a single message or a batch.
#[derive(Debug, Clone)]
pub enum Frame<'a> {
    /// A single JSON object.
    Single(Entry<'a>),
    /// A non-empty JSON array of messages.
    Batch(Vec<Entry<'a>>),
}

/// What a handler returns for a request: the result as raw JSON, or an error.
pub type Outcome = Result<Box<RawValue>, ResponseError>;

/// Deserializes `params` (or `null` when absent) into `T`.
fn extract_params<T: DeserializeOwned>(
    method: &str,
    params: Option<&RawValue>,
) -> Result<T, ResponseError> {
    let json = params.map_or("null", RawValue::get);
    serde_json::from_str(json).map_err(|e| ResponseError::invalid_params(method, e))
}

/// Deserializes a member as `Some(raw)` when present, even when it is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// The members of a message object, unvalidated.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

fn invalid(id: Option<RequestId>) -> Invalid {
    Invalid {
        id,
        error: ResponseError::standard(ErrorCode::InvalidRequest),
        response: false,
    }
}

/// A response-shaped entry that is not a valid response, and why.
fn invalid_response(id: Option<RequestId>, why: &str) -> Invalid {
    Invalid {
        id,
        error: ResponseError::new(
            ErrorCode::InvalidRequest,
            format!("Invalid Request: not a valid response: {why}"),
        ),
        response: true,
    }
}

/// Reads one JSON value (already known to be well-formed) as a message.
fn classify(raw: &RawValue) -> Entry<'_> {
    let json = raw.get();
    if !json.starts_with('{') {
        return Err(invalid(None));
    }
    let Ok(env) = serde_json::from_str::<Envelope<'_>>(json) else {
        return Err(invalid(None));
    };
    // The id, when present and readable, goes into any error we answer with.
    let id = match env.id {
        None => None,
        Some(raw) => match serde_json::from_str::<Option<RequestId>>(raw.get()) {
            Ok(id) => Some(id),
            Err(_) => return Err(invalid(None)),
        },
    };
    let response_shaped = env.method.is_none() && (env.result.is_some() || env.error.is_some());
    if env.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        if response_shaped {
            return Err(invalid_response(id.flatten(), "`jsonrpc` must be \"2.0\""));
        }
        return Err(invalid(id.flatten()));
    }
    if let Some(method) = env.method {
        let Ok(method) = serde_json::from_str::<Cow<'_, str>>(method.get()) else {
            return Err(invalid(id.flatten()));
        };
        if env.result.is_some() || env.error.is_some() {
            return Err(invalid(id.flatten()));
        }
        if let Some(params) = env.params
            && !(params.get().starts_with('[') || params.get().starts_with('{'))
        {
            return Err(invalid(id.flatten()));
        }
        return match id {
            None => Ok(Message::Notification(Notification {
                method,
                params: env.params,
            })),
            Some(None) => Err(invalid(None)),
            Some(Some(id)) => Ok(Message::Request(Request {
                id,
                method,
                params: env.params,
            })),
        };
    }
    // No method: a response, which must have an id member (possibly null) and exactly
    // one of result and error.
    let Some(id) = id else {
        if response_shaped {
            return Err(invalid_response(None, "it has no `id`"));
        }
        return Err(invalid(None));
    };
    let result = match (env.result, env.error) {
        (Some(result), None) => Ok(result),
        (None, Some(error)) => match serde_json::from_str::<ResponseError>(error.get()) {
            Ok(error) => Err(error),
            Err(_) => {
                return Err(invalid_response(
                    id,
                    "`error` must be an object with an integer `code` and a string `message`",
                ));
            }
        },
        (Some(_), Some(_)) => {
            return Err(invalid_response(id, "it has both `result` and `error`"));
        }
        (None, None) => return Err(invalid(id)),
    };
    Ok(Message::Response(Response { id, result }))
}

/// Parses one line (without its `\n`) into a [`Frame`].
///
/// # Errors
///
/// The error response to send back (with a `null` id) when the whole line is unusable:
/// [`ErrorCode::ParseError`] for invalid JSON, [`ErrorCode::InvalidRequest`] for an empty
/// batch or one of more than [`MAX_BATCH`] messages. Invalid entries inside a valid line are reported per entry as [`Invalid`].
pub fn parse_frame(line: &[u8]) -> Result<Frame<'_>, ResponseError> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace());
    if start.is_some_and(|i| line[i] == b'[') {
        let items: Vec<&RawValue> = serde_json::from_slice(line)
            .map_err(|_| ResponseError::standard(ErrorCode::ParseError))?;
        if items.is_empty() {
            return Err(ResponseError::standard(ErrorCode::InvalidRequest));
        }
        if items.len() > MAX_BATCH {
            return Err(ResponseError::new(
                ErrorCode::InvalidRequest,
                format!("Invalid Request: a batch may hold at most {MAX_BATCH} messages"),
            ));
        }
        return Ok(Frame::Batch(items.into_iter().map(classify).collect()));
    }
    let raw: &RawValue =
        serde_json::from_slice(line).map_err(|_| ResponseError::standard(ErrorCode::ParseError))?;
    Ok(Frame::Single(classify(raw)))
}

/// Writes `"jsonrpc":"2.0","id":…` (with the opening brace).
#[inline]
fn write_head(out: &mut Vec<u8>, id: Option<&RequestId>) {
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
fn write_str(out: &mut Vec<u8>, text: &str) {
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
fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Writing into a Vec cannot fail, and these types have no fallible Serialize impl.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Serializes `value`, leaving `out` as it was when serialization fails.
fn write_fallible(
    out: &mut Vec<u8>,
    start: usize,
    value: &(impl Serialize + ?Sized),
) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value).inspect_err(|_| out.truncate(start))
}

/// Writes `,"params":…`, leaving the member out when the params serialize to `null`
/// (JSON-RPC params must be an array or an object; `()` means "no params"). Params that
/// serialize to anything else (a number, a string, a boolean) are an error.
fn write_params(
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

/// Appends raw JSON, compacting it if it spans several lines.
fn push_raw(out: &mut Vec<u8>, raw: &RawValue) {
    let json = raw.get();
    if (json.contains('\n') || json.contains('\r'))
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(json)
    {
        write_json(out, &value);
        return;
    }
    out.extend_from_slice(json.as_bytes());
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

/// Answers one line of input.
///
/// Every message in the line is handed to `serve`. For a request, `serve` returns
/// `Some(outcome)`, which becomes its response; for notifications and responses it
/// returns `None`. Invalid input is answered as the JSON-RPC 2.0 specification says: a
/// parse error or an empty batch with one error response, invalid entries with an
/// `Invalid Request` response each, and a batch with an array of all its responses (or
/// nothing at all when it held only notifications).
///
/// Whatever must be sent back is appended to `out` as one line, with its `\n`. Returns
/// whether anything was appended.
pub fn serve_frame<'a>(
    line: &'a [u8],
    out: &mut Vec<u8>,
    serve: impl FnMut(Message<'a>) -> Option<Outcome>,
) -> bool {
    serve_frame_inner(line, out, serve, None)
}

/// Like [`serve_frame`], except that a malformed response that carries an id (an
/// [`Invalid`] entry with [`Invalid::response`] set: say, an `error` that is not an
/// error object, or both `result` and `error`) is not answered but handed to
/// `invalid_response` with its id and the [`ErrorCode::InvalidRequest`] error saying
/// what is wrong, so that the call waiting for that id fails instead of waiting. An
/// answer would go wrong: the peer would take it as the answer to its own request
/// with that id.
pub fn serve_frame_with<'a>(
    line: &'a [u8],
    out: &mut Vec<u8>,
    serve: impl FnMut(Message<'a>) -> Option<Outcome>,
    mut invalid_response: impl FnMut(RequestId, ResponseError),
) -> bool {
    serve_frame_inner(line, out, serve, Some(&mut invalid_response))
}

fn serve_frame_inner<'a>(
    line: &'a [u8],
    out: &mut Vec<u8>,
    mut serve: impl FnMut(Message<'a>) -> Option<Outcome>,
    mut invalid_response: Option<&mut dyn FnMut(RequestId, ResponseError)>,
) -> bool {
    let start = out.len();
    let mut handle = |entry: Entry<'a>, out: &mut Vec<u8>| match (entry, &mut invalid_response) {
        (
            Err(Invalid {
                id: Some(id),
                error,
                response: true,
            }),
            Some(handler),
        ) => {
            handler(id, error);
            false
        }
        (entry, _) => serve_entry(entry, out, &mut serve),
    };
    match parse_frame(line) {
        Err(error) => write_error(out, None, &error),
        Ok(Frame::Single(entry)) => {
            if !handle(entry, out) {
                return false;
            }
        }
        Ok(Frame::Batch(entries)) => {
            out.push(b'[');
            let mut any = false;
            for entry in entries {
                let mark = out.len();
                if any {
                    out.push(b',');
                }
                if handle(entry, out) {
                    any = true;
                } else {
                    out.truncate(mark);
                }
            }
            if !any {
                out.truncate(start);
                return false;
            }
            out.push(b']');
        }
    }
    out.push(b'\n');
    debug_assert!(out.len() > start);
    true
}

/// Serves one entry; returns whether a response was written.
fn serve_entry<'a>(
    entry: Entry<'a>,
    out: &mut Vec<u8>,
    serve: &mut impl FnMut(Message<'a>) -> Option<Outcome>,
) -> bool {
    match entry {
        Err(invalid) => {
            write_error(out, invalid.id.as_ref(), &invalid.error);
            true
        }
        Ok(Message::Request(request)) => {
            let id = request.id.clone();
            let outcome = serve(Message::Request(request))
                .unwrap_or_else(|| Err(ResponseError::internal("the request was not answered")));
            write_outcome(out, &id, &outcome);
            true
        }
        Ok(message) => {
            serve(message);
            false
        }
    }
}

/// Serializes `value` to a boxed [`RawValue`], for building an [`Outcome`].
///
/// # Errors
///
/// An [`ErrorCode::InternalError`] when `value` does not serialize.
pub fn to_raw(value: &(impl Serialize + ?Sized)) -> Result<Box<RawValue>, ResponseError> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| ResponseError::internal(format!("result did not serialize: {e}")))
}

#[cfg(test)]
mod tests;

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
//! - [`attach`] frames raw bytes beside a message's line (the `bulk.*` methods'
//!   packed values, without base64).
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

pub mod attach;
pub mod brp;
mod error;
mod fast;
pub mod lifecycle;
mod params;
mod parse;
mod serve;
mod write;

use std::borrow::Cow;
use std::fmt;

pub use error::{ErrorCode, ResponseError};
pub use fast::{Fast, FastHead, fast_head, fast_message, fast_parse, fast_result, same_bytes};
pub use params::{NotParams, check_params, to_params};
pub use parse::parse_frame;
pub use serve::{serve_frame, serve_frame_with};
pub use write::{
    one_line, write_error, write_notification, write_outcome, write_raw_result, write_request,
    write_result, write_value,
};

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
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id such as `1`.
    Number(i64),
    /// A string id such as `"1"`.
    String(String),
}

/// By hand, not `#[serde(untagged)]`: an untagged enum buffers the value in serde's
/// `Content` first, code every mod would carry just to read an id.
impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Id;
        impl serde::de::Visitor<'_> for Id {
            type Value = RequestId;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(n))
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<RequestId, E> {
                i64::try_from(n)
                    .map(RequestId::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(s.to_owned()))
            }
            fn visit_string<E: serde::de::Error>(self, s: String) -> Result<RequestId, E> {
                Ok(RequestId::String(s))
            }
        }
        deserializer.deserialize_any(Id)
    }
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
    serde_json::from_slice(json.as_bytes()).map_err(|e| ResponseError::invalid_params(method, e))
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

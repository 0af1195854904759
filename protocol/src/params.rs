//! The one check that a message's params are JSON-RPC params: an array, an object, or
//! `null` for none ([`check_params`]), and the params of a message-to-be as raw JSON
//! ([`to_params`]).

use std::fmt;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::{ErrorCode, ResponseError};

/// Params that serialized to something JSON-RPC does not allow as params: a number, a
/// string or a boolean (params are an array or an object, and `null` means none).
///
/// Its message is `params must be a JSON array or an object (or null for none), not
/// <the value's first 40 bytes>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotParams {
    start: String,
}

impl NotParams {
    /// The start of the refused value's JSON (at most 40 bytes), for messages.
    pub fn start(&self) -> &str {
        &self.start
    }
}

impl fmt::Display for NotParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "params must be a JSON array or an object (or null for none), not {}",
            self.start
        )
    }
}

impl std::error::Error for NotParams {}

/// Checks the JSON a message's params serialized to: `Ok(true)` for an array or an
/// object (the `params` member is written), `Ok(false)` for `null` (no params: the
/// member is left out), and [`NotParams`] for anything else.
///
/// Every writer of params uses it: [`write_request`](crate::write_request), [`write_notification`](crate::write_notification),
/// [`to_params`], and the PDK's host calls.
///
/// ```
/// use bevy_wasmi_plugins_protocol::check_params;
///
/// assert_eq!(check_params(b"[1,2]"), Ok(true));
/// assert_eq!(check_params(b"null"), Ok(false));
/// assert_eq!(check_params(b"5").unwrap_err().start(), "5");
/// ```
///
/// # Errors
///
/// [`NotParams`] when `json` is not an array, an object or `null`.
#[inline(never)]
pub fn check_params(json: &[u8]) -> Result<bool, NotParams> {
    match json.first() {
        Some(b'[' | b'{') => Ok(true),
        _ if json == b"null" => Ok(false),
        _ => {
            let mut end = json.len().min(40);
            // Cut at a character boundary (serialized JSON is UTF-8).
            while end < json.len() && (json[end] & 0xC0) == 0x80 {
                end -= 1;
            }
            Err(NotParams {
                start: String::from_utf8_lossy(&json[..end]).into_owned(),
            })
        }
    }
}

/// Serializes a message's params as [`write_request`](crate::write_request) would write them: an array, an
/// object, or `null` for none.
///
/// # Errors
///
/// An [`ErrorCode::InvalidParams`] error when `params` does not serialize, or serializes
/// to something else ([`NotParams`]).
pub fn to_params(params: &(impl Serialize + ?Sized)) -> Result<Box<RawValue>, ResponseError> {
    let raw = serde_json::value::to_raw_value(params).map_err(|e| {
        ResponseError::new(
            ErrorCode::InvalidParams,
            format!("params did not serialize: {e}"),
        )
    })?;
    check_params(raw.get().as_bytes())
        .map_err(|e| ResponseError::new(ErrorCode::InvalidParams, e.to_string()))?;
    Ok(raw)
}

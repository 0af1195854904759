//! [`Error`]: what a handler fails with and what a host call fails with.

use std::fmt;

use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde::Serialize;
use serde_json::value::RawValue;

/// A JSON-RPC error: a code, a message and optional data.
///
/// It is what handlers return when they fail (the host receives it as the response's
/// `error` object) and what [`host::call`](crate::host::call) returns when the host
/// answers with an error (carrying the host's code, message and data).
///
/// `?` converts into it from any error type — [`ResponseError`] keeps its code and data,
/// anything else becomes an `-32603` internal error whose message is the error's
/// `Display` text — and from `String` and `&str`:
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// fn parse(text: &str) -> Result<i64, Error> {
///     if text.is_empty() {
///         return Err("no number given".into());
///     }
///     Ok(text.parse::<i64>()?)
/// }
///
/// assert_eq!(parse("12").unwrap(), 12);
/// assert_eq!(parse("x").unwrap_err().code(), -32603);
/// assert_eq!(parse("").unwrap_err().message(), "no number given");
///
/// // An application error with a code of the mod's own.
/// let error = Error::new(-32050, "failed on purpose");
/// assert_eq!(error.code(), -32050);
/// ```
///
/// `Error` deliberately does not implement [`std::error::Error`]: that is what lets it
/// convert from every error type (the same trade-off `anyhow::Error` makes).
#[derive(Clone, PartialEq)]
pub struct Error(ResponseError);

impl Error {
    /// An error with any code and a message. Application codes belong in -32000..-32099
    /// (the host's own codes are listed in [`ErrorCode`]) or outside the reserved range.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Error(ResponseError {
            code,
            message: message.into(),
            data: None,
        })
    }

    /// An error with one of the protocol's codes and its standard message.
    pub fn standard(code: ErrorCode) -> Self {
        Error(ResponseError::standard(code))
    }

    /// A `-32603` internal error with the `Display` text of `message`.
    pub fn internal(message: impl fmt::Display) -> Self {
        Error(ResponseError::internal(message.to_string()))
    }

    /// A `-32602` invalid-params error with a message.
    pub fn invalid_params(message: impl fmt::Display) -> Self {
        Error(ResponseError::new(
            ErrorCode::InvalidParams,
            message.to_string(),
        ))
    }

    /// A `-32601` error for `method`, with the message `Method not found: <method>`.
    pub fn method_not_found(method: &str) -> Self {
        Error(ResponseError::method_not_found(method))
    }

    /// Attaches `data` (serialized to JSON; left out if it does not serialize).
    #[must_use]
    pub fn with_data(self, data: &impl Serialize) -> Self {
        Error(self.0.with_data(data))
    }

    /// The numeric code.
    pub fn code(&self) -> i32 {
        self.0.code
    }

    /// The code as an [`ErrorCode`], if it is one of the protocol's.
    pub fn error_code(&self) -> Option<ErrorCode> {
        self.0.error_code()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The data, as raw JSON, if any.
    pub fn data(&self) -> Option<&RawValue> {
        self.0.data.as_deref()
    }

    /// The error object as the protocol crate represents it.
    pub fn as_response_error(&self) -> &ResponseError {
        &self.0
    }

    /// Unwraps the error object.
    pub fn into_response_error(self) -> ResponseError {
        self.0
    }
}

impl<E> From<E> for Error
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn from(error: E) -> Self {
        match error.into().downcast::<ResponseError>() {
            Ok(response) => Error(*response),
            Err(other) => Error::internal(other),
        }
    }
}

impl From<Error> for ResponseError {
    fn from(error: Error) -> Self {
        error.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("code", &self.0.code)
            .field("message", &self.0.message);
        if let Some(data) = &self.0.data {
            s.field("data", &data.get());
        }
        s.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_errors_keep_code_and_data() {
        let response = ResponseError::new(ErrorCode::PermissionDenied, "no").with_data(&[1]);
        let error = Error::from(response);
        assert_eq!(error.code(), -32006);
        assert_eq!(error.message(), "no");
        assert_eq!(error.data().map(RawValue::get), Some("[1]"));
    }

    #[test]
    fn other_errors_become_internal() {
        let error: Error = serde_json::from_str::<i64>("x").unwrap_err().into();
        assert_eq!(error.code(), -32603);
        assert!(error.message().contains("expected"), "{error}");
        let error: Error = String::from("owned").into();
        assert_eq!((error.code(), error.message()), (-32603, "owned"));
        let error: Error = "borrowed".into();
        assert_eq!(error.message(), "borrowed");
    }
}

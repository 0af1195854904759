//! The error object of a response, and every error code the project uses.

use super::*;

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
    /// `-23404` (Bevy Remote Protocol): `world.reparent_entities` would make an entity
    /// its own parent.
    SelfReparent,
    /// `-23501` (Bevy Remote Protocol): a resource or message type that is unknown, not
    /// reflectable, or whose value did not deserialize.
    ResourceError,
    /// `-23502` (Bevy Remote Protocol): the resource is not in the world.
    ResourceNotPresent,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 19] = [
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
        ErrorCode::SelfReparent,
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
            ErrorCode::SelfReparent => -23404,
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
            ErrorCode::SelfReparent => "Self reparent",
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

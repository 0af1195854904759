//! Reading a line: [`parse_frame`] turns it into borrowed [`Message`]s, and malformed
//! input into the error object the specification asks for.

use super::*;

/// Deserializes a member as `Some(raw)` when present, even when it is `null`.
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
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

pub(crate) fn invalid(id: Option<RequestId>) -> Invalid {
    Invalid {
        id,
        error: ResponseError::standard(ErrorCode::InvalidRequest),
        response: false,
    }
}

/// A response-shaped entry that is not a valid response, and why.
pub(crate) fn invalid_response(id: Option<RequestId>, why: &str) -> Invalid {
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
pub(crate) fn classify(raw: &RawValue) -> Entry<'_> {
    let json = raw.get();
    if !json.starts_with('{') {
        return Err(invalid(None));
    }
    let Ok(env) = serde_json::from_slice::<Envelope<'_>>(json.as_bytes()) else {
        return Err(invalid(None));
    };
    // The id, when present and readable, goes into any error we answer with.
    let id = match env.id {
        None => None,
        Some(raw) => match serde_json::from_slice::<Option<RequestId>>(raw.get().as_bytes()) {
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
        let Ok(method) = serde_json::from_slice::<Cow<'_, str>>(method.get().as_bytes()) else {
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
        (None, Some(error)) => {
            match serde_json::from_slice::<ResponseError>(error.get().as_bytes()) {
                Ok(error) => Err(error),
                Err(_) => {
                    return Err(invalid_response(
                        id,
                        "`error` must be an object with an integer `code` and a string `message`",
                    ));
                }
            }
        }
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

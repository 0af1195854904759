//! Answering a whole line, batches included, with a handler: [`serve_frame`].

use super::*;

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

pub(crate) fn serve_frame_inner<'a>(
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
pub(crate) fn serve_entry<'a>(
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

//! Calling and notifying the host (the game).
//!
//! [`call`] sends a request and returns a future of the host's answer; [`notify`] sends a
//! notification. Both write the message at once into the mod's output buffer, which is
//! flushed (one write for everything) when every task is waiting; the host answers while
//! the mod waits for input, and the mod resumes.
//!
//! Params must serialize to a JSON array or object (JSON-RPC has no other kind of
//! params), or to `null` — e.g. `&()` — for none.
//!
//! Because the request is sent when `call` is called, not when its future is first
//! polled, several calls made before awaiting any of them are in flight together:
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//!
//! async fn both() -> Result<i64, Error> {
//!     let a = host::call::<i64>("game.double", &[1]);
//!     let b = host::call::<i64>("game.double", &[2]);
//!     // Both requests go out in the same write; the host answers both.
//!     Ok(a.await? + b.await?)
//! }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bevy_wasmi_plugins_protocol::{RequestId, check_params, write_notification, write_request};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runtime::same_bytes;
use crate::runtime::state::{self, CallSlot};
use crate::{Error, Json};

/// Calls `method` on the host with `params` and returns a future of its result,
/// deserialized as `R`.
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// async fn spawn_enemy() -> Result<u64, Error> {
///     let entity: u64 = host::call("game.spawn_enemy", &serde_json::json!({"x": 1.0})).await?;
///     Ok(entity)
/// }
/// ```
///
/// # Errors
///
/// The future resolves to an error when the host answers with one (its code, message and
/// data are kept), when `params` does not serialize to an array, an object or `null`
/// (`-32602`, nothing is sent), or when the result does not deserialize as `R` (`-32603`).
pub fn call<R: DeserializeOwned>(method: &str, params: &(impl Serialize + ?Sized)) -> Call<R> {
    let sent = state::with(|shared| {
        let id = shared.next_id;
        let start = shared.out.len();
        write_head(shared, method)?;
        let member = shared.out.len() - br#","params":"#.len();
        end_message(&mut shared.out, start, member, method, params)?;
        shared.next_id += 1;
        shared.head.next_id();
        shared.calls.insert(id, CallSlot::Waiting(None));
        Ok(id)
    });
    Call {
        state: match sent {
            Ok(id) => CallState::Sent(id),
            Err(error) => CallState::Failed(error),
        },
        result: PhantomData,
    }
}

/// Writes the start of the next request in the protocol's fixed form,
/// `{"jsonrpc":"2.0","id":<id>,"method":<method>,"params":`, from pieces kept from the
/// last call (not generic, so each `call` site stays small).
fn write_head(shared: &mut state::Shared, method: &str) -> serde_json::Result<()> {
    let head = &mut shared.head;
    if head.id.is_empty() {
        write_request(
            &mut head.id,
            &RequestId::Number(shared.next_id),
            "",
            None::<&()>,
        )?;
        head.id.truncate(head.id.len() - br#","method":""}"#.len());
    }
    if head.method_part.is_empty() || !same_bytes(head.method.as_bytes(), method.as_bytes()) {
        head.method_part.clear();
        head.method_part.extend_from_slice(br#","method":"#);
        serde_json::to_writer(&mut head.method_part, method)?;
        head.method_part.extend_from_slice(br#","params":"#);
        head.method.clear();
        head.method.push_str(method);
    }
    shared.out.extend_from_slice(&head.id);
    shared.out.extend_from_slice(&head.method_part);
    Ok(())
}

/// Like [`call`], but the result is kept as raw [`Json`].
///
/// # Errors
///
/// As [`call`], except that any result is accepted.
pub fn call_raw(method: &str, params: &(impl Serialize + ?Sized)) -> Call<Json> {
    call(method, params)
}

/// Sends notification `method` with `params` to the host (no answer comes back).
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// # fn demo() -> Result<(), Error> {
/// host::notify("game.score", &serde_json::json!({"points": 10}))?;
/// host::notify("game.ping", &())?; // no params
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// When `params` does not serialize to an array, an object or `null` (nothing is sent).
pub fn notify(method: &str, params: &(impl Serialize + ?Sized)) -> Result<(), Error> {
    state::with(|shared| {
        let start = shared.out.len();
        write_notification(&mut shared.out, method, None::<&()>)?;
        finish_message(&mut shared.out, start, method, params)
    })
}

/// Replaces the closing `}` of a message written without params by `,"params":…}` and
/// the line's `\n`; `null` params are left out. On error `out` is cut back to `start`.
fn finish_message<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    start: usize,
    method: &str,
    params: &P,
) -> Result<(), Error> {
    out.pop(); // the `}`
    let member = out.len();
    out.extend_from_slice(br#","params":"#);
    end_message(out, start, member, method, params)
}

/// Writes `params` and the closing `}` and `\n` after `out[member..]`, the `,"params":`
/// member name; `null` params are left out (with the member name). On error `out` is cut
/// back to `start`.
fn end_message<P: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    start: usize,
    member: usize,
    method: &str,
    params: &P,
) -> Result<(), Error> {
    let at = out.len();
    if let Err(e) = serde_json::to_writer(&mut *out, params) {
        out.truncate(start);
        return Err(Error::invalid_params(format_args!(
            "params of {method} did not serialize: {e}"
        )));
    }
    match check_params(&out[at..]) {
        Ok(true) => {}
        Ok(false) => out.truncate(member),
        Err(not_params) => {
            let error = Error::invalid_params(format_args!(
                "params of {method} must be a JSON array or object (or null for none), not {}",
                not_params.start()
            ));
            out.truncate(start);
            return Err(error);
        }
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

enum CallState {
    Sent(i64),
    Failed(Error),
    Done,
}

/// The future of a host call's result; see [`call`].
///
/// Dropping it before the answer comes discards the answer.
#[must_use = "the host's answer is lost unless the call is awaited"]
pub struct Call<R> {
    state: CallState,
    result: PhantomData<fn() -> R>,
}

impl<R> Call<R> {
    /// The request id, while the call waits for its answer.
    pub fn id(&self) -> Option<i64> {
        match self.state {
            CallState::Sent(id) => Some(id),
            _ => None,
        }
    }
}

impl<R: DeserializeOwned> Future for Call<R> {
    type Output = Result<R, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = match std::mem::replace(&mut self.state, CallState::Done) {
            CallState::Sent(id) => id,
            CallState::Failed(error) => return Poll::Ready(Err(error)),
            CallState::Done => {
                return Poll::Ready(Err(Error::internal("host call polled after completion")));
            }
        };
        let answer = state::with(|shared| match shared.calls.get_mut(&id) {
            Some(CallSlot::Waiting(waker)) => {
                match waker {
                    Some(waker) if waker.will_wake(cx.waker()) => {}
                    _ => *waker = Some(cx.waker().clone()),
                }
                None
            }
            Some(CallSlot::Answered(_)) => match shared.calls.remove(&id) {
                Some(CallSlot::Answered(answer)) => Some(answer),
                _ => None,
            },
            Some(CallSlot::Abandoned) | None => Some(Err(Error::internal(
                "host call lost its slot",
            )
            .into_response_error())),
        });
        match answer {
            None => {
                self.state = CallState::Sent(id);
                Poll::Pending
            }
            Some(Err(error)) => Poll::Ready(Err(error.into())),
            Some(Ok(mut bytes)) => {
                let result = crate::de::from_slice::<R>(&bytes).map_err(|e| {
                    Error::internal(format_args!(
                        "the host's result did not have the expected type: {e}"
                    ))
                });
                bytes.clear();
                state::with(|shared| shared.spare.push(bytes));
                Poll::Ready(result)
            }
        }
    }
}

impl<R> Drop for Call<R> {
    fn drop(&mut self) {
        if let CallState::Sent(id) = self.state {
            state::try_with(|shared| {
                if let Some(CallSlot::Waiting(_)) = shared.calls.get(&id) {
                    shared.calls.insert(id, CallSlot::Abandoned);
                } else {
                    shared.calls.remove(&id);
                }
            });
        }
    }
}

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

use bevy_wasmi_plugins_protocol::attach::attachment_header;
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
        let before = shared.out.len();
        batch_separator(shared);
        let start = shared.out.len();
        write_head(shared, method)?;
        let member = shared.out.len() - br#","params":"#.len();
        end_message(&mut shared.out, start, member, method, params).inspect_err(|_| {
            shared.out.truncate(before);
        })?;
        batch_member(shared);
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

/// Like [`call`], with the params already JSON text: an object or an array the PDK
/// wrote itself with serde_json (they are not checked again), copied as they are.
pub(crate) fn call_json<R: DeserializeOwned>(method: &str, params: &[u8]) -> Call<R> {
    call_json_attached(method, params, None)
}

/// Like [`call`], with `attachment` sent as the request's
/// [attachment](crate::protocol::attach): raw bytes in front of its line, for the methods
/// that take one (`bulk.mutate_components`' `"attached"`). Await
/// [`Call::with_attachment`] for an answer that comes with one. [`world`](crate::world)'s
/// packed calls use these; a mod rarely needs them itself.
///
/// # Errors
///
/// As [`call`]; also `-32602` when `params` is not an array or an object, or inside
/// [`batch`] (an attachment goes with a request alone on its line); nothing is sent.
pub fn call_with_attachment<R: DeserializeOwned>(
    method: &str,
    params: &(impl Serialize + ?Sized),
    attachment: &[u8],
) -> Call<R> {
    let params = match serde_json::to_vec(params) {
        Ok(text) if matches!(check_params(&text), Ok(true)) => text,
        _ => {
            return Call {
                state: CallState::Failed(Error::invalid_params(format_args!(
                    "params of {method} with an attachment must be a JSON array or object"
                ))),
                result: PhantomData,
            };
        }
    };
    call_json_attached(method, &params, Some(&[attachment]))
}

/// Like [`call_json`], with an [attachment](crate::protocol::attach) in front of the
/// request's line: the concatenation of `attachment`'s pieces. A request with one goes
/// on a line of its own: inside [`batch`] the call fails without being sent.
pub(crate) fn call_json_attached<R: DeserializeOwned>(
    method: &str,
    params: &[u8],
    attachment: Option<&[&[u8]]>,
) -> Call<R> {
    let id = state::with(|shared| {
        let id = shared.next_id;
        let before = shared.out.len();
        if let Some(pieces) = attachment {
            let len = pieces.iter().map(|piece| piece.len()).sum();
            if shared.batch.is_some() {
                return Err("an attachment cannot go with a call in a batch".to_owned());
            }
            let header = attachment_header(len).map_err(|e| e.to_string())?;
            shared.out.extend_from_slice(&header);
            for piece in pieces {
                shared.out.extend_from_slice(piece);
            }
        }
        batch_separator(shared);
        if write_head(shared, method).is_err() {
            shared.out.truncate(before);
            return Err(format!("method name {method} did not serialize"));
        }
        shared.out.extend_from_slice(params);
        shared.out.extend_from_slice(b"}\n");
        batch_member(shared);
        shared.next_id += 1;
        shared.head.next_id();
        shared.calls.insert(id, CallSlot::Waiting(None));
        Ok(id)
    });
    Call {
        state: match id {
            Ok(id) => CallState::Sent(id),
            Err(why) => CallState::Failed(Error::invalid_params(why)),
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
        let before = shared.out.len();
        batch_separator(shared);
        let start = shared.out.len();
        write_notification(&mut shared.out, method, None::<&()>)?;
        finish_message(&mut shared.out, start, method, params).inspect_err(|_| {
            shared.out.truncate(before);
        })?;
        batch_member(shared);
        Ok(())
    })
}

/// Runs `f`, sending every request and notification it makes as one JSON-RPC batch:
/// one array line instead of a line each, which the host serves in one pass and answers
/// with one array line. The calls' futures work as usual: await them after `batch`
/// returns (their requests are sent by then).
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// async fn both() -> Result<i64, Error> {
///     let (a, b) = host::batch(|| {
///         (
///             host::call::<i64>("game.double", &[1]),
///             host::call::<i64>("game.double", &[2]),
///         )
///     });
///     // One line went out: [{"jsonrpc":"2.0","id":1,…},{"jsonrpc":"2.0","id":2,…}]
///     Ok(a.await? + b.await?)
/// }
/// ```
///
/// A batch of one message is sent as a plain line, an empty one not at all, and one of
/// more than [`MAX_BATCH`](crate::protocol::MAX_BATCH) messages as several arrays.
/// Batches nest: an inner `batch` joins the outer one.
pub fn batch<T>(f: impl FnOnce() -> T) -> T {
    let outer = state::with(|shared| {
        let outer = shared.batch.is_some();
        if !outer {
            shared.batch = Some(state::Batch {
                start: shared.out.len(),
                count: 0,
            });
        }
        outer
    });
    // Ends the batch even if `f` panics (the mod then aborts, but a test may go on).
    struct End(bool);
    impl Drop for End {
        fn drop(&mut self) {
            if !self.0 {
                state::try_with(|shared| {
                    if let Some(batch) = shared.batch.take() {
                        close_batch(&mut shared.out, batch);
                    }
                });
            }
        }
    }
    let _end = End(outer);
    f()
}

/// Before a message: the `,` between two messages of a batch, or a new array once the
/// batch holds [`MAX_BATCH`](crate::protocol::MAX_BATCH).
fn batch_separator(shared: &mut state::Shared) {
    if let Some(batch) = &mut shared.batch {
        if batch.count == bevy_wasmi_plugins_protocol::MAX_BATCH {
            close_batch(&mut shared.out, *batch);
            *batch = state::Batch {
                start: shared.out.len(),
                count: 0,
            };
        } else if batch.count > 0 {
            shared.out.push(b',');
        }
    }
}

/// After a message written with its `\n`: in a batch, the `\n` goes and it is counted.
fn batch_member(shared: &mut state::Shared) {
    if let Some(batch) = &mut shared.batch {
        shared.out.pop();
        batch.count += 1;
    }
}

/// Ends a batch's line: `[…]\n` around several messages, a `\n` after one.
fn close_batch(out: &mut Vec<u8>, batch: state::Batch) {
    match batch.count {
        0 => {}
        1 => out.push(b'\n'),
        _ => {
            out.insert(batch.start, b'[');
            out.extend_from_slice(b"]\n");
        }
    }
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

impl<R> Call<R> {
    /// The host's answer, once it has come: the result's bytes as `R`, and the
    /// attachment that came with it.
    fn poll_answer(&mut self, cx: &mut Context<'_>) -> Poll<WithAttachment<R>>
    where
        R: DeserializeOwned,
    {
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
            Some(CallSlot::Answered(..)) => match shared.calls.remove(&id) {
                Some(CallSlot::Answered(answer, attachment)) => Some((answer, attachment)),
                _ => None,
            },
            Some(CallSlot::Abandoned) | None => Some((
                Err(Error::internal("host call lost its slot").into_response_error()),
                None,
            )),
        });
        match answer {
            None => {
                self.state = CallState::Sent(id);
                Poll::Pending
            }
            Some((Err(error), _)) => Poll::Ready(Err(error.into())),
            Some((Ok(bytes), attachment)) => {
                let result = crate::de::from_slice::<R>(&bytes).map_err(|e| {
                    Error::internal(format_args!(
                        "the host's result did not have the expected type: {e}"
                    ))
                });
                state::recycle(bytes);
                Poll::Ready(result.map(|result| (result, attachment)))
            }
        }
    }

    /// This call, resolving to its result and the [attachment](crate::protocol::attach)
    /// that came with it (`None` when the host sent none), for methods that answer
    /// with one (`bulk.query` with `"attach":true`).
    pub fn with_attachment(self) -> Attached<R> {
        Attached(self)
    }
}

impl<R: DeserializeOwned> Future for Call<R> {
    type Output = Result<R, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_answer(cx).map(|answer| {
            answer.map(|(result, attachment)| {
                if let Some(bytes) = attachment {
                    state::recycle(bytes);
                }
                result
            })
        })
    }
}

/// A [`Call`] whose answer may come with an [attachment](crate::protocol::attach): it
/// resolves to the result and the attachment's bytes (`None` when the host sent none).
/// See [`Call::with_attachment`].
#[must_use = "the host's answer is lost unless the call is awaited"]
pub struct Attached<R>(Call<R>);

/// What an [`Attached`] call resolves to: the result and the answer's attachment.
pub type WithAttachment<R> = Result<(R, Option<Vec<u8>>), Error>;

impl<R: DeserializeOwned> Future for Attached<R> {
    type Output = WithAttachment<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.poll_answer(cx)
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

/// A host method of the game, typed: its name, its params type `P` and its result type
/// `R`. A game publishes these as constants in its mod-API crate.
///
/// ```no_run
/// use bevy_wasmi_plugins_pdk::prelude::*;
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// pub struct Hud {
///     pub text: String,
/// }
///
/// pub const GAME_HUD: HostMethod<Hud, ()> = HostMethod::new("game.hud");
/// pub const GAME_TIME_OF_DAY: HostMethod<(), String> = HostMethod::new("game.time_of_day");
///
/// async fn show() -> Result<(), Error> {
///     let time = GAME_TIME_OF_DAY.call(&()).await?;
///     GAME_HUD.call(&Hud { text: format!("good {time}") }).await
/// }
/// ```
pub struct HostMethod<P: ?Sized, R> {
    name: &'static str,
    types: PhantomData<fn(&P) -> R>,
}

impl<P: ?Sized, R> HostMethod<P, R> {
    /// The method called `name`.
    pub const fn new(name: &'static str) -> Self {
        HostMethod {
            name,
            types: PhantomData,
        }
    }

    /// The method's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<P: Serialize + ?Sized, R: DeserializeOwned> HostMethod<P, R> {
    /// Calls the method with `params`, as [`call`] does.
    ///
    /// # Errors
    ///
    /// As [`call`].
    pub fn call(&self, params: &P) -> Call<R> {
        call(self.name, params)
    }
}

impl<P: ?Sized, R> Clone for HostMethod<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P: ?Sized, R> Copy for HostMethod<P, R> {}

impl<P: ?Sized, R> std::fmt::Debug for HostMethod<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostMethod({})", self.name)
    }
}

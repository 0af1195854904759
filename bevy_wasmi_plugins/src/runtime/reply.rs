//! The receiving end of one call's outcome, shared by the runtime's [`CallHandle`] and
//! the Bevy layer's `ModCall`.
//!
//! [`CallHandle`]: super::CallHandle

use std::sync::{Mutex, PoisonError};

use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Where one call's outcome arrives. Once received, the outcome is kept, so polling
/// again gives the same answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// In a mutex only to be `Sync` (handles live in resources and components); it is
    /// never contended.
    state: Mutex<State>,
}

/// Whether the outcome has come.
#[derive(Debug)]
enum State {
    Waiting(oneshot::Receiver<Outcome>),
    Received(Outcome),
}

/// The sending half of a [`Reply`]: completes the call once.
#[derive(Debug)]
pub(crate) struct ReplySender(oneshot::Sender<Outcome>);

impl ReplySender {
    /// Completes the call with `outcome` (nothing happens if its handle is gone).
    pub(crate) fn send(self, outcome: Outcome) {
        let _ = self.0.send(outcome);
    }
}

impl Reply {
    /// A reply and the sender that completes it. A sender dropped without sending
    /// completes it with "the mod was unloaded before it answered" (`-32001`).
    ///
    /// A oneshot channel: one allocation and no listener lists, which matters on the
    /// path of every call.
    pub(crate) fn channel() -> (Self, ReplySender) {
        let (sender, receiver) = oneshot::channel();
        let reply = Reply {
            state: Mutex::new(State::Waiting(receiver)),
        };
        (reply, ReplySender(sender))
    }

    /// The outcome, if the call has completed; the same outcome on every later call.
    pub(crate) fn try_get(&self) -> Option<Outcome> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = match &*state {
            State::Received(outcome) => return Some(outcome.clone()),
            State::Waiting(receiver) => match receiver.try_recv() {
                Ok(outcome) => outcome,
                Err(oneshot::TryRecvError::Empty) => return None,
                Err(oneshot::TryRecvError::Disconnected) => Err(unanswered()),
            },
        };
        *state = State::Received(outcome.clone());
        Some(outcome)
    }

    /// Waits for the outcome.
    pub(crate) async fn wait(self) -> Outcome {
        match self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
        {
            State::Received(outcome) => outcome,
            State::Waiting(receiver) => receiver.await.unwrap_or_else(|_| Err(unanswered())),
        }
    }
}

/// A raw result deserialized into `T`, or `-32603` naming what came instead.
pub(crate) fn typed<T: DeserializeOwned>(raw: &RawValue) -> Result<T, ResponseError> {
    serde_json::from_str(raw.get())
        .map_err(|e| ResponseError::internal(format!("unexpected result {}: {e}", raw.get())))
}

/// `-32001`: the mod went away before it answered.
pub(crate) fn unanswered() -> ResponseError {
    ResponseError::new(
        ErrorCode::ModUnavailable,
        "the mod was unloaded before it answered",
    )
}

//! The receiving end of one call's outcome, shared by the runtime's [`CallHandle`] and
//! the Bevy layer's `ModCall`.
//!
//! [`CallHandle`]: super::CallHandle

use std::sync::{Mutex, OnceLock, PoisonError};

use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Where one call's outcome arrives. Once received, the outcome is kept, so polling
/// again gives the same answer.
#[derive(Debug)]
pub(crate) struct Reply {
    /// In a mutex only to be `Sync` (handles live in resources and components); it is
    /// never contended.
    receiver: Mutex<oneshot::Receiver<Outcome>>,
    outcome: OnceLock<Outcome>,
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
            receiver: Mutex::new(receiver),
            outcome: OnceLock::new(),
        };
        (reply, ReplySender(sender))
    }

    /// The outcome, if the call has completed; the same outcome on every later call.
    pub(crate) fn try_get(&self) -> Option<Outcome> {
        if let Some(outcome) = self.outcome.get() {
            return Some(outcome.clone());
        }
        let received = self
            .receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .try_recv();
        let outcome = match received {
            Ok(outcome) => outcome,
            Err(oneshot::TryRecvError::Empty) => return None,
            Err(oneshot::TryRecvError::Disconnected) => Err(unanswered()),
        };
        Some(self.outcome.get_or_init(|| outcome).clone())
    }

    /// Waits for the outcome.
    pub(crate) async fn wait(self) -> Outcome {
        if let Some(outcome) = self.outcome.into_inner() {
            return outcome;
        }
        let receiver = self
            .receiver
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        receiver.await.unwrap_or_else(|_| Err(unanswered()))
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

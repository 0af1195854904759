//! The receiving end of one call's outcome, shared by the runtime's [`CallHandle`] and
//! the Bevy layer's `ModCall`.
//!
//! [`CallHandle`]: super::CallHandle

use std::sync::OnceLock;

use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Where one call's outcome arrives. Once received, the outcome is kept, so polling
/// again gives the same answer.
#[derive(Debug)]
pub(crate) struct Reply {
    receiver: async_channel::Receiver<Outcome>,
    outcome: OnceLock<Outcome>,
}

impl Reply {
    /// A reply and the sender that completes it. A sender dropped without sending
    /// completes it with "the mod was unloaded before it answered" (`-32001`).
    pub(crate) fn channel() -> (Self, async_channel::Sender<Outcome>) {
        let (sender, receiver) = async_channel::bounded(1);
        let reply = Reply {
            receiver,
            outcome: OnceLock::new(),
        };
        (reply, sender)
    }

    /// The outcome, if the call has completed; the same outcome on every later call.
    pub(crate) fn try_get(&self) -> Option<Outcome> {
        if let Some(outcome) = self.outcome.get() {
            return Some(outcome.clone());
        }
        let outcome = match self.receiver.try_recv() {
            Ok(outcome) => outcome,
            Err(async_channel::TryRecvError::Empty) => return None,
            Err(async_channel::TryRecvError::Closed) => Err(unanswered()),
        };
        Some(self.outcome.get_or_init(|| outcome).clone())
    }

    /// Waits for the outcome.
    pub(crate) async fn wait(self) -> Outcome {
        if let Some(outcome) = self.outcome.into_inner() {
            return outcome;
        }
        self.receiver
            .recv()
            .await
            .unwrap_or_else(|_| Err(unanswered()))
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

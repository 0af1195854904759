//! The game's side of a call into a mod: [`CallHandle`], and [`call_fresh`], the
//! stateless model.

use bevy_wasmi_plugins_protocol::{Outcome, RequestId, ResponseError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ModHost, ModInstance, RunStatus};
use crate::runtime::clock::ClockId;
use crate::runtime::reply::{Reply, ReplySender, typed, unanswered};
use crate::runtime::{ModConfig, ModModule};

/// A call into a mod that completes with its result or an error.
///
/// Poll it with [`CallHandle::try_result`] from a loop or a system, or `.await`
/// [`CallHandle::result`]. A call whose mod crashes, exits or is dropped completes with
/// an error; none waits forever.
#[derive(Debug)]
pub struct CallHandle {
    id: RequestId,
    reply: Reply,
}

impl CallHandle {
    pub(super) fn new(id: RequestId) -> (Self, ReplySender) {
        let (reply, sender) = Reply::channel();
        (CallHandle { id, reply }, sender)
    }

    pub(super) fn failed(id: RequestId, error: ResponseError) -> Self {
        let (handle, sender) = Self::new(id);
        sender.send(Err(error));
        handle
    }

    /// The id of the request on the wire.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// The outcome, if the call has completed; `None` while it has not.
    ///
    /// Once it returns the outcome, every later call returns the same outcome again.
    pub fn try_result(&self) -> Option<Outcome> {
        self.reply.try_get()
    }

    /// The outcome deserialized into `T`, if the call has completed.
    pub fn try_typed<T: DeserializeOwned>(&self) -> Option<Result<T, ResponseError>> {
        self.try_result().map(|outcome| typed(&outcome?))
    }

    /// Waits for the outcome.
    pub async fn result(self) -> Outcome {
        self.reply.wait().await
    }
}

/// Calls `method` on a fresh instance of `module` and drops the instance afterwards:
/// nothing carries over from one call to the next (the stateless model).
///
/// Runs the instance in slices of `fuel` until it answers; its activation fuel cap bounds
/// the work. A mod that sleeps is waited for with `std::thread::sleep`, for at most
/// [`MAX_FRESH_CALL_SLEEP`] in all: a mod that would sleep longer (or on a clock that
/// does not move, such as a [`VirtualClock`](crate::runtime::VirtualClock)) makes the
/// call fail, as a sleeping mod does on the web, where the thread cannot sleep.
pub fn call_fresh<P: Serialize + ?Sized>(
    module: &ModModule,
    config: &ModConfig,
    method: &str,
    params: &P,
    fuel: u64,
    host: &mut dyn ModHost,
) -> Outcome {
    let mut instance = ModInstance::new(module, config).map_err(|e| e.to_response_error())?;
    let handle = instance.call(method, params);
    let mut may_sleep = MAX_FRESH_CALL_SLEEP;
    loop {
        let status = instance.run(fuel, host);
        if let Some(outcome) = handle.try_result() {
            return outcome;
        }
        match status {
            Ok(RunStatus::Yielded) => {}
            Ok(RunStatus::Sleeping { clock, deadline }) => {
                if !wait_until(config, clock, deadline, &mut may_sleep) {
                    return Err(ResponseError::internal(format!(
                        "mod `{}` went to sleep during a fresh-instance call for longer \
                         than it may wait ({} ms in all{})",
                        module.name(),
                        MAX_FRESH_CALL_SLEEP.as_millis(),
                        if cfg!(all(target_arch = "wasm32", target_os = "unknown")) {
                            "; on the web, none"
                        } else {
                            ""
                        }
                    )));
                }
            }
            Ok(RunStatus::Idle) => {
                return Err(ResponseError::internal(format!(
                    "mod `{}` waits for input without answering `{method}`",
                    module.name()
                )));
            }
            // Pending calls were failed; `try_result` above returned the error.
            Ok(RunStatus::Exited(_)) | Err(_) => return Err(unanswered()),
        }
    }
}

/// Most time [`call_fresh`] waits in all for the mod to wake from its sleeps.
pub const MAX_FRESH_CALL_SLEEP: std::time::Duration = std::time::Duration::from_secs(1);

/// Sleeps until `clock` reaches `deadline`, taking the time from `may_sleep`; `false`,
/// without sleeping, when that is not enough or the thread cannot sleep (the web).
fn wait_until(
    config: &ModConfig,
    clock: ClockId,
    deadline: u64,
    may_sleep: &mut std::time::Duration,
) -> bool {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        let now = config.clock.now(clock);
        let wait = std::time::Duration::from_nanos(deadline.saturating_sub(now));
        // A clock that does not move keeps asking for the same wait: the budget runs out.
        let wait = wait.max(std::time::Duration::from_millis(1));
        if wait > *may_sleep {
            return false;
        }
        *may_sleep -= wait;
        std::thread::sleep(wait);
        true
    }
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let _ = (config, clock, deadline, may_sleep);
        false
    }
}

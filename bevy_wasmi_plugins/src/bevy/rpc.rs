//! Game → mod: [`ModRpc`] calls a mod's method or sends it a notification from any
//! system or async task; the answer arrives as a
//! [`ModCallResult`](crate::bevy::calls::ModCallResult) message and through the
//! [`ModCall`] future. What it sends goes through a channel (the crate's mailbox) to the
//! driver, which delivers it in
//! [`WasmiPluginsSystems::Drive`](crate::bevy::plugin::WasmiPluginsSystems::Drive).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::bevy::bevy_prelude::*;
use crate::bevy::calls::{CallDeadline, ModCall, ModCallId, ModTarget};
use crate::bevy::mailbox::{Caller, Directory, Outbound};
use crate::runtime::reply::Reply;
use bevy_wasmi_plugins_protocol::{ResponseError, to_params};
use serde::Serialize;

/// Calls and notifies mods. A cheap handle: clone it into async tasks.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_wasmi_plugins::prelude::*;
/// fn greet(rpc: Res<ModRpc>) {
///     let call = rpc.call("greeter", "greet", &serde_json::json!({ "name": "Ada" }));
///     info!("asked greeter, call {:?}", call.id());
/// }
///
/// fn answers(mut results: MessageReader<ModCallResult>) {
///     for answer in results.read() {
///         info!("{:?} answered {:?}", answer.call, answer.result);
///     }
/// }
/// ```
#[derive(Resource, Clone)]
pub struct ModRpc {
    sender: async_channel::Sender<Outbound>,
    next_id: Arc<AtomicU64>,
    directory: Directory,
}

impl std::fmt::Debug for ModRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModRpc").finish_non_exhaustive()
    }
}

impl ModRpc {
    pub(crate) fn new() -> (Self, async_channel::Receiver<Outbound>) {
        let (sender, receiver) = async_channel::unbounded();
        (
            ModRpc {
                sender,
                next_id: Arc::new(AtomicU64::new(1)),
                directory: Directory::default(),
            },
            receiver,
        )
    }

    /// The directory of live mods, shared with the driver, which keeps it up to date.
    pub(crate) fn directory(&self) -> Directory {
        self.directory.clone()
    }

    /// Calls `method` on the mod with `params` (`&()` for none). It is delivered when
    /// the driver next runs (this frame if the caller runs before
    /// [`WasmiPluginsSystems::Drive`](crate::bevy::plugin::WasmiPluginsSystems::Drive)).
    ///
    /// `params` must serialize to a JSON array, an object, or `null` for none (`&()`).
    ///
    /// A call to a mod that does not exist, crashed, exited or was unloaded, or whose
    /// params do not serialize to one of those (`-32602`), completes at once with an
    /// error (and its [`ModCallResult`](crate::bevy::calls::ModCallResult) is still
    /// sent). A call whose message is longer than the mod's
    /// [`Limits::max_message_size`](crate::runtime::Limits::max_message_size) completes
    /// with `-32004` when the driver delivers it; it is never sent.
    pub fn call<P: Serialize + ?Sized>(
        &self,
        target: impl Into<ModTarget>,
        method: &str,
        params: &P,
    ) -> ModCall {
        self.call_with_deadline(target, method, params, CallDeadline::default())
    }

    /// Calls `method` like [`ModRpc::call`], with a deadline of its own in frames or fuel
    /// (what it leaves `None` is the mod's default; see [`CallDeadline`]). Past it the
    /// call completes with `-32007` and the mod carries on.
    ///
    /// ```
    /// # use bevy::prelude::*;
    /// # use bevy_wasmi_plugins::prelude::*;
    /// fn ask(rpc: Res<ModRpc>) {
    ///     // At most 10 frames and 50 million fuel, whatever the mod's defaults.
    ///     let deadline = CallDeadline::frames(10).and_fuel(50_000_000);
    ///     let _call = rpc.call_with_deadline("greeter", "greet", &(), deadline);
    /// }
    /// # bevy::ecs::system::assert_is_system(ask);
    /// ```
    pub fn call_with_deadline<P: Serialize + ?Sized>(
        &self,
        target: impl Into<ModTarget>,
        method: &str,
        params: &P,
        deadline: CallDeadline,
    ) -> ModCall {
        let target = target.into();
        let id = ModCallId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (receiver, reply) = Reply::channel();
        let prepared = match self.directory.refuse(&target) {
            Some(error) => Err(error),
            None => to_params(params),
        };
        let outbound = match prepared {
            Ok(params) => Outbound::Call {
                caller: Caller {
                    id,
                    method: method.to_owned(),
                    reply,
                    deadline,
                },
                target,
                params,
            },
            Err(error) => {
                reply.send(Err(error.clone()));
                Outbound::Failed {
                    id,
                    target,
                    method: method.to_owned(),
                    error,
                }
            }
        };
        let _ = self.sender.try_send(outbound);
        ModCall::new(id, receiver)
    }

    /// Sends the mod a notification. One longer than the mod's message cap is not sent:
    /// the driver logs a warning with the `-32004` error instead.
    ///
    /// # Errors
    ///
    /// When the mod does not exist or has stopped, or the params do not serialize to an
    /// array, an object or `null` (`-32602`).
    pub fn notify<P: Serialize + ?Sized>(
        &self,
        target: impl Into<ModTarget>,
        method: &str,
        params: &P,
    ) -> Result<(), ResponseError> {
        let target = target.into();
        if let Some(error) = self.directory.refuse(&target) {
            return Err(error);
        }
        let params = to_params(params)?;
        let _ = self.sender.try_send(Outbound::Notify {
            target,
            method: method.to_owned(),
            params,
        });
        Ok(())
    }

    /// Sends `event` as a notification to every running mod that listed it in its
    /// manifest's `events` (not to a mod whose message cap it passes: the driver logs a
    /// warning with the `-32004` error instead).
    ///
    /// # Errors
    ///
    /// When the params do not serialize to an array, an object or `null` (`-32602`).
    pub fn broadcast<P: Serialize + ?Sized>(
        &self,
        event: &str,
        params: &P,
    ) -> Result<(), ResponseError> {
        let params = to_params(params)?;
        let _ = self.sender.try_send(Outbound::Broadcast {
            event: event.to_owned(),
            params,
        });
        Ok(())
    }
}

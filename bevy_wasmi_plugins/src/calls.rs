//! Game → mod: [`ModRpc`] calls a mod's method or sends it a notification from any
//! system or async task; the answer arrives as a [`ModCallResult`] message and through
//! the [`ModCall`] future. Mod → game notifications arrive as [`ModNotification`]s.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::runtime::reply::{Reply, ReplySender, typed};
use bevy::prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// Which mod: its entity or its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModTarget {
    /// The mod's entity.
    Entity(Entity),
    /// The mod's name (its file name without `.wasm`).
    Name(String),
}

impl From<Entity> for ModTarget {
    fn from(entity: Entity) -> Self {
        ModTarget::Entity(entity)
    }
}

impl From<&str> for ModTarget {
    fn from(name: &str) -> Self {
        ModTarget::Name(name.to_owned())
    }
}

impl From<String> for ModTarget {
    fn from(name: String) -> Self {
        ModTarget::Name(name)
    }
}

impl std::fmt::Display for ModTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModTarget::Entity(entity) => write!(f, "mod entity {entity}"),
            ModTarget::Name(name) => write!(f, "mod `{name}`"),
        }
    }
}

/// The id of one game → mod call, to match a [`ModCallResult`] with its call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModCallId(pub u64);

/// A call in flight: `.await` [`ModCall::result`], poll [`ModCall::try_result`], or
/// read the [`ModCallResult`] message with the same [`ModCall::id`].
#[derive(Debug)]
pub struct ModCall {
    id: ModCallId,
    reply: Reply,
}

impl ModCall {
    /// The call's id.
    pub fn id(&self) -> ModCallId {
        self.id
    }

    /// The outcome, if the call has completed; `None` while it has not.
    ///
    /// Once it returns the outcome, every later call returns the same outcome again.
    pub fn try_result(&self) -> Option<Outcome> {
        self.reply.try_get()
    }

    /// Waits for the outcome.
    pub async fn result(self) -> Outcome {
        self.reply.wait().await
    }

    /// Waits for the outcome and deserializes it into `T`.
    ///
    /// # Errors
    ///
    /// The mod's error, or `-32603` when the result is not a `T`.
    pub async fn typed<T: DeserializeOwned>(self) -> Result<T, ResponseError> {
        typed(&self.result().await?)
    }
}

/// The answer to a game → mod call, sent once for every [`ModRpc::call`].
#[derive(Message, Clone, Debug)]
pub struct ModCallResult {
    /// The call it answers.
    pub call: ModCallId,
    /// The mod called, if it was found.
    pub entity: Option<Entity>,
    /// The method called.
    pub method: String,
    /// The result or the error.
    pub result: Result<Arc<RawValue>, ResponseError>,
}

impl ModCallResult {
    /// The result deserialized into `T`.
    ///
    /// # Errors
    ///
    /// The mod's error, or `-32603` when the result is not a `T`.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, ResponseError> {
        typed(self.result.as_ref().map_err(Clone::clone)?)
    }
}

/// A notification a mod sent to the game (`host::notify` in the PDK).
#[derive(Message, Clone, Debug)]
pub struct ModNotification {
    /// The mod that sent it.
    pub entity: Entity,
    /// The mod's name.
    pub name: Arc<str>,
    /// The notification's method.
    pub method: String,
    /// Its params, as sent.
    pub params: Option<Arc<RawValue>>,
}

impl ModNotification {
    /// The params deserialized into `T` (absent params deserialize from `null`).
    ///
    /// # Errors
    ///
    /// serde's error when they are not a `T`.
    pub fn params<T: DeserializeOwned>(&self) -> serde_json::Result<T> {
        serde_json::from_str(self.params.as_deref().map_or("null", RawValue::get))
    }
}

/// Something for the driver to deliver.
pub(crate) enum Outbound {
    Call {
        id: ModCallId,
        target: ModTarget,
        method: String,
        params: Box<RawValue>,
        reply: ReplySender,
    },
    Notify {
        target: ModTarget,
        method: String,
        params: Box<RawValue>,
    },
    Broadcast {
        event: String,
        params: Box<RawValue>,
    },
    /// A call that failed before delivery; reported as a [`ModCallResult`].
    Failed {
        id: ModCallId,
        target: ModTarget,
        method: String,
        error: ResponseError,
    },
}

/// Which mods are alive, by entity and by name; kept by the driver so a call to a mod
/// that is gone fails at once.
#[derive(Default, Debug)]
pub(crate) struct Directory {
    pub(crate) by_entity: HashMap<Entity, (Arc<str>, Option<ResponseError>)>,
    pub(crate) by_name: HashMap<Arc<str>, Entity>,
}

impl Directory {
    /// The error a call to `target` gets at once, if any.
    fn refuse(&self, target: &ModTarget) -> Option<ResponseError> {
        let entity = match target {
            ModTarget::Entity(entity) => *entity,
            ModTarget::Name(name) => match self.by_name.get(name.as_str()) {
                Some(entity) => *entity,
                None => {
                    return Some(ResponseError::new(
                        ErrorCode::ModUnavailable,
                        format!("no mod is named `{name}`"),
                    ));
                }
            },
        };
        match self.by_entity.get(&entity) {
            None => Some(ResponseError::new(
                ErrorCode::ModUnavailable,
                format!("{target} is not a mod (not loaded, or unloaded)"),
            )),
            Some((_, error)) => error.clone(),
        }
    }
}

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
    pub(crate) directory: Arc<RwLock<Directory>>,
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
                directory: Arc::default(),
            },
            receiver,
        )
    }

    fn refuse(&self, target: &ModTarget) -> Option<ResponseError> {
        match self.directory.read() {
            Ok(directory) => directory.refuse(target),
            Err(poisoned) => poisoned.into_inner().refuse(target),
        }
    }

    /// The directory, for the driver to update (a panic elsewhere while it was held
    /// leaves it usable: every update is a single insert or remove).
    pub(crate) fn directory_mut(&self) -> std::sync::RwLockWriteGuard<'_, Directory> {
        self.directory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Calls `method` on the mod with `params` (`&()` for none). It is delivered when
    /// the driver next runs (this frame if the caller runs before
    /// [`WasmiPluginsSystems::Drive`](crate::WasmiPluginsSystems::Drive)).
    ///
    /// `params` must serialize to a JSON array, an object, or `null` for none (`&()`).
    ///
    /// A call to a mod that does not exist, crashed, exited or was unloaded, or whose
    /// params do not serialize to one of those (`-32602`), completes at once with an
    /// error (and its [`ModCallResult`] is still sent). A call whose message is longer
    /// than the mod's [`Limits::max_message_size`](crate::runtime::Limits::max_message_size)
    /// completes with `-32004` when the driver delivers it; it is never sent.
    pub fn call<P: Serialize + ?Sized>(
        &self,
        target: impl Into<ModTarget>,
        method: &str,
        params: &P,
    ) -> ModCall {
        let target = target.into();
        let id = ModCallId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (receiver, reply) = Reply::channel();
        let prepared = match self.refuse(&target) {
            Some(error) => Err(error),
            None => to_params(params),
        };
        let outbound = match prepared {
            Ok(params) => Outbound::Call {
                id,
                target,
                method: method.to_owned(),
                params,
                reply,
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
        ModCall {
            id,
            reply: receiver,
        }
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
        if let Some(error) = self.refuse(&target) {
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

/// The params as JSON: an array, an object, or `null` for none (JSON-RPC allows nothing
/// else on the wire).
fn to_params<P: Serialize + ?Sized>(params: &P) -> Result<Box<RawValue>, ResponseError> {
    let raw = serde_json::value::to_raw_value(params).map_err(|e| {
        ResponseError::new(
            ErrorCode::InvalidParams,
            format!("params did not serialize: {e}"),
        )
    })?;
    let json = raw.get();
    if json.starts_with(['[', '{']) || json == "null" {
        return Ok(raw);
    }
    let shown: String = json.chars().take(40).collect();
    Err(ResponseError::new(
        ErrorCode::InvalidParams,
        format!("params must be a JSON array or an object (or null for none), not {shown}"),
    ))
}

//! The values of calls between game and mods: which mod ([`ModTarget`]), a game → mod
//! call in flight ([`ModCall`], made by [`ModRpc`](crate::bevy::rpc::ModRpc)) and its
//! answer ([`ModCallResult`], a message), and the mod → game [`ModNotification`]
//! message.

use std::sync::Arc;

use crate::bevy::bevy_prelude::*;
use crate::runtime::reply::{Reply, typed};
use bevy_wasmi_plugins_protocol::{Outcome, ResponseError};
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

/// How long one game → mod call may wait for its answer, on top of the mod's defaults
/// (for [`ModRpc::call_with_deadline`](crate::bevy::rpc::ModRpc::call_with_deadline)).
///
/// A call past either deadline completes with `-32007`
/// ([`ErrorCode::DeadlineExceeded`](bevy_wasmi_plugins_protocol::ErrorCode::DeadlineExceeded))
/// and the mod carries on; an answer that comes later is dropped. What is `None` here is
/// the mod's own deadline: its `.meta` file's `call_deadline_frames` /
/// `max_fuel_per_call`, else the plugin's
/// [`call_deadline_frames`](crate::bevy::settings::WasmiPluginsSettings::call_deadline_frames)
/// and [`Limits::max_fuel_per_call`](crate::runtime::Limits::max_fuel_per_call).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallDeadline {
    /// Frames the call may take: runs of the driver, the one that receives the call
    /// included (so 1 means "answer within the frame it is sent in"; 0 counts as 1).
    pub frames: Option<u32>,
    /// Fuel the mod may use, across activations and frames, before it answers.
    pub fuel: Option<u64>,
}

impl CallDeadline {
    /// A deadline of `frames` frames (and the mod's fuel deadline).
    #[must_use]
    pub const fn frames(frames: u32) -> Self {
        CallDeadline {
            frames: Some(frames),
            fuel: None,
        }
    }

    /// A deadline of `fuel` (and the mod's frame deadline).
    #[must_use]
    pub const fn fuel(fuel: u64) -> Self {
        CallDeadline {
            frames: None,
            fuel: Some(fuel),
        }
    }

    /// This deadline with a fuel deadline of `fuel` too.
    #[must_use]
    pub const fn and_fuel(self, fuel: u64) -> Self {
        CallDeadline {
            fuel: Some(fuel),
            ..self
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
    pub(crate) fn new(id: ModCallId, reply: Reply) -> Self {
        ModCall { id, reply }
    }

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

/// The answer to a game → mod call, sent once for every
/// [`ModRpc::call`](crate::bevy::rpc::ModRpc::call).
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

/// A notification a mod sent to the game (`host::notify` in the PDK): a message, and an
/// entity event on the mod's entity, for observers.
#[derive(Message, EntityEvent, Clone, Debug)]
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

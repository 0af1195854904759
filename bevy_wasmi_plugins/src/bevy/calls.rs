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

//! The typed ECS client: the game's components, resources and messages as Rust types,
//! and the [`world`] functions that reach them through the host's
//! `world.*` methods (the Bevy Remote Protocol's).
//!
//! A type is declared once, with its type path, by implementing [`Component`],
//! [`Resource`], [`Message`] or [`Trigger`] (plus `Serialize` and `Deserialize`, in the
//! JSON form of Bevy's reflection serializer). A game publishes such types in a small
//! "mod API" crate that its mods depend on, so no mod spells a type path:
//!
//! ```
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Copy, Debug, Serialize, Deserialize)]
//! pub struct Velocity {
//!     pub x: f32,
//!     pub y: f32,
//! }
//!
//! impl Component for Velocity {
//!     const TYPE_PATH: &'static str = "game::Velocity";
//! }
//! ```
//!
//! Queries name what they fetch as a tuple ([`QueryData`]: components, `Option`s of
//! them, [`Has`] and [`Entity`]) and what they filter by as another ([`QueryFilter`]:
//! [`With`], [`Without`]); see [`world::query`].
//!
//! Everything here is generic: a mod pays in code size only for the types and calls it
//! uses.

mod bundle;
mod commands;
pub(crate) mod query;
mod watch;
pub mod world;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use bundle::Bundle;
pub use query::{Has, QueryData, QueryFilter, With, Without};

/// A Bevy component the game lets mods reach: its type path and its JSON form.
///
/// `TYPE_PATH` is the component's full type path as the game's type registry knows it
/// (Bevy's `TypePath::type_path`, e.g. `"game::Velocity"` or
/// `"bevy_transform::components::transform::Transform"`). The type serializes as Bevy's
/// reflection serializer writes the component; it may leave out fields the mod does not
/// need when it is only read (a write replaces the whole value, or the field at a path).
pub trait Component: Serialize + DeserializeOwned + 'static {
    /// The component's type path.
    const TYPE_PATH: &'static str;
}

/// A Bevy resource the game lets mods reach; see [`Component`] for the parts.
pub trait Resource: Serialize + DeserializeOwned + 'static {
    /// The resource's type path.
    const TYPE_PATH: &'static str;
}

/// A buffered Bevy message (`Message`, read with `MessageReader`) a mod may write with
/// [`world::write_message`].
pub trait Message: Serialize + 'static {
    /// The message's type path.
    const TYPE_PATH: &'static str;
}

/// An observer event (Bevy's `Event`, seen with `On<E>`) a mod may trigger with
/// [`world::trigger_event`].
pub trait Trigger: Serialize + 'static {
    /// The event's type path.
    const TYPE_PATH: &'static str;
}

/// An entity of the game's world: its bits (`Entity::to_bits`), which is how the Bevy
/// Remote Protocol writes entities.
///
/// As query data it fetches the entity of each row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Entity(pub u64);

impl Entity {
    /// The entity's bits.
    pub const fn to_bits(self) -> u64 {
        self.0
    }

    /// The entity of `bits`.
    pub const fn from_bits(bits: u64) -> Self {
        Entity(bits)
    }
}

impl From<u64> for Entity {
    fn from(bits: u64) -> Self {
        Entity(bits)
    }
}

impl From<Entity> for u64 {
    fn from(entity: Entity) -> Self {
        entity.0
    }
}

/// Forgets what the last host lacked (a new run on this thread).
pub(crate) fn reset() {
    commands::reset_bulk();
    world::reset_bulk_query();
}

/// The error of a typed call whose answer does not fit its Rust type: `-32603`, naming
/// the method, the type and serde's account of the field.
pub(crate) fn misfit(method: &str, what: &str, error: impl std::fmt::Display) -> crate::Error {
    crate::Error::internal(format_args!(
        "the answer to {method} did not fit {what}: {error}"
    ))
}

/// Declares [`Component`], [`Resource`], [`Message`] or [`Trigger`] impls, one per line.
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// pub struct Critter { pub radius: f32 }
/// #[derive(Serialize, Deserialize)]
/// pub struct Score(pub u64);
///
/// bevy_wasmi_plugins_pdk::type_paths! {
///     Component for Critter = "game::Critter";
///     Resource for Score = "game::Score";
/// }
/// assert_eq!(<Critter as Component>::TYPE_PATH, "game::Critter");
/// ```
#[macro_export]
macro_rules! type_paths {
    ($($kind:ident for $ty:ty = $path:literal;)*) => {
        $(impl $crate::ecs::$kind for $ty {
            const TYPE_PATH: &'static str = $path;
        })*
    };
}

//! What a mod may do: which host methods it may call and which component, resource and
//! message types it may read or write through the `world.*` methods.
//!
//! The default is safe: a mod may call the host methods the game registered with
//! [`add_host_method`](crate::bevy::host_methods::WasmiPluginsAppExt::add_host_method) (the game wrote
//! them for mods), and nothing of `world.*` until the game grants it: no query (a query
//! must name a component type the mod may read), no spawning (a grant gives a quota of
//! live entities), no despawning (a grant reaches only the entities the mod spawned).
//! A wildcard grant (`Access::All`, or a pattern ending in `*`) never reaches Bevy's own
//! types (type paths starting with `bevy_`): those must be named one by one.

use crate::bevy::bevy_prelude::*;
use bevy_reflect::TypePath;
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde::{Deserialize, Serialize};

/// A set of names: none, all, or a list.
///
/// For host methods a listed name ending in `*` matches every method starting with what
/// comes before it (`"game.*"`); type paths match exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Reflect)]
#[type_path = "bevy_wasmi_plugins::permissions"]
pub enum Access {
    /// Nothing.
    #[default]
    None,
    /// Everything.
    All,
    /// These names.
    Only(Vec<String>),
}

impl Access {
    /// Whether the type with this path is in the set. As [`Access::allows`], except that
    /// Bevy's own types (paths starting with `bevy_`, such as `Time<Virtual>`,
    /// `Window` or `ChildOf`) are reached only by naming them exactly, never by a
    /// wildcard.
    pub fn allows_type(&self, type_path: &str) -> bool {
        match self {
            Access::Only(names) if names.iter().any(|name| name == type_path) => true,
            _ => !type_path.starts_with("bevy_") && self.allows(type_path),
        }
    }

    /// Whether `name` is in the set.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Access::None => false,
            Access::All => true,
            Access::Only(names) => names.iter().any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => pattern == name,
            }),
        }
    }

    fn add(&mut self, name: impl Into<String>) {
        match self {
            Access::All => {}
            Access::None => *self = Access::Only(vec![name.into()]),
            Access::Only(names) => names.push(name.into()),
        }
    }
}

/// What one mod may do. Put it on a mod's entity, in the mod's `.meta` loader settings,
/// or make it the default for every mod with
/// [`WasmiPluginsPlugin::with_default_permissions`](crate::bevy::plugin::WasmiPluginsPlugin::with_default_permissions)
/// (that order: the component wins).
///
/// ```
/// use bevy::prelude::*;
/// use bevy_wasmi_plugins::prelude::*;
///
/// #[derive(Component, Reflect)]
/// #[reflect(Component)]
/// struct Score(u32);
///
/// let permissions = ModPermissions::default()
///     .allow_read::<Transform>()
///     .allow_write::<Score>()
///     .allow_host_methods("game.*");
/// assert!(permissions.may_read("bevy_transform::components::transform::Transform"));
/// assert!(!permissions.may_write("bevy_transform::components::transform::Transform"));
/// ```
#[derive(Component, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Reflect)]
#[reflect(Component)]
#[type_path = "bevy_wasmi_plugins::permissions"]
#[serde(default)]
pub struct ModPermissions {
    /// Host methods the game registered that the mod may call. Default: all of them.
    pub host_methods: Access,
    /// Component and resource types (by type path) the mod may read with `world.query`,
    /// `world.get_components` and `world.get_resources`. Default: none. A type the mod
    /// may write it may also read.
    pub read: Access,
    /// Component and resource types the mod may spawn with, insert, remove, mutate or
    /// replace. Default: none.
    pub write: Access,
    /// Message types the mod may write with `world.write_message`. Default: none.
    pub messages: Access,
    /// Event types the mod may trigger with `world.trigger_event`. Default: none.
    /// (Observing an event with `world.observe+watch` needs [`read`](Self::read) access
    /// to its type instead.)
    pub events: Access,
    /// How many entities spawned by the mod (`world.spawn_entity`) may be alive at
    /// once. Default: 0, no spawning.
    pub spawn: u32,
    /// Whether the mod may despawn entities (`world.despawn_entity`): only ones it
    /// spawned itself, and whose descendants it spawned too. Default: no.
    pub despawn: bool,
    /// Resource types the mod may remove with `world.remove_resources`. Default: none.
    /// Write access is not enough: a game system that reads a resource fails (by
    /// default, panics) once it is gone, so removing one is granted on its own.
    pub remove_resources: Access,
}

impl Default for ModPermissions {
    fn default() -> Self {
        ModPermissions {
            host_methods: Access::All,
            read: Access::None,
            write: Access::None,
            messages: Access::None,
            events: Access::None,
            spawn: 0,
            despawn: false,
            remove_resources: Access::None,
        }
    }
}

impl ModPermissions {
    /// Nothing at all, not even the game's host methods.
    #[must_use]
    pub fn none() -> Self {
        ModPermissions {
            host_methods: Access::None,
            ..ModPermissions::default()
        }
    }

    /// Everything a grant can give: every host method, every type of the game's (Bevy's
    /// own types still only by name, see [`Access::allows_type`]), spawning without a
    /// quota, and despawning what the mod spawned.
    #[must_use]
    pub fn trusted() -> Self {
        ModPermissions {
            host_methods: Access::All,
            read: Access::All,
            write: Access::All,
            messages: Access::All,
            events: Access::All,
            spawn: u32::MAX,
            despawn: true,
            remove_resources: Access::All,
        }
    }

    /// Allows the host methods matching `pattern` (`"game.spawn"`, or `"game.*"`); the
    /// first call replaces the default "all".
    #[must_use]
    pub fn allow_host_methods(mut self, pattern: impl Into<String>) -> Self {
        if self.host_methods == Access::All {
            self.host_methods = Access::None;
        }
        self.host_methods.add(pattern);
        self
    }

    /// Allows reading component or resource `T`.
    #[must_use]
    pub fn allow_read<T: TypePath>(self) -> Self {
        self.allow_read_path(T::type_path())
    }

    /// Allows reading the component or resource with this type path.
    #[must_use]
    pub fn allow_read_path(mut self, type_path: impl Into<String>) -> Self {
        self.read.add(type_path);
        self
    }

    /// Allows reading every component and resource.
    #[must_use]
    pub fn allow_read_all(mut self) -> Self {
        self.read = Access::All;
        self
    }

    /// Allows writing (and reading) component or resource `T`.
    #[must_use]
    pub fn allow_write<T: TypePath>(self) -> Self {
        self.allow_write_path(T::type_path())
    }

    /// Allows writing (and reading) the component or resource with this type path.
    #[must_use]
    pub fn allow_write_path(mut self, type_path: impl Into<String>) -> Self {
        self.write.add(type_path);
        self
    }

    /// Allows writing message `M`.
    #[must_use]
    pub fn allow_message<M: TypePath>(mut self) -> Self {
        self.messages.add(M::type_path());
        self
    }

    /// Allows triggering event `E` (`world.trigger_event`).
    #[must_use]
    pub fn allow_event<E: TypePath>(mut self) -> Self {
        self.events.add(E::type_path());
        self
    }

    /// Allows spawning entities, at most `quota` of them alive at once.
    #[must_use]
    pub fn allow_spawn(mut self, quota: u32) -> Self {
        self.spawn = quota;
        self
    }

    /// Allows despawning the entities the mod spawned.
    #[must_use]
    pub fn allow_despawn(mut self) -> Self {
        self.despawn = true;
        self
    }

    /// Allows removing the resource `R` with `world.remove_resources` (it needs write
    /// access to `R` too).
    #[must_use]
    pub fn allow_remove_resource<R: TypePath>(mut self) -> Self {
        self.remove_resources.add(R::type_path());
        self
    }

    /// Whether the mod may call the game's host method `method`.
    pub fn may_call(&self, method: &str) -> bool {
        self.host_methods.allows(method)
    }

    /// Whether the mod may read the type with this path.
    pub fn may_read(&self, type_path: &str) -> bool {
        self.read.allows_type(type_path) || self.write.allows_type(type_path)
    }

    /// Whether the mod may write the type with this path.
    pub fn may_write(&self, type_path: &str) -> bool {
        self.write.allows_type(type_path)
    }

    /// Whether the mod may trigger the event type with this path.
    pub fn may_trigger(&self, type_path: &str) -> bool {
        self.events.allows_type(type_path)
    }

    /// Whether the mod may remove the resource type with this path: it needs write
    /// access and [`remove_resources`](Self::remove_resources).
    pub fn may_remove_resource(&self, type_path: &str) -> bool {
        self.may_write(type_path) && self.remove_resources.allows_type(type_path)
    }

    /// Whether the mod may write the message type with this path.
    pub fn may_write_message(&self, type_path: &str) -> bool {
        self.messages.allows_type(type_path)
    }
}

/// The `-32006` error for something a mod may not do.
pub(crate) fn denied(mod_name: &str, what: impl std::fmt::Display) -> ResponseError {
    ResponseError::new(
        ErrorCode::PermissionDenied,
        format!("Permission denied: mod `{mod_name}` may not {what}"),
    )
}

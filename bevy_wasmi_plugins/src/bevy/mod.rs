//! The Bevy layer (cargo feature `bevy`): the runtime's mods as entities of a Bevy game.
//!
//! - [`plugin`]: [`WasmiPluginsPlugin`](plugin::WasmiPluginsPlugin), its builder and the
//!   ordered [`WasmiPluginsSystems`](plugin::WasmiPluginsSystems); the one place that
//!   wires the layer together.
//! - [`settings`]: the runtime-tunable [`WasmiPluginsSettings`](settings::WasmiPluginsSettings)
//!   and the [`RestartPolicy`](settings::RestartPolicy).
//! - [`source`]: where mods come from by themselves (a folder, a `.modlist`).
//! - [`asset`]: `.wasm` files as assets holding the compiled module; `.meta` settings.
//! - [`mods`]: a mod is an entity with [`WasmMod`](mods::WasmMod); its
//!   [`ModStatus`](mods::ModStatus), [`ModInfo`](mods::ModInfo) and status messages.
//! - [`rpc`] and [`calls`]: game → mod calls, notifications and events, their answers,
//!   and the mods' notifications to the game.
//! - [`host_methods`]: mod → game calls answered by Bevy systems.
//! - [`ecs_methods`]: the Bevy Remote Protocol's `world.*` methods, on reflection.
//! - [`permissions`]: what each mod may call, read and write.
//!
//! Inside, the crate-private `mailbox` is what `ModRpc` and the driver share, and the
//! `driver` (one exclusive system) runs the mods, one file per job.

pub mod asset;
pub mod calls;
pub mod ecs_methods;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod host_methods;
pub mod mods;
pub mod permissions;
pub mod plugin;
pub mod rpc;
pub mod settings;
pub mod source;

mod driver;
mod mailbox;
mod watch;

/// The preludes of the Bevy crates this layer is built on, in one import for its files.
/// The crate depends on Bevy's sub-crates, not on `bevy`, so a game's own choice of
/// `bevy` features is not widened by this crate.
mod bevy_prelude {
    pub(crate) use bevy_app::prelude::*;
    pub(crate) use bevy_asset::prelude::*;
    pub(crate) use bevy_ecs::prelude::*;
    pub(crate) use bevy_log::prelude::*;
    pub(crate) use bevy_reflect::prelude::*;
}

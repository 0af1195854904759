//! Sandboxed WebAssembly mods for Bevy games, run on [wasmi](https://github.com/wasmi-labs/wasmi).
//!
//! Mods are `wasm32-wasip1` programs that talk JSON-RPC 2.0 with the game over their
//! stdin and stdout (stderr is their log). wasmi is an interpreter written in Rust, so
//! the same mods run natively, on platforms without a JIT, and inside a browser build of
//! the game; fuel metering pauses a mod at any instruction and resumes it later, so a mod
//! cannot freeze the game, and memory and output caps keep it from exhausting the host.
//!
//! This crate is built in layers:
//!
//! - [`protocol`]: the wire protocol (re-exported from `bevy_wasmi_plugins_protocol`,
//!   which the PDK shares).
//! - [`runtime`]: wasmi, WASI preview 1 over in-memory pipes, fuel-sliced persistent
//!   instances, limits, and the JSON-RPC session with each mod. No Bevy: a plain loop can
//!   drive it.
//! - [`bevy`] (cargo feature `bevy`, on by default): the Bevy layer —
//!   [`WasmiPluginsPlugin`](crate::bevy::plugin::WasmiPluginsPlugin), `.wasm` assets
//!   ([`asset`](crate::bevy::asset)), mods as entities ([`mods`](crate::bevy::mods)), one
//!   exclusive driver system, host methods as Bevy systems
//!   ([`host_methods`](crate::bevy::host_methods)), the Bevy Remote Protocol's `world.*`
//!   methods ([`ecs_methods`](crate::bevy::ecs_methods)) behind
//!   [`ModPermissions`](crate::bevy::permissions::ModPermissions), game → mod calls
//!   ([`rpc`](crate::bevy::rpc), [`calls`](crate::bevy::calls)), hot reload and restarts.
//! - [`prelude`]: what a game names.
//!
//! `ARCHITECTURE.md` in the repository maps every file and follows one call each way.
//!
//! ```no_run
//! use bevy::prelude::*;
//! use bevy_wasmi_plugins::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Say { text: String }
//!
//! fn say(In(p): In<Say>, calling: Res<CallingMod>) -> Result<(), HostError> {
//!     info!("{} says {}", calling.name, p.text);
//!     Ok(())
//! }
//!
//! App::new()
//!     .add_plugins((MinimalPlugins, AssetPlugin::default(), WasmiPluginsPlugin::default()))
//!     .add_host_method("game.say", say)
//!     .run();
//! ```
//!
//! Mods are written with the `bevy_wasmi_plugins_pdk` crate; the `wasmi-mod` command-line
//! tool runs and calls them outside a game.
#![warn(missing_docs)]

pub use bevy_wasmi_plugins_protocol as protocol;

pub mod runtime;

#[cfg(feature = "bevy")]
pub mod bevy;

/// What a game names in `main` and in its systems: the plugin, its settings and
/// system sets, mods as entities and assets, calls both ways, permissions, and the
/// runtime types a game meets there ([`Limits`](crate::runtime::Limits) for
/// `with_limits`, [`ModError`](crate::runtime::ModError) and its
/// [`ModErrorKind`](crate::runtime::ModErrorKind) in a crashed mod's status).
/// Runtime internals (`ModInstance`, `ModHost`, …) are in [`runtime`].
pub mod prelude {
    pub use crate::runtime::{Limits, ModError, ModErrorKind};

    #[cfg(feature = "bevy")]
    pub use crate::bevy::{
        asset::{WasmModAsset, WasmModSettings},
        calls::{CallDeadline, ModCall, ModCallId, ModCallResult, ModNotification, ModTarget},
        host_methods::{CallingMod, HostError, WasmiPluginsAppExt},
        mods::{ModFuel, ModInfo, ModStatus, ModStatusChanged, WasmMod},
        permissions::{Access, ModPermissions},
        plugin::{WasmiPluginsPlugin, WasmiPluginsSystems},
        rpc::ModRpc,
        settings::{RestartPolicy, WasmiPluginsSettings},
        source::ModSource,
    };
}

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
//! - The Bevy layer (cargo feature `bevy`, on by default): [`WasmiPluginsPlugin`], `.wasm`
//!   assets ([`asset`]), mods as entities ([`mods`]), one exclusive driver system, host
//!   methods as Bevy systems ([`WasmiPluginsAppExt::add_host_method`]), the Bevy Remote
//!   Protocol's `world.*` methods ([`ecs_methods`]) behind [`ModPermissions`], game → mod
//!   calls and messages ([`calls`]), hot reload and restarts.
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
pub mod asset;
#[cfg(feature = "bevy")]
pub mod calls;
#[cfg(feature = "bevy")]
mod driver;
#[cfg(feature = "bevy")]
pub mod ecs_methods;
#[cfg(feature = "bevy")]
mod host_methods;
#[cfg(feature = "bevy")]
pub mod mods;
#[cfg(feature = "bevy")]
mod permissions;
#[cfg(feature = "bevy")]
mod plugin;

#[cfg(feature = "bevy")]
pub use driver::RestartPolicy;
#[cfg(feature = "bevy")]
pub use host_methods::{CallingMod, HostError, HostMethodOutput, WasmiPluginsAppExt};
#[cfg(feature = "bevy")]
pub use permissions::{Access, ModPermissions};
#[cfg(feature = "bevy")]
pub use plugin::{ModSource, WasmiPluginsPlugin, WasmiPluginsSettings, WasmiPluginsSystems};

/// What a user names most often.
pub mod prelude {
    pub use crate::runtime::{
        CallHandle, Limits, ModConfig, ModError, ModHost, ModInstance, ModModule, RunStatus,
        Runtime,
    };

    #[cfg(feature = "bevy")]
    pub use crate::{
        CallingMod, HostError, ModPermissions, ModSource, RestartPolicy, WasmiPluginsAppExt,
        WasmiPluginsPlugin, WasmiPluginsSettings, WasmiPluginsSystems,
        asset::{WasmModAsset, WasmModSettings},
        calls::{ModCall, ModCallId, ModCallResult, ModNotification, ModRpc, ModTarget},
        mods::{ModInfo, ModStatus, ModStatusChanged, WasmMod},
    };
}

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
//!
//! Mods are written with the `bevy_wasmi_plugins_pdk` crate; the `wasmi-mod` command-line
//! tool runs and calls them outside a game.
#![warn(missing_docs)]

pub use bevy_wasmi_plugins_protocol as protocol;

pub mod runtime;

/// What a user names most often.
pub mod prelude {
    pub use crate::runtime::{
        CallHandle, Limits, ModConfig, ModError, ModHost, ModInstance, ModModule, RunStatus,
        Runtime,
    };
}

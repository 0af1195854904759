//! This package holds the examples of `bevy_wasmi_plugins` and their tests. Start with
//! `cargo run --example modding`, and read `examples/README.md`.
//!
//! What the examples share lives here: where their mods are.

use std::path::PathBuf;

use bevy::asset::AssetPlugin;

/// The folder the examples' mods are in: the repository's `assets/`, wherever the
/// example is run from.
pub fn assets_folder() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
}

/// Bevy's `AssetPlugin` reading [`assets_folder`], with Bevy's other defaults.
pub fn asset_plugin() -> AssetPlugin {
    AssetPlugin {
        file_path: assets_folder().to_string_lossy().into_owned(),
        ..AssetPlugin::default()
    }
}

//! `.wasm` mods as Bevy assets: [`WasmModAsset`] holds the compiled module, and
//! [`WasmModLoader`] compiles and checks it, with per-mod [`WasmModSettings`] from a
//! `.meta` file. Also the `.modlist` index that lists a folder's mods where a folder
//! cannot be listed (the web).

use crate::bevy::bevy_prelude::*;
use bevy_asset::io::Reader;
use bevy_asset::{AssetLoader, LoadContext};
use serde::{Deserialize, Serialize};

use crate::bevy::permissions::ModPermissions;
use crate::runtime::{ModError, ModModule, Runtime};

/// A compiled mod: what `asset_server.load("mods/x.wasm")` gives.
#[derive(Asset, TypePath, Clone, Debug)]
#[type_path = "bevy_wasmi_plugins::asset"]
pub struct WasmModAsset {
    module: ModModule,
    settings: WasmModSettings,
}

impl WasmModAsset {
    /// A mod from a module compiled by the game itself, for a mod that is not a file:
    /// one built into the game's binary, or downloaded by the game. Add it to
    /// `Assets<WasmModAsset>` and spawn a [`WasmMod`](crate::bevy::mods::WasmMod) with
    /// the handle; the mod is named after the module. `settings` stand for its `.meta`
    /// file.
    ///
    /// ```
    /// use bevy::prelude::*;
    /// use bevy_wasmi_plugins::prelude::*;
    /// use bevy_wasmi_plugins::runtime::Runtime;
    ///
    /// const BUILT_IN: &[u8] = include_bytes!("../../tests/mods/echo.wasm");
    ///
    /// fn add_built_in_mod(mut commands: Commands, mut mods: ResMut<Assets<WasmModAsset>>) {
    ///     match Runtime::new().compile("built_in", BUILT_IN) {
    ///         Ok(module) => {
    ///             let asset = WasmModAsset::new(module, WasmModSettings::default());
    ///             commands.spawn(WasmMod::new(mods.add(asset)));
    ///         }
    ///         Err(error) => error!("{error}"),
    ///     }
    /// }
    /// # App::new().add_systems(Startup, add_built_in_mod);
    /// ```
    pub fn new(module: ModModule, settings: WasmModSettings) -> Self {
        WasmModAsset { module, settings }
    }

    /// The compiled module; its name is the file name without `.wasm`.
    pub fn module(&self) -> &ModModule {
        &self.module
    }

    /// The settings it was loaded with.
    pub fn settings(&self) -> &WasmModSettings {
        &self.settings
    }
}

/// Per-mod settings, set in the mod's `.meta` file (`mods/x.wasm.meta`); what is left
/// out comes from the plugin's defaults.
///
/// ```ron
/// (
///     meta_format_version: "1.0",
///     asset: Load(
///         loader: "bevy_wasmi_plugins::asset::WasmModLoader",
///         settings: (
///             fuel_per_frame: Some(200000),
///             max_memory: Some(8388608),
///             permissions: Some((read: All)),
///         ),
///     ),
/// )
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WasmModSettings {
    /// Fuel the mod may use per frame.
    pub fuel_per_frame: Option<u64>,
    /// Most linear memory, in bytes.
    pub max_memory: Option<usize>,
    /// Most fuel without waiting for input (see
    /// [`Limits::max_fuel_per_activation`](crate::runtime::Limits::max_fuel_per_activation)).
    pub max_fuel_per_activation: Option<u64>,
    /// What the mod may do; a [`ModPermissions`] component on the mod's entity wins.
    pub permissions: Option<ModPermissions>,
    /// Frames a game → mod call may wait for its answer (see
    /// [`WasmiPluginsSettings::call_deadline_frames`](crate::bevy::settings::WasmiPluginsSettings::call_deadline_frames)).
    pub call_deadline_frames: Option<u32>,
    /// Fuel the mod may use before it answers a call (see
    /// [`Limits::max_fuel_per_call`](crate::runtime::Limits::max_fuel_per_call)).
    pub max_fuel_per_call: Option<u64>,
}

/// Compiles `.wasm` files into [`WasmModAsset`]s with the plugin's [`Runtime`] (its
/// configuration and [`Compilation`](crate::runtime::Compilation) mode; each module it
/// compiles gets a wasmi engine of its own).
/// Its type path, `bevy_wasmi_plugins::asset::WasmModLoader`, is what `.meta` files name
/// (`loader:`); it stays the same wherever the type lives.
#[derive(TypePath)]
#[type_path = "bevy_wasmi_plugins::asset"]
pub struct WasmModLoader {
    pub(crate) runtime: Runtime,
}

/// Why a `.wasm` file did not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WasmModLoaderError {
    /// The file could not be read.
    #[error("could not read mod `{path}`: {source}")]
    Io {
        /// The asset path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a usable mod (not WebAssembly, a foreign import, no `_start`…).
    #[error(transparent)]
    Mod(#[from] ModError),
}

impl AssetLoader for WasmModLoader {
    type Asset = WasmModAsset;
    type Settings = WasmModSettings;
    type Error = WasmModLoaderError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        settings: &WasmModSettings,
        load_context: &mut LoadContext<'_>,
    ) -> Result<WasmModAsset, WasmModLoaderError> {
        let path = load_context.path().to_string();
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|source| WasmModLoaderError::Io {
                path: path.clone(),
                source,
            })?;
        let name = mod_name(&path);
        let module = self.runtime.compile(&name, &bytes)?;
        Ok(WasmModAsset::new(module, settings.clone()))
    }

    fn extensions(&self) -> &[&str] {
        &["wasm"]
    }
}

/// A mod's name from its asset path: the file name without `.wasm`.
pub(crate) fn mod_name(path: &str) -> String {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    file.strip_suffix(".wasm").unwrap_or(file).to_owned()
}

/// A list of mod files, one asset path per line relative to the list's folder (blank
/// lines and lines starting with `#` are skipped): `mods/index.modlist`. The web cannot
/// list a folder, so there the plugin loads the mods this file names.
#[derive(Asset, TypePath, Clone, Debug, Default)]
#[type_path = "bevy_wasmi_plugins::asset"]
pub struct ModList {
    /// The asset paths of the mods, relative to the asset root.
    pub paths: Vec<String>,
}

/// Loads [`ModList`]s (`.modlist` files).
#[derive(TypePath, Default)]
#[type_path = "bevy_wasmi_plugins::asset"]
pub struct ModListLoader;

/// Why a `.modlist` did not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModListLoaderError {
    /// The file could not be read.
    #[error("could not read the mod list: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not UTF-8.
    #[error("the mod list is not UTF-8 text: {0}")]
    Utf8(#[from] std::string::FromUtf8Error),
}

impl AssetLoader for ModListLoader {
    type Asset = ModList;
    type Settings = ();
    type Error = ModListLoaderError;

    async fn load(
        &self,
        reader: &mut dyn Reader,
        _settings: &(),
        load_context: &mut LoadContext<'_>,
    ) -> Result<ModList, ModListLoaderError> {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).await?;
        let text = String::from_utf8(bytes)?;
        let path = load_context.path().to_string();
        let folder = path.rsplit_once('/').map_or("", |(folder, _)| folder);
        let paths = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                if folder.is_empty() {
                    line.to_owned()
                } else {
                    format!("{folder}/{line}")
                }
            })
            .collect();
        Ok(ModList { paths })
    }

    fn extensions(&self) -> &[&str] {
        &["modlist"]
    }
}

#[cfg(test)]
mod tests {
    // Under Node (`scripts/web-test.sh`) these run through wasm-bindgen-test.
    use super::mod_name;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn a_mod_is_named_after_its_file() {
        assert_eq!(mod_name("mods/greeter.wasm"), "greeter");
        assert_eq!(mod_name("greeter.wasm"), "greeter");
        assert_eq!(mod_name("a\\b\\c.wasm"), "c");
    }
}

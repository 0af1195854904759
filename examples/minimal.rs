//! The smallest game with mods: add `WasmiPluginsPlugin::default()` and every `.wasm` in
//! `assets/mods/` is loaded and started by itself.
//!
//! That is all a game must write: `App`, Bevy's `AssetPlugin` (here inside the headless
//! `MinimalPlugins` set; in a windowed game it is part of `DefaultPlugins`) and the
//! plugin. Each mod becomes an entity with a `ModStatus`, and once it has answered
//! `plugin.init`, a `ModInfo` saying what it is. This example prints each mod's name,
//! version and methods when it is ready (or its error if it could not start), then exits.
//!
//! It loads the whole folder on purpose, since that is the default; whatever mods are
//! there, it only starts them and never calls them, so none of them does any work. A mod
//! whose start fails, say because it calls a host method this game does not have, is
//! printed as crashed and the others carry on. To load only some mods, use
//! `.with_mod_source(ModSource::None)` and spawn `WasmMod::new(assets.load("mods/x.wasm"))`
//! entities yourself, as the `fuel_budget` example does.
//!
//! ```sh
//! cargo run --example minimal
//! ```

use std::time::Duration;

use bevy::app::{AppExit, ScheduleRunnerPlugin};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

fn main() -> AppExit {
    App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(16))),
            LogPlugin::default(),
            // The repository's `assets/` folder, wherever this is run from.
            AssetPlugin::default(),
            // Loads and starts every mod in `assets/mods/`.
            WasmiPluginsPlugin::default(),
        ))
        .add_systems(Update, report.after(WasmiPluginsSystems::Drive))
        .run()
}

/// Prints each mod once it has started or failed, and exits when no mod is still
/// loading or starting.
fn report(
    started: Query<&ModInfo, Added<ModInfo>>,
    mods: Query<(&ModStatus, Option<&Name>), With<WasmMod>>,
    mut changes: MessageReader<ModStatusChanged>,
    time: Res<Time<Real>>,
    mut exit: MessageWriter<AppExit>,
) {
    // `ModInfo` is added when the mod has answered `plugin.init` with its manifest.
    for info in &started {
        println!(
            "{} {}: methods {:?}, events {:?}",
            info.name,
            info.version.as_deref().unwrap_or("(no version)"),
            info.methods,
            info.events,
        );
    }
    for change in changes.read() {
        if !change.status.is_alive() {
            println!("{}: {}", change.name, change.status);
        }
    }
    // The mod entities appear once the folder has been listed, all in the same frame.
    let settled = !mods.is_empty() && mods.iter().all(|(status, _)| !starting(status));
    if settled {
        println!("{} mod(s) in assets/mods", mods.iter().len());
        exit.write(AppExit::Success);
    } else if time.elapsed() > Duration::from_secs(10) {
        if mods.is_empty() {
            println!("no mods found in assets/mods");
        }
        for (status, name) in &mods {
            let name = name.map_or("a mod", Name::as_str);
            println!("{name}: still {status} after 10 s");
        }
        exit.write(AppExit::Success);
    }
}

/// Whether a mod has not finished starting yet.
fn starting(status: &ModStatus) -> bool {
    matches!(status, ModStatus::Loading | ModStatus::Starting)
}

//! A headless Bevy app with one mod: `assets/mods/greeter.wasm` (from
//! `examples/mods/greeter`).
//!
//! - The game's host method `game.time_of_day` is a Bevy system reading a resource.
//! - The game calls the mod's `greet` from a system; the answer arrives as a
//!   `ModCallResult` message.
//! - The mod's notification `greeter.greeted` arrives as a `ModNotification`, and its
//!   log lines go to Bevy's log with the mod's name as target.
//!
//! ```sh
//! cargo run --example host_methods
//! ```

use std::time::Duration;

use bevy::app::{AppExit, ScheduleRunnerPlugin};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

#[derive(Resource)]
struct Clock {
    hour: u32,
}

/// The host method: mods call it as `game.time_of_day` with no params.
fn time_of_day(In(()): In<()>, clock: Res<Clock>) -> Result<&'static str, HostError> {
    Ok(match clock.hour {
        5..=11 => "morning",
        12..=17 => "afternoon",
        _ => "evening",
    })
}

fn spawn_greeter(mut commands: Commands, assets: Res<AssetServer>) {
    commands.spawn(WasmMod::new(assets.load("mods/greeter.wasm")));
}

/// Greets Ada once the greeter has started.
fn greet_when_ready(
    rpc: Res<ModRpc>,
    mut changes: MessageReader<ModStatusChanged>,
    mut asked: Local<bool>,
) {
    for change in changes.read() {
        info!("mod `{}` is {}", change.name, change.status);
        if !*asked && change.status.is_ready() {
            *asked = true;
            rpc.call(
                change.entity,
                "greet",
                &serde_json::json!({ "name": "Ada" }),
            );
        }
    }
}

/// Prints what the mod answered and notified, then stops.
fn report(
    mut results: MessageReader<ModCallResult>,
    mut notifications: MessageReader<ModNotification>,
    mut exit: MessageWriter<AppExit>,
) {
    for notification in notifications.read() {
        info!(
            "{} notified {} {:?}",
            notification.name,
            notification.method,
            notification.params.as_deref().map(|p| p.get())
        );
    }
    for result in results.read() {
        match &result.result {
            Ok(answer) => println!("{} answered {}", result.method, answer.get()),
            Err(error) => println!("{} failed: {error}", result.method),
        }
        exit.write(AppExit::Success);
    }
}

fn main() -> AppExit {
    App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(16))),
            LogPlugin::default(),
            // The repository's `assets/` folder, wherever this is run from.
            AssetPlugin::default(),
            // Only the greeter, spawned below: not every mod in `assets/mods/`.
            WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        ))
        .insert_resource(Clock { hour: 19 })
        .add_systems(Startup, spawn_greeter)
        .add_host_method("game.time_of_day", time_of_day)
        .add_systems(
            Update,
            (greet_when_ready, report.after(WasmiPluginsSystems::Drive)),
        )
        .run()
}

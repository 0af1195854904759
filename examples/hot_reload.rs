//! Hot reload: rebuild a mod while the game runs, and the game restarts it with the new
//! code.
//!
//! This loads every mod in `assets/mods/`, watches the folder (Bevy's `file_watcher`
//! feature, on in this package), and asks the greeter to `greet` every two seconds,
//! printing its answer, each `ModStatusChanged` message, and each restart of a mod.
//! While it runs, edit `examples/mods/greeter/src/main.rs` (say, the `format!` of the
//! greeting) and, in another terminal, rebuild the mods:
//!
//! ```sh
//! cargo run --example hot_reload                 # runs until Ctrl-C
//! cargo run --example hot_reload -- --frames 600 # or stops by itself after 600 frames (~10 s)
//! bash scripts/build-mods.sh                     # in another terminal, after an edit
//! ```
//!
//! When a `.wasm` changes, the driver sends the running mod `plugin.shutdown`, keeps the
//! state it answers with, starts the new code and hands that state to its
//! `plugin.init`. The status goes `loading` → `starting` → `idle`, and `ModInfo::restarts`
//! counts up. A greeting asked for at that moment fails with `-32001`; the next one
//! comes from the new code.
//!
//! The greeter's count of greetings starts again at #1 after a reload: it does not
//! implement the PDK's `Plugin::shutdown` and `Plugin::init`, so it has no state to hand
//! over. Adding them carries the count across:
//!
//! ```text
//! // in `impl Plugin for Greeter`:
//! async fn init(&'static self, init: Init) -> Result<(), Error> {
//!     if let Some(greetings) = init.state::<u32>()? {
//!         self.greetings.replace(greetings);
//!     }
//!     Ok(())
//! }
//!
//! async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
//!     Ok(Some(Json::of(&self.greetings.get())?))
//! }
//! ```
//!
//! (The instance that is running when the file changes is the one asked for its state,
//! so the count carries over from the reload after the one that added these methods.)
//!
//! Rebuilding any mod in the folder restarts that mod. A `.wasm` added to the folder
//! while the game runs is not picked up; restart the example for that. A mod that needs
//! a host method this example does not have (the `modding` game's `spawner` asks for
//! `game.arena` when it starts) is shown as crashed; the others carry on.

use std::time::Duration;

use bevy::app::{AppExit, ScheduleRunnerPlugin};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

/// How often the greeter is asked.
const GREET_EVERY: Duration = Duration::from_secs(2);

fn main() -> AppExit {
    let frames = match frame_limit() {
        Ok(frames) => frames,
        Err(message) => {
            eprintln!("{message}\nusage: cargo run --example hot_reload [-- --frames N]");
            return AppExit::error();
        }
    };
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(16))),
        LogPlugin::default(),
        AssetPlugin {
            // Watch the repository's `assets/` folder (the default when Bevy's
            // `file_watcher` feature is on; written out here because this example is
            // about it).
            watch_for_changes_override: Some(true),
            ..default()
        },
        WasmiPluginsPlugin::default(),
    ))
    .insert_resource(Greeting(Timer::new(GREET_EVERY, TimerMode::Repeating)))
    .add_host_method("game.time_of_day", time_of_day)
    .add_systems(
        Update,
        (
            greet.before(WasmiPluginsSystems::Drive),
            (log_status_changes, log_restarts, print_answers)
                .chain()
                .after(WasmiPluginsSystems::Drive),
        ),
    );
    if let Some(frames) = frames {
        app.add_systems(
            Last,
            move |mut count: Local<u32>, mut exit: MessageWriter<AppExit>| {
                *count += 1;
                if *count >= frames {
                    println!("stopping after {frames} frames");
                    exit.write(AppExit::Success);
                }
            },
        );
    }
    app.run()
}

/// `--frames N` from the command line, if given.
fn frame_limit() -> Result<Option<u32>, String> {
    let mut args = std::env::args().skip(1);
    let mut frames = None;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--frames=") {
            Some(value) => value.to_owned(),
            None if arg == "--frames" => args.next().ok_or("--frames needs a number")?,
            None => return Err(format!("unknown argument `{arg}`")),
        };
        let n = value
            .parse()
            .map_err(|e| format!("--frames {value}: {e}"))?;
        frames = Some(n);
    }
    Ok(frames)
}

/// The greeter's host call.
fn time_of_day(In(()): In<()>) -> Result<&'static str, HostError> {
    Ok("evening")
}

#[derive(Resource)]
struct Greeting(Timer);

/// Asks the greeter to greet every [`GREET_EVERY`], once it has started.
fn greet(
    time: Res<Time>,
    mut timer: ResMut<Greeting>,
    mods: Query<(&ModStatus, &ModInfo)>,
    rpc: Res<ModRpc>,
) {
    if !timer.0.tick(time.delta()).just_finished() {
        return;
    }
    let ready = mods
        .iter()
        .any(|(status, info)| &*info.name == "greeter" && status.is_ready());
    if ready {
        rpc.call("greeter", "greet", &serde_json::json!({ "name": "Ada" }));
    }
}

fn print_answers(mut results: MessageReader<ModCallResult>) {
    for result in results.read() {
        match result.typed::<serde_json::Value>() {
            Ok(answer) => match answer.get("text").and_then(serde_json::Value::as_str) {
                Some(text) => println!("greeter: {text}"),
                None => println!("greeter answered {answer}"),
            },
            Err(error) => println!("{} failed: {error}", result.method),
        }
    }
}

fn log_status_changes(mut changes: MessageReader<ModStatusChanged>) {
    for change in changes.read() {
        println!("  [mod `{}` is {}]", change.name, change.status);
    }
}

/// Reports each restart: `ModInfo` is inserted again (and changes only then) when a
/// mod has started, the first time and after each restart.
fn log_restarts(started: Query<&ModInfo, Changed<ModInfo>>) {
    for info in started.iter().filter(|info| info.restarts > 0) {
        println!(
            "mod `{}` reloaded (restart #{}), version {}",
            info.name,
            info.restarts,
            info.version.as_deref().unwrap_or("?"),
        );
    }
}

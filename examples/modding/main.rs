//! The showcase: a small 2D game whose behaviour comes from the `.wasm` mods in
//! `assets/mods/`, run on the wasmi interpreter.
//!
//! - `spawner` spawns critters through the game's host method `game.spawn_critter`;
//! - `swarm` steers them with `world.query` and `world.mutate_components`;
//! - `scorekeeper` counts wall bounces (`game.bounce` events) in its own state and
//!   shows the score through `game.hud`;
//! - `pulse`, written in C, paints the arena's floor on `game.tick` events;
//! - `greeter` answers the game's `greet` call;
//! - `rogue` misbehaves on purpose: after six seconds (or on `L`) it loops forever and
//!   the game's fuel guard stops it; `P` makes it panic. The panel shows its error
//!   while the other mods keep working.
//!
//! The panel on the right lists every mod with its status and fuel per frame.
//!
//! ```sh
//! cargo run --example modding                         # the game in a window
//! cargo run --example modding -- --headless           # 600 frames, no window, a report
//! cargo run --example modding -- --screenshot shot.png
//! ```
//!
//! `--headless` exits with 0 only when every well-behaved mod did its job (and the
//! rogue was stopped). Edit a mod under `examples/mods/` and run
//! `bash scripts/build-mods.sh` while the window is open: the mod hot-reloads.

mod game;
mod view;

use std::path::PathBuf;
use std::process::ExitCode;

use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::ModStatus;
use clap::Parser;

/// The modding example.
#[derive(Parser)]
#[command(about = "A small 2D game whose behaviour comes from the mods in assets/mods/")]
struct Args {
    /// Run without a window, print what each mod did, and exit.
    #[arg(long)]
    headless: bool,
    /// Frames the headless run plays (1/60 s of game time each).
    #[arg(long, default_value_t = 600)]
    frames: u32,
    /// Save a screenshot of the window to this PNG file after nine seconds, then quit.
    #[arg(long, value_name = "PNG")]
    screenshot: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.headless {
        return headless(args.frames);
    }
    let exit = App::new()
        .add_plugins((
            DefaultPlugins
                .set(WindowPlugin {
                    primary_window: Some(Window {
                        title: "bevy_wasmi_plugins: modding example".into(),
                        resolution: (1280, 720).into(),
                        ..default()
                    }),
                    ..default()
                })
                .set(AssetPlugin {
                    file_path: game::assets_folder().to_string_lossy().into_owned(),
                    ..default()
                }),
            game::GamePlugin,
            view::ViewPlugin {
                screenshot: args.screenshot,
            },
        ))
        .run();
    if exit.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn headless(frames: u32) -> ExitCode {
    let mut app = App::new();
    app.add_plugins(LogPlugin::default());
    let lines = game::run_headless(frames, &mut app);
    println!(
        "\n{frames} frames ({:.1} s of game time):\n",
        f64::from(frames) / 60.0
    );
    println!("{:<12} {:<9} {:>12}  what it did", "mod", "status", "fuel");
    for line in &lines {
        println!(
            "{:<12} {:<9} {:>12}  {}  [{}]",
            line.name,
            line.status.label(),
            line.fuel_total,
            line.did,
            if line.ok { "ok" } else { "FAILED" }
        );
        if let ModStatus::Crashed(error) = &line.status {
            println!("{:<12} {error}", "");
        }
    }
    if lines.iter().all(|line| line.ok) {
        println!("\nevery mod did its job");
        ExitCode::SUCCESS
    } else {
        println!("\nsome mods did not do their job");
        ExitCode::FAILURE
    }
}

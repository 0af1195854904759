//! The showcase: a small 2D game whose behaviour comes from the `.wasm` mods in
//! `assets/mods/`, run on the wasmi interpreter.
//!
//! - `spawner` spawns critters through the game's host method `game.spawn_critter`;
//! - `swarm` steers them with the PDK's typed `world::query` and one bulk write per pass;
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
//! cargo run --example modding -- --headless --critters 200  # swarm steers 224 critters
//! cargo run --example modding -- --schema game.json  # its registry.schema, for `wasmi-mod types`
//! cargo run --example modding -- --screenshot shot.png
//! ```
//!
//! `--headless` exits with 0 only when every well-behaved mod did its job (and the
//! rogue was stopped). Edit a mod under `examples/mods/` and run
//! `bash scripts/build-mods.sh` while the window is open: the mod hot-reloads.
//!
//! In a browser: `bash scripts/web.sh` builds the example for `wasm32-unknown-unknown`
//! and serves it; `bash scripts/web.sh --check` plays it in headless Chromium and judges
//! every mod as `--headless` does (see [`web`]).
//!
//! Assets are found the way Bevy finds them: `assets/` under `BEVY_ASSET_ROOT`, or under
//! the package's folder when run by cargo, or next to the executable; on the web, the
//! page's `assets/` folder.

mod game;
mod view;
#[cfg(target_arch = "wasm32")]
mod web;

#[cfg(not(target_arch = "wasm32"))]
use std::path::PathBuf;
#[cfg(not(target_arch = "wasm32"))]
use std::process::ExitCode;

#[cfg(not(target_arch = "wasm32"))]
use bevy::log::LogPlugin;
use bevy::prelude::*;
#[cfg(not(target_arch = "wasm32"))]
use bevy_wasmi_plugins::prelude::ModStatus;
#[cfg(not(target_arch = "wasm32"))]
use clap::Parser;

/// The modding example.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(about = "A small 2D game whose behaviour comes from the mods in assets/mods/")]
struct Args {
    /// Run without a window, print what each mod did, and exit.
    #[arg(long)]
    headless: bool,
    /// Frames the headless run plays (1/60 s of game time each).
    #[arg(long, default_value_t = 600)]
    frames: u32,
    /// Critters the game spawns itself at the start, beside the `spawner` mod's (at most
    /// 400 in all): `--critters 200` shows `swarm` steering two hundred.
    #[arg(long, default_value_t = 0)]
    critters: u32,
    /// Save a screenshot of the window to this PNG file after nine seconds, then quit.
    #[arg(long, value_name = "PNG")]
    screenshot: Option<PathBuf>,
    /// Write the game's `registry.schema` for mods (its own types and `Transform`) to
    /// this JSON file and exit; `wasmi-mod types FILE` turns it into Rust types.
    #[arg(long, value_name = "JSON")]
    schema: Option<PathBuf>,
}

/// The window the game plays in (on the web, the page's `#bevy` canvas).
fn window() -> Window {
    Window {
        title: "bevy_wasmi_plugins: modding example".into(),
        resolution: (1280, 720).into(),
        #[cfg(target_arch = "wasm32")]
        canvas: Some("#bevy".into()),
        ..default()
    }
}

/// In a browser: the game in the page's canvas, and [`web::WebCheckPlugin`], which
/// reports on the console what every mod did.
#[cfg(target_arch = "wasm32")]
fn main() {
    App::new()
        .add_plugins((
            DefaultPlugins.set(WindowPlugin {
                primary_window: Some(window()),
                ..default()
            }),
            game::GamePlugin,
            view::ViewPlugin { screenshot: None },
            web::WebCheckPlugin,
        ))
        .run();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(path) = args.schema {
        return write_schema(&path);
    }
    if args.headless {
        return headless(args.frames, args.critters);
    }
    let exit = App::new()
        .insert_resource(game::StartingCritters(args.critters))
        .add_plugins((
            DefaultPlugins.set(WindowPlugin {
                primary_window: Some(window()),
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

/// `--schema FILE`: what a mod that may read the game's types and `Transform` gets
/// from `registry.schema`, for `wasmi-mod types`.
#[cfg(not(target_arch = "wasm32"))]
fn write_schema(path: &std::path::Path) -> ExitCode {
    use bevy_wasmi_plugins::bevy::ecs_methods::registry_schema;
    use bevy_wasmi_plugins::prelude::ModPermissions;
    use bevy_wasmi_plugins::protocol::brp::BrpJsonSchemaQueryFilter;

    let mut app = App::new();
    app.add_plugins((MinimalPlugins, AssetPlugin::default(), game::GamePlugin));
    let permissions = ModPermissions::none()
        .allow_read_path("game::*")
        .allow_read::<Transform>();
    let filter = BrpJsonSchemaQueryFilter {
        with_crates: vec!["game".into(), "bevy_transform".into()],
        ..Default::default()
    };
    let schema = registry_schema(app.world(), &permissions, Some(filter));
    let json = serde_json::to_string_pretty(&schema).expect("schemas serialize");
    match std::fs::write(path, json + "\n") {
        Ok(()) => {
            println!(
                "wrote the schemas of {} types to {}",
                schema.len(),
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn headless(frames: u32, critters: u32) -> ExitCode {
    let mut app = App::new();
    app.add_plugins(LogPlugin::default())
        .insert_resource(game::StartingCritters(critters));
    let lines = game::run_headless(frames, &mut app);
    println!(
        "\n{frames} frames ({:.1} s of game time):\n",
        f64::from(frames) / 60.0
    );
    println!(
        "{:<12} {:<9} {:>12} {:>10}  what it did",
        "mod", "status", "fuel", "peak/frame"
    );
    for line in &lines {
        println!("{line}");
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

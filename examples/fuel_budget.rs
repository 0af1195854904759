//! Fuel slicing: a mod's long computation is spread over frames, and a mod stuck in an
//! endless loop is stopped, while the game keeps its frame rate.
//!
//! Two instances of `assets/mods/busy.wasm` (from `examples/mods/busy`) run side by
//! side, `worker` and `runaway`, each in its own sandbox.
//!
//! 1. The game calls `worker`'s `sum_to {"n": 2000000}`, about 30 million fuel of work.
//!    Each frame the mod gets a slice of 1 000 000 fuel
//!    (`WasmiPluginsPlugin::with_fuel_per_frame`); when it is spent the mod is paused
//!    and resumed next frame. Every frame prints the fuel the mod used
//!    (`ModFuel::last_frame`), how long the mods took and how long the frame took;
//!    then the number of frames the answer took, and the answer.
//! 2. The game calls `runaway`'s `spin`, which never returns. It too gets its slice each
//!    frame, so the game does not freeze; and once it has used
//!    `Limits::max_fuel_per_activation` (60 million here, set for every mod with
//!    `WasmiPluginsPlugin::with_limits`) without waiting for input, it is stopped: its
//!    status becomes `ModStatus::Crashed` with the error, and the call fails with
//!    `-32002`. Meanwhile `worker` keeps answering small `sum_to` calls, and still does
//!    afterwards. (One mod can get its own cap in its `.meta` file instead:
//!    `max_fuel_per_activation` in `WasmModSettings`.)
//!
//! The mods are spawned by the game (`ModSource::None` and `WasmMod::new`) rather than
//! loaded from the folder, so that there are exactly these two. The game tells them
//! apart by entity (and gives them a `Name`); the plugin's own log lines and the mods'
//! log lines call both `busy`, after their file.
//!
//! In a debug build the mods' share of a frame stays around 1 ms, and the frames keep
//! their 16 ms pace through both steps.
//!
//! ```sh
//! cargo run --example fuel_budget
//! ```

use std::time::{Duration, Instant};

use bevy::app::{AppExit, ScheduleRunnerPlugin};
use bevy::log::LogPlugin;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;

/// Fuel each mod may use per frame (the default, written out).
const FUEL_PER_FRAME: u64 = 1_000_000;
/// Fuel a mod may use without waiting for input before it is stopped.
const MAX_FUEL_PER_ACTIVATION: u64 = 60_000_000;
/// `sum_to`'s `n` for the long computation: about fifteen fuel per step.
const N: u64 = 2_000_000;
/// How often (in frames) the game asks `worker` for a small sum while `runaway` spins.
const CHECK_EVERY: u32 = 15;

fn main() -> AppExit {
    App::new()
        .add_plugins((
            MinimalPlugins.set(ScheduleRunnerPlugin::run_loop(Duration::from_millis(16))),
            LogPlugin::default(),
            // The repository's `assets/` folder, wherever this is run from.
            AssetPlugin::default(),
            WasmiPluginsPlugin::default()
                .with_mod_source(ModSource::None)
                .with_fuel_per_frame(FUEL_PER_FRAME)
                .with_limits(
                    Limits::default().with_max_fuel_per_activation(MAX_FUEL_PER_ACTIVATION),
                ),
        ))
        .init_resource::<Demo>()
        .insert_resource(DriveStarted(Instant::now()))
        .add_systems(Startup, spawn_mods)
        .add_systems(
            Update,
            (
                mark_drive_start.before(WasmiPluginsSystems::Drive),
                (log_status_changes, demo)
                    .chain()
                    .after(WasmiPluginsSystems::Drive),
            ),
        )
        .run()
}

/// The two mod entities.
#[derive(Resource)]
struct Mods {
    worker: Entity,
    runaway: Entity,
}

/// Where the demo is.
#[derive(Resource, Default)]
enum Demo {
    /// Waiting for both mods to start.
    #[default]
    Starting,
    /// `worker` is computing the long sum.
    Summing { call: ModCall, frames: u32 },
    /// `runaway` spins; `worker` answers small calls meanwhile.
    Spinning {
        spin: ModCall,
        frames: u32,
        check: Option<(ModCall, u64)>,
    },
    /// `runaway` was stopped; one last call to `worker`.
    LastCheck { call: ModCall },
}

/// When the driver started this frame, to time it.
#[derive(Resource)]
struct DriveStarted(Instant);

fn spawn_mods(mut commands: Commands, assets: Res<AssetServer>) {
    let busy: Handle<WasmModAsset> = assets.load("mods/busy.wasm");
    let worker = commands
        .spawn((Name::new("worker"), WasmMod::new(busy.clone())))
        .id();
    let runaway = commands
        .spawn((Name::new("runaway"), WasmMod::new(busy)))
        .id();
    commands.insert_resource(Mods { worker, runaway });
}

fn mark_drive_start(mut started: ResMut<DriveStarted>) {
    started.0 = Instant::now();
}

fn log_status_changes(mut changes: MessageReader<ModStatusChanged>, names: Query<&Name>) {
    for change in changes.read() {
        let name = names.get(change.entity).map_or("?", Name::as_str);
        println!("  [{name} is {}]", change.status);
    }
}

/// The two steps, one frame at a time.
#[allow(
    clippy::too_many_arguments,
    reason = "a demo system reads everything it prints"
)]
fn demo(
    mut demo: ResMut<Demo>,
    mods: Option<Res<Mods>>,
    statuses: Query<(&ModStatus, Option<&ModFuel>)>,
    rpc: Res<ModRpc>,
    drive_started: Res<DriveStarted>,
    time: Res<Time<Real>>,
    mut exit: MessageWriter<AppExit>,
) {
    let Some(mods) = mods else { return };
    let (Ok((worker_status, worker_fuel)), Ok((runaway_status, runaway_fuel))) =
        (statuses.get(mods.worker), statuses.get(mods.runaway))
    else {
        return;
    };
    if !worker_status.is_alive() {
        println!("worker stopped unexpectedly: {worker_status}");
        exit.write(AppExit::error());
        return;
    }
    let fuel = |fuel: Option<&ModFuel>| fuel.map_or(0, |fuel| fuel.last_frame);
    let mods_took = drive_started.0.elapsed();
    match &mut *demo {
        Demo::Starting => {
            if worker_status.is_ready() && runaway_status.is_ready() {
                println!("both mods started; worker: sum_to {{\"n\": {N}}}");
                let call = rpc.call(mods.worker, "sum_to", &serde_json::json!({ "n": N }));
                *demo = Demo::Summing { call, frames: 0 };
            }
        }
        Demo::Summing { call, frames } => {
            *frames += 1;
            println!(
                "frame {frames:>2}: worker used {:>7} fuel; mods took {:.2} ms, the frame {:.1} ms",
                fuel(worker_fuel),
                mods_took.as_secs_f64() * 1e3,
                time.delta_secs_f64() * 1e3,
            );
            let Some(outcome) = call.try_result() else {
                return;
            };
            match outcome {
                Ok(sum) => println!(
                    "sum_to {N} = {} after {frames} frames ({} fuel in all; expected {})",
                    sum.get(),
                    worker_fuel.map_or(0, |fuel| fuel.total),
                    N * (N - 1) / 2,
                ),
                Err(error) => {
                    println!("sum_to failed: {error}");
                    exit.write(AppExit::error());
                    return;
                }
            }
            println!(
                "runaway: spin (stopped after {MAX_FUEL_PER_ACTIVATION} fuel without waiting for input)"
            );
            let spin = rpc.call(mods.runaway, "spin", &());
            *demo = Demo::Spinning {
                spin,
                frames: 0,
                check: None,
            };
        }
        Demo::Spinning {
            spin,
            frames,
            check,
        } => {
            *frames += 1;
            if let Some((call, n)) = check
                && let Some(outcome) = call.try_result()
            {
                match outcome {
                    Ok(sum) => println!("  worker still answers: sum_to {n} = {}", sum.get()),
                    Err(error) => println!("  worker failed: {error}"),
                }
                *check = None;
            }
            if *frames % CHECK_EVERY == 1 {
                println!(
                    "frame {frames:>3}: runaway used {:>7} fuel; mods took {:.2} ms, the frame {:.1} ms",
                    fuel(runaway_fuel),
                    mods_took.as_secs_f64() * 1e3,
                    time.delta_secs_f64() * 1e3,
                );
                let n = 10_000 + u64::from(*frames);
                let call = rpc.call(mods.worker, "sum_to", &serde_json::json!({ "n": n }));
                *check = Some((call, n));
            }
            let Some(outcome) = spin.try_result() else {
                return;
            };
            match outcome {
                Ok(answer) => println!("spin returned {}?!", answer.get()),
                Err(error) => println!(
                    "spin failed after {frames} frames with code {}: {}",
                    error.code, error.message
                ),
            }
            if let ModStatus::Crashed(error) = runaway_status {
                println!("runaway's status: crashed: {error}");
            }
            let call = rpc.call(mods.worker, "sum_to", &serde_json::json!({ "n": 100 }));
            *demo = Demo::LastCheck { call };
        }
        Demo::LastCheck { call } => {
            let Some(outcome) = call.try_result() else {
                return;
            };
            match outcome {
                Ok(sum) => {
                    println!("and worker still answers: sum_to 100 = {}", sum.get());
                    exit.write(AppExit::Success);
                }
                Err(error) => {
                    println!("worker failed: {error}");
                    exit.write(AppExit::error());
                }
            }
        }
    }
}

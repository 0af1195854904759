//! A soak: hostile mods run beside healthy ones for thousands of frames, and the game
//! must keep its pace, its memory and its answers.
//!
//! ```sh
//! cargo run --release --example soak -- --frames 10000
//! cargo run --example soak -- --frames 2000          # the dev build CI runs
//! ```
//!
//! A headless app (`MinimalPlugins`, `AssetPlugin`, the plugin; no window) loads its mods
//! from a temporary folder that it watches (Bevy's `file_watcher`), written from the
//! committed test mods: two copies of `echo` (`test-mods/echo`) are the healthy mods,
//! and eight copies of `hostile` (`test-mods/hostile`) misbehave, each as its
//! `plugin.init` config says:
//!
//! | mod | misbehaviour | what stops it |
//! |---|---|---|
//! | `garbage` | answers every line the host sends with an invalid one (error ping-pong) | `max_invalid_messages` → crashed, restarted |
//! | `notify_flood` | 2000 notifications a millisecond, forever | `max_messages_per_run` (back-pressure), fuel per message |
//! | `request_flood` | 2000 requests for the game's `game.flood` a millisecond, answers never read | `max_messages_per_run`, then `max_input_buffer` → crashed, restarted |
//! | `spin` | an endless loop | `max_fuel_per_activation` (20 M, from its `.meta`) → crashed, restarted |
//! | `memory_bomb` | allocates until memory runs out | `max_memory` (16 MiB, from its `.meta`) → crashed, restarted |
//! | `panic` | panics on its 20th tick | crashed, restarted by the [`RestartPolicy`] |
//! | `deaf` | never answers `plugin.shutdown`; its `.wasm` is rewritten every 500 frames | the reload goes on after 120 frames without its state |
//! | `world` | `world.*` calls with a 600 kB string, params nested 100 000 deep, 20 000 unknown type paths, a 600 kB path | the 64 KiB cap on `world.*` params (`-32004`), serde's depth limit, permissions (a [`ModPermissions`] component), `-32602`/`-234xx` errors |
//!
//! Every frame the game broadcasts `game.tick` to all mods and, until `--drain` frames
//! before the end, sends each healthy mod 4 counted `add` calls through [`ModRpc`],
//! checking each answer. Per-mod settings come from the builder (fuel per frame, limits,
//! the restart policy), from `.meta` files (`spin`, `memory_bomb`, the healthy mods) and
//! from a [`ModPermissions`] component (`world`).
//!
//! It prints the frames run, the p50, p99 and longest frame (one `App::update`), the
//! resident memory at the start, middle and end, the healthy calls sent and answered,
//! and each hostile mod's crashes and last error. It exits with 0 only if:
//!
//! - every healthy call was answered, with the right sum;
//! - nothing panicked (a panic hook counts panics on every thread);
//! - resident memory grew by at most `--max-rss-growth-mib` between the middle and the
//!   end (see [`MAX_RSS_GROWTH_MIB`] for why that bound);
//! - the p99 of the plugin's share of a frame (the driver,
//!   `WasmiPluginsSystems::Drive`) is within the plugin's frame budget
//!   ([`WasmiPluginsSettings::frame_budget`], 4 ms) plus half of it, for the piece of
//!   work (a fuel slice, a message) under way when the budget runs out (3 budgets in
//!   an unoptimised build, where Bevy and the host are several times slower per piece);
//!   the whole frame, with the game's own systems on top, is printed beside it;
//! - every hostile mod did misbehave (crashed, flooded, reloaded or called `world.*`),
//!   so that a soak where nothing hostile happened cannot pass.
//!
//! What it proves: a game running mods that flood, spin, allocate, panic, talk garbage,
//! ignore shutdown and send huge or deep params keeps answering its healthy mods'
//! calls, keeps the mods within their share of each frame, does not leak, and does not panic.

use std::collections::{BTreeMap, HashMap};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use clap::Parser;

mod report;

/// The healthy mod: `test-mods/echo`.
const ECHO: &[u8] = include_bytes!("../../bevy_wasmi_plugins/tests/mods/echo.wasm");
/// The hostile mod: `test-mods/hostile`, one `.wasm` for every misbehaviour.
const HOSTILE: &[u8] = include_bytes!("../../bevy_wasmi_plugins/tests/mods/hostile.wasm");

/// The healthy mods (copies of `echo`).
const HEALTHY: [&str; 2] = ["healthy_a", "healthy_b"];
/// `add` calls per healthy mod per frame.
const CALLS_PER_FRAME: u64 = 4;
/// The hostile mods (copies of `hostile`), each named after its mode.
const HOSTILE_MODS: [&str; 8] = [
    "garbage",
    "notify_flood",
    "request_flood",
    "spin",
    "memory_bomb",
    "panic",
    "deaf",
    "world",
];
/// How often `deaf.wasm` is rewritten (a hot reload).
const RELOAD_EVERY: u64 = 500;
/// Fuel per frame of every mod without a `.meta` setting.
const FUEL_PER_FRAME: u64 = 1_000_000;
/// Longest wait for every mod to start before the soak begins.
const WARM_UP_FRAMES: u64 = 3_000;

/// The default bound on resident memory growth between the middle and the end of the
/// soak, in MiB.
///
/// What churns memory on purpose: `memory_bomb` fills 16 MiB of linear memory and is
/// restarted every few dozen frames; the floods fill up to 1 MiB of output and 16 MiB
/// of unread input; `world` builds 600 kB params (refused by the host); `deaf` is compiled again
/// every 500 frames. All of it is freed when the instance goes, so after the first half
/// the allocator has reused its free memory and the RSS should only wander by the size
/// of one such instance. 64 MiB is four memory bombs: well above that wander (from the
/// middle to the end, measured: −8 MiB over 10 000 release frames, −7 to +15 MiB over
/// 2 000 dev frames) and far below what a leak of one instance, module or flood buffer
/// per restart would add over thousands of frames (over 100 restarts each).
const MAX_RSS_GROWTH_MIB: u64 = 64;

#[derive(Parser, Debug)]
#[command(about = "Runs hostile mods beside healthy ones and checks the game holds up")]
struct Args {
    /// Frames to run (after the warm-up in which the mods start).
    #[arg(long, default_value_t = 10_000)]
    frames: u64,
    /// The last frames, in which no healthy calls are sent and the ones in flight are
    /// answered.
    #[arg(long, default_value_t = 60)]
    drain: u64,
    /// Most resident memory growth between the middle and the end, in MiB.
    #[arg(long, default_value_t = MAX_RSS_GROWTH_MIB)]
    max_rss_growth_mib: u64,
    /// Print Bevy's log (warnings and errors) to stderr.
    #[arg(long)]
    log: bool,
    /// Run only these hostile mods (comma-separated names; all of them by default).
    #[arg(long, value_delimiter = ',')]
    hostile: Option<Vec<String>>,
}

/// A component the `world` mod may read and write; it writes huge strings into it.
#[derive(Component, Reflect, Default, Debug)]
#[reflect(Component)]
struct Blob {
    data: String,
}

/// Panics seen on any thread, and the first one's message.
static PANICS: AtomicUsize = AtomicUsize::new(0);
static FIRST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The soak's state, shared by its systems and `main`.
#[derive(Resource, Default)]
struct Soak {
    /// The frame being run (0 for the first measured frame).
    frame: u64,
    /// Whether the warm-up is over.
    measuring: bool,
    /// Healthy calls are sent in frames before this one.
    send_until: u64,
    /// The hostile mods that run.
    hostile: Vec<&'static str>,
    /// The mod entities, by name.
    mods: BTreeMap<&'static str, Entity>,
    /// When the driver started this frame, and how long it took in each measured frame.
    drive_started: Option<Instant>,
    drive_times: Vec<Duration>,
    /// Healthy calls in flight: the sum expected and the frame it was sent in.
    pending: HashMap<ModCallId, (i64, u64)>,
    sent: u64,
    answered: u64,
    /// Answers with the wrong sum, or errors, with the first few explained.
    wrong: u64,
    failed: u64,
    problems: Vec<String>,
    /// Most frames a healthy call took to be answered.
    slowest_answer: u64,
    /// Per hostile mod: crashes, the last error, notifications sent.
    crashes: HashMap<String, u64>,
    last_error: HashMap<String, String>,
    notifications: HashMap<String, u64>,
    /// Calls `request_flood` got through to `game.flood`.
    flood_calls: u64,
    /// Times `deaf.wasm` was rewritten.
    rewrites: u64,
    /// Where `deaf.wasm` is.
    deaf_path: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    install_panic_hook();
    let dir = match write_mods() {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("soak: cannot write the mods into a temporary folder: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = soak(&args, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// Counts every panic (the default hook still prints it).
fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut first) = FIRST_PANIC.lock() {
            first.get_or_insert_with(|| info.to_string());
        }
        default(info);
    }));
}

/// A temporary asset folder with the mods and their `.meta` files in `mods/`.
fn write_mods() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("bevy_wasmi_plugins-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mods = dir.join("mods");
    std::fs::create_dir_all(&mods)?;
    for name in HEALTHY {
        std::fs::write(mods.join(format!("{name}.wasm")), ECHO)?;
        write_meta(&mods, name, "fuel_per_frame: Some(2000000),")?;
    }
    for name in HOSTILE_MODS {
        std::fs::write(mods.join(format!("{name}.wasm")), HOSTILE)?;
    }
    write_meta(&mods, "spin", "max_fuel_per_activation: Some(20000000),")?;
    write_meta(&mods, "memory_bomb", "max_memory: Some(16777216),")?;
    Ok(dir)
}

/// `mods/<name>.wasm.meta` with `settings` (RON fields of `WasmModSettings`).
fn write_meta(mods: &Path, name: &str, settings: &str) -> std::io::Result<()> {
    let meta = format!(
        "(\n    meta_format_version: \"1.0\",\n    asset: Load(\n        loader: \"bevy_wasmi_plugins::asset::WasmModLoader\",\n        settings: (\n            {settings}\n        ),\n    ),\n)\n"
    );
    std::fs::write(mods.join(format!("{name}.wasm.meta")), meta)
}

/// Builds the app, warms it up, runs the frames, prints the report; the exit code.
fn soak(args: &Args, dir: &Path) -> ExitCode {
    let hostile: Vec<&'static str> = match &args.hostile {
        None => HOSTILE_MODS.to_vec(),
        Some(names) => {
            let unknown: Vec<&String> = names
                .iter()
                .filter(|n| !n.is_empty() && !HOSTILE_MODS.contains(&n.as_str()))
                .collect();
            if !unknown.is_empty() {
                eprintln!("soak: unknown hostile mods {unknown:?}; they are {HOSTILE_MODS:?}");
                return ExitCode::FAILURE;
            }
            HOSTILE_MODS
                .into_iter()
                .filter(|h| names.iter().any(|n| n == h))
                .collect()
        }
    };
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: dir.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(true),
            ..default()
        },
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_fuel_per_frame(FUEL_PER_FRAME)
            .with_frame_budget(Duration::from_millis(4))
            .with_limits(Limits::default().with_max_fuel_per_activation(200_000_000))
            .with_restart_policy(RestartPolicy::with_backoff(
                u32::MAX,
                Duration::from_millis(50),
            )),
    ));
    if args.log {
        app.add_plugins(bevy::log::LogPlugin {
            level: bevy::log::Level::WARN,
            ..default()
        });
    }
    app.register_type::<Blob>()
        .insert_resource(Soak {
            send_until: args.frames.saturating_sub(args.drain),
            hostile,
            deaf_path: dir.join("mods/deaf.wasm"),
            ..default()
        })
        .add_host_method("game.flood", flood)
        .add_systems(Startup, spawn_mods)
        .add_systems(
            Update,
            (
                (send_calls, mark_drive_start)
                    .chain()
                    .before(WasmiPluginsSystems::Drive),
                (
                    mark_drive_end,
                    read_answers,
                    read_statuses,
                    read_notifications,
                )
                    .after(WasmiPluginsSystems::Drive),
            ),
        );
    let budget = app.world().resource::<WasmiPluginsSettings>().frame_budget;

    // Warm-up: until every mod has started once (not measured).
    let mod_count = HEALTHY.len() + app.world().resource::<Soak>().hostile.len();
    let warm_up_started = Instant::now();
    let mut warm_up = 0;
    let started = loop {
        if let Err(message) = update(&mut app) {
            return fail_panicked(&message);
        }
        warm_up += 1;
        if all_started(app.world_mut(), mod_count) {
            break true;
        }
        if warm_up >= WARM_UP_FRAMES {
            break false;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    if !started {
        eprintln!("soak: FAILED: not every mod started within {WARM_UP_FRAMES} frames");
        report::print_statuses(app.world_mut());
        return ExitCode::FAILURE;
    }
    app.world_mut().resource_mut::<Soak>().measuring = true;

    let rss_start = rss_bytes();
    let mut rss_mid = None;
    let mut frame_times = Vec::with_capacity(usize::try_from(args.frames).unwrap_or(0));
    let soak_started = Instant::now();
    let mut aborted = None;
    for frame in 0..args.frames {
        app.world_mut().resource_mut::<Soak>().frame = frame;
        let t = Instant::now();
        if let Err(message) = update(&mut app) {
            aborted = Some(message);
            break;
        }
        frame_times.push(t.elapsed());
        if frame == args.frames / 2 {
            rss_mid = rss_bytes();
        }
    }
    let wall = soak_started.elapsed();
    let rss_end = rss_bytes();

    let run = report::Run {
        frame_times,
        wall,
        warm_up,
        warm_up_wall: warm_up_started.elapsed().saturating_sub(wall),
        rss: [rss_start, rss_mid, rss_end],
        aborted,
        budget,
    };
    report::report(app.world_mut(), args, run)
}

/// One frame, with a panic caught and turned into its message.
fn update(app: &mut App) -> Result<(), String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| app.update())).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned())
    })
}

fn fail_panicked(message: &str) -> ExitCode {
    eprintln!("soak: FAILED: a frame panicked during the warm-up: {message}");
    ExitCode::FAILURE
}

/// Spawns the healthy and hostile mods, each hostile one with its mode as config.
fn spawn_mods(mut commands: Commands, assets: Res<AssetServer>, mut soak: ResMut<Soak>) {
    for name in HEALTHY {
        let handle = assets.load(format!("mods/{name}.wasm"));
        let entity = commands.spawn(WasmMod::new(handle)).id();
        soak.mods.insert(name, entity);
    }
    for name in soak.hostile.clone() {
        let handle = assets.load(format!("mods/{name}.wasm"));
        let config = serde_json::json!({
            "mode": name,
            "component": Blob::type_path(),
        });
        let mut entity = commands.spawn(WasmMod::new(handle).with_config(&config));
        if name == "world" {
            entity.insert(
                ModPermissions::default()
                    .allow_read::<Blob>()
                    .allow_write::<Blob>()
                    .allow_spawn(1),
            );
        }
        soak.mods.insert(name, entity.id());
    }
}

/// Whether all `mods` have started once (have their `ModInfo`).
fn all_started(world: &mut World, mods: usize) -> bool {
    let mut infos = world.query::<&ModInfo>();
    infos.iter(world).count() == mods
}

fn mark_drive_start(mut soak: ResMut<Soak>) {
    soak.drive_started = Some(Instant::now());
}

fn mark_drive_end(mut soak: ResMut<Soak>) {
    if let Some(started) = soak.drive_started.take()
        && soak.measuring
    {
        soak.drive_times.push(started.elapsed());
    }
}

/// Before the driver: the tick for every mod, the healthy calls, and the reload.
fn send_calls(rpc: Res<ModRpc>, mut soak: ResMut<Soak>) {
    let _ = rpc.broadcast("game.tick", &());
    if !soak.measuring {
        return;
    }
    let frame = soak.frame;
    if frame < soak.send_until {
        for name in HEALTHY {
            let entity = soak.mods[name];
            for k in 0..CALLS_PER_FRAME {
                let (a, b) = (frame as i64, (k as i64) * 1_000_003);
                let call = rpc.call(entity, "add", &[a, b]);
                soak.pending.insert(call.id(), (a + b, frame));
                soak.sent += 1;
            }
        }
    }
    if frame > 0 && frame.is_multiple_of(RELOAD_EVERY) && soak.hostile.contains(&"deaf") {
        match std::fs::write(&soak.deaf_path, HOSTILE) {
            Ok(()) => soak.rewrites += 1,
            Err(error) => soak.problems.push(format!(
                "frame {frame}: could not rewrite deaf.wasm: {error}"
            )),
        }
    }
}

/// After the driver: checks the healthy mods' answers.
fn read_answers(mut results: MessageReader<ModCallResult>, mut soak: ResMut<Soak>) {
    let frame = soak.frame;
    for result in results.read() {
        let Some((expected, sent)) = soak.pending.remove(&result.call) else {
            continue;
        };
        soak.slowest_answer = soak.slowest_answer.max(frame - sent);
        match result.typed::<i64>() {
            Ok(sum) if sum == expected => soak.answered += 1,
            Ok(sum) => {
                soak.wrong += 1;
                if soak.problems.len() < 10 {
                    soak.problems.push(format!(
                        "frame {frame}: add answered {sum}, expected {expected}"
                    ));
                }
            }
            Err(error) => {
                soak.failed += 1;
                if soak.problems.len() < 10 {
                    soak.problems
                        .push(format!("frame {frame}: add failed: {error}"));
                }
            }
        }
    }
}

/// After the driver: every crash of a mod and its error.
fn read_statuses(mut changes: MessageReader<ModStatusChanged>, mut soak: ResMut<Soak>) {
    let measuring = soak.measuring;
    for change in changes.read() {
        if let ModStatus::Crashed(error) = &change.status {
            let name = change.name.to_string();
            if HEALTHY.contains(&name.as_str()) && soak.problems.len() < 10 {
                soak.problems
                    .push(format!("healthy mod `{name}` crashed: {error}"));
            }
            if measuring {
                *soak.crashes.entry(name.clone()).or_default() += 1;
            }
            soak.last_error.insert(name, error.to_string());
        }
    }
}

/// After the driver: notifications counted by mod.
fn read_notifications(mut notifications: MessageReader<ModNotification>, mut soak: ResMut<Soak>) {
    for notification in notifications.read() {
        match soak.notifications.get_mut(&*notification.name) {
            Some(count) => *count += 1,
            None => {
                soak.notifications.insert(notification.name.to_string(), 1);
            }
        }
    }
}

/// The game's host method that `request_flood` floods: counts and echoes.
fn flood(In(params): In<(u64,)>, mut soak: ResMut<Soak>) -> Result<u64, HostError> {
    soak.flood_calls += 1;
    Ok(params.0)
}

/// The process's resident memory (`VmRSS` in `/proc/self/status`), where there is one.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

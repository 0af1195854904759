//! Per-frame cost of the Bevy driver (issue #3 item 11), measured as one `App::update`
//! of a headless app (`MinimalPlugins` + `AssetPlugin` + the plugin):
//!
//! - `frame/idle/N`: N idle mods (the `echo` test mod, started and waiting for calls);
//!   `frame/idle/0` is the same app without mods, the baseline to subtract.
//! - `frame/host_call/100`: 100 `ticker` mods; every frame a system broadcasts the
//!   `game.tick` event and each mod answers it by calling the host method `game.frame`
//!   once (so a frame delivers 100 events and serves 100 host calls).
//!
//! The frame's wall-time budget is set high so every mod runs every frame. Before each
//! case the memory the process holds for its mods is printed: the growth of its
//! resident set (`/proc/self/statm`, Linux only) from before the app was built to when
//! all its mods were idle. `BENCH_IDLE=10000` runs only that many idle mods.
//!
//! Counting mode, for `valgrind --tool=callgrind`: with `COUNT=<case>:<mods>:<frames>`
//! the binary sets up the case with that many mods, runs that many frames and exits;
//! the instructions per frame are the difference of two runs with different `frames`
//! divided by the difference. Cases: `idle` (echo mods), `host_call` (ticker mods).
//!
//! ```text
//! cargo bench -p bevy_wasmi_plugins --bench driver --no-run
//! COUNT=idle:1000:101 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/driver-<hash>
//! ```

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group};

const ECHO: &[u8] = include_bytes!("../tests/mods/echo.wasm");
const TICKER: &[u8] = include_bytes!("../tests/mods/ticker.wasm");

#[derive(Resource, Default)]
struct HostCalls(u64);

fn frame(In(()): In<()>, mut calls: ResMut<HostCalls>) -> Result<u64, HostError> {
    calls.0 += 1;
    Ok(calls.0)
}

fn tick(rpc: Res<ModRpc>) {
    rpc.broadcast("game.tick", &()).expect("serializes");
}

fn assets() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bevy_wasmi_plugins-bench-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mods")).expect("temp dir");
    std::fs::write(dir.join("mods/echo.wasm"), ECHO).expect("writes");
    std::fs::write(dir.join("mods/ticker.wasm"), TICKER).expect("writes");
    dir
}

/// An app with `count` instances of `mods/<name>.wasm`, run until all are idle.
fn app_with(name: &str, count: usize, ticking: bool) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: assets().to_string_lossy().into_owned(),
            watch_for_changes_override: Some(false),
            ..default()
        },
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_frame_budget(Duration::from_secs(1)),
    ))
    .init_resource::<HostCalls>()
    .add_host_method("game.frame", frame);
    if ticking {
        app.add_systems(Update, tick.before(WasmiPluginsSystems::Drive));
    }
    let handle: Handle<WasmModAsset> = app
        .world()
        .resource::<AssetServer>()
        .load(format!("mods/{name}.wasm"));
    for _ in 0..count {
        app.world_mut().spawn(WasmMod::new(handle.clone()));
    }
    for _ in 0..10_000 {
        app.update();
        let world = app.world_mut();
        let mut statuses = world.query::<&ModStatus>();
        let idle = statuses
            .iter(world)
            .filter(|s| matches!(s, ModStatus::Idle))
            .count();
        if idle == count {
            return app;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("{count} {name} mods did not all start");
}

/// The process's resident set in bytes (Linux), for the memory the mods hold.
fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// [`app_with`], printing how much more memory the process holds once the mods idle.
fn measured_app(name: &str, count: usize, ticking: bool) -> App {
    let before = resident();
    let app = app_with(name, count, ticking);
    if let (Some(before), Some(after)) = (before, resident()) {
        let held = after.saturating_sub(before);
        eprintln!(
            "{count} {name} mods: the process holds {:.1} MiB more ({:.1} KiB a mod)",
            held as f64 / f64::from(1 << 20),
            held as f64 / 1024.0 / count.max(1) as f64
        );
    }
    app
}

fn idle(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/idle");
    let counts = match std::env::var("BENCH_IDLE") {
        Ok(count) => vec![count.parse().expect("BENCH_IDLE is a number of mods")],
        Err(_) => vec![0, 1, 100, 1000, 10_000],
    };
    for count in counts {
        let mut app = measured_app("echo", count, false);
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| app.update())
        });
    }
    group.finish();
}

fn host_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/host_call");
    let mut app = measured_app("ticker", 100, true);
    // Check that a frame does what it says: 100 host calls.
    let before = app.world().resource::<HostCalls>().0;
    app.update();
    let made = app.world().resource::<HostCalls>().0 - before;
    assert_eq!(made, 100, "host calls in one frame");
    group.bench_function(BenchmarkId::from_parameter(100), |b| {
        b.iter(|| app.update())
    });
    group.finish();
}

criterion_group!(benches, idle, host_calls);

fn main() {
    if let Ok(spec) = std::env::var("COUNT") {
        let mut parts = spec.split(':');
        let (Some(case), Some(mods), Some(frames), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("COUNT=<case>:<mods>:<frames>");
        };
        let mods: usize = mods.parse().expect("a number of mods");
        let frames: usize = frames.parse().expect("a number of frames");
        let mut app = match case {
            "idle" => app_with("echo", mods, false),
            "host_call" => app_with("ticker", mods, true),
            _ => panic!("unknown COUNT case `{case}`: idle, host_call"),
        };
        for _ in 0..frames {
            app.update();
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

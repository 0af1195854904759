//! Per-frame cost of the Bevy driver (issue #3 item 11), measured as one `App::update`
//! of a headless app (`MinimalPlugins` + `AssetPlugin` + the plugin):
//!
//! - `frame/idle/N`: N idle mods (the `echo` test mod, started and waiting for calls);
//!   `frame/idle/0` is the same app without mods, the baseline to subtract.
//! - `frame/host_call/100`: 100 `ticker` mods; every frame a system broadcasts the
//!   `game.tick` event and each mod answers it by calling the host method `game.frame`
//!   once (so a frame delivers 100 events and serves 100 host calls).
//!
//! The frame's wall-time budget is set high so every mod runs every frame.

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

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

fn idle(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/idle");
    for count in [0, 1, 100, 1000] {
        let mut app = app_with("echo", count, false);
        group.bench_function(BenchmarkId::from_parameter(count), |b| {
            b.iter(|| app.update())
        });
    }
    group.finish();
}

fn host_calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame/host_call");
    let mut app = app_with("ticker", 100, true);
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
criterion_main!(benches);

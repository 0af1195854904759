//! What a mod's ECS access costs (issue 14): the `steer` test mod (`test-mods/steer`)
//! reads N entities' `Transform` and `Velocity` and writes each a new `Velocity`, for
//! N = 10, 100, 1000 and 10 000, against the same steering as a native Bevy system.
//!
//! Each case measures one frame (`App::update`) in which the game calls the mod's
//! `steer` and the mod answers in the same frame (checked). The groups:
//!
//! - `ecs/bulk/N`: `bulk.query` + one `bulk.mutate_components` (the extension);
//! - `ecs/brp_bulk/N`: BRP's `world.query` + one `bulk.mutate_components`;
//! - `ecs/per_entity/N`: `world.query` + one `world.mutate_components` per entity, BRP
//!   alone: the "before" (N ≤ 1000; 10 000 takes seconds);
//! - `ecs/packed/N`: `bulk` in the packed form (postcard bytes as attachments), with the
//!   PDK's typed `world::query_packed` and `Commands::mutate_packed`;
//! - `ecs/query/N`, `ecs/query_packed/N`, `ecs/query_brp/N`: the reads alone;
//!   `ecs/write/N`, `ecs/write_packed/N`: the write alone;
//! - `ecs/idle/N`: a frame with the mod idle (the frame's own cost, to subtract);
//! - `ecs/native/N`: the steering as a Bevy system, run by a `Schedule` on the world.
//!
//! Throughput is per entity, so criterion's `elem/s` is entities per second. The guest
//! fuel of each case's frame is printed once (`fuel/frame`).
//!
//! Counting mode, for `valgrind --tool=callgrind`: `COUNT=<mode>:<n>:<frames>` sets up
//! `n` entities and runs `frames` frames of `mode` (one of the modes above), then exits;
//! the instructions of a frame are the difference of two runs over the difference of
//! `frames`, and which functions they are in splits the guest (wasmi's handlers) from
//! the host (reflection, JSON).

// `criterion_group!` generates undocumented functions.
#![allow(missing_docs)]

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use bevy_wasmi_plugins::runtime::Limits;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use serde_json::json;

const STEER: &[u8] = include_bytes!("../tests/mods/steer.wasm");

/// The component the mod writes, `steer::Velocity`.
#[derive(Component, Reflect, Clone, Copy, Default, Debug, PartialEq)]
#[reflect(Component, Default)]
#[type_path = "steer"]
struct Velocity {
    x: f32,
    y: f32,
}

/// The mod's steering, natively: a quarter turn of the position, halved.
fn steer_native(mut query: Query<(&Transform, &mut Velocity)>) {
    for (transform, mut velocity) in &mut query {
        let t = transform.translation;
        *velocity = Velocity {
            x: -t.y * 0.5,
            y: t.x * 0.5,
        };
    }
}

fn assets() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bevy_wasmi_plugins-ecs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("mods")).expect("temp dir");
    std::fs::write(dir.join("mods/steer.wasm"), STEER).expect("writes");
    dir
}

fn spawn_entities(world: &mut World, n: usize) {
    for i in 0..n {
        let (x, y) = ((i % 100) as f32, (i / 100) as f32);
        world.spawn((Transform::from_xyz(x, y, 0.0), Velocity::default()));
    }
}

/// An app with `n` steered entities and the `steer` mod, started.
fn app_with(n: usize) -> (App, Entity) {
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
            .with_frame_budget(Duration::from_secs(60))
            .with_fuel_per_frame(50_000_000_000)
            .with_limits(
                Limits::new()
                    .with_max_input_buffer(64 << 20)
                    .with_max_output_per_activation(64 << 20)
                    .with_max_messages_per_run(100_000)
                    .with_max_fuel_per_activation(u64::MAX / 2)
                    .with_max_fuel_per_call(u64::MAX / 2),
            ),
    ))
    .register_type::<Transform>()
    .register_type::<Velocity>();
    spawn_entities(app.world_mut(), n);
    let handle: Handle<WasmModAsset> = app
        .world()
        .resource::<AssetServer>()
        .load("mods/steer.wasm");
    let permissions = ModPermissions::none()
        .allow_read::<Transform>()
        .allow_write::<Velocity>();
    let entity = app
        .world_mut()
        .spawn((WasmMod::new(handle), permissions))
        .id();
    for _ in 0..10_000 {
        app.update();
        if matches!(app.world().get::<ModStatus>(entity), Some(ModStatus::Idle)) {
            return (app, entity);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("the steer mod did not start");
}

/// One frame in which the game calls `steer` with `mode` and the mod answers; returns
/// the mod's answer (entities steered).
fn steer_frame(app: &mut App, mode: &str) -> usize {
    let call = app
        .world()
        .resource::<ModRpc>()
        .call("steer", "steer", &json!({ "mode": mode }));
    app.update();
    let mut frames = 1;
    let answer = loop {
        if let Some(answer) = call.try_result() {
            break answer;
        }
        assert!(frames < 1000, "`steer` {mode} was not answered");
        app.update();
        frames += 1;
    };
    assert_eq!(frames, 1, "`steer` {mode} took {frames} frames");
    let answer = answer.unwrap_or_else(|e| panic!("`steer` {mode} failed: {e:?}"));
    serde_json::from_str(answer.get()).expect("a count")
}

const MODES: [&str; 9] = [
    "bulk",
    "packed",
    "brp_bulk",
    "per_entity",
    "query",
    "query_packed",
    "query_brp",
    "write",
    "write_packed",
];

fn ecs(c: &mut Criterion) {
    // `ECS_N=1000` runs one size only.
    let sizes: Vec<usize> = match std::env::var("ECS_N") {
        Ok(n) => vec![n.parse().expect("ECS_N is a number of entities")],
        Err(_) => vec![10, 100, 1000, 10_000],
    };
    for n in sizes {
        let (mut app, entity) = app_with(n);
        // The entities the mod steers, checked once: every Velocity is written.
        assert_eq!(steer_frame(&mut app, "bulk"), n);
        let world = app.world_mut();
        let mut query = world.query::<(&Transform, &Velocity)>();
        for (transform, velocity) in query.iter(world) {
            assert_eq!(velocity.x, -transform.translation.y * 0.5);
        }
        for mode in MODES {
            // BRP's `world.query` has no paging: 10 000 rows are more than the 1 MiB line
            // the PDK reads; one `world.mutate_components` per entity takes seconds.
            if matches!(mode, "per_entity" | "brp_bulk" | "query_brp") && n > 1000 {
                continue;
            }
            let mut group = c.benchmark_group(format!("ecs/{mode}"));
            group.throughput(Throughput::Elements(n as u64));
            if n >= 1000 {
                group.sample_size(10);
            }
            assert_eq!(steer_frame(&mut app, mode), n);
            let fuel = app.world().get::<ModFuel>(entity).expect("fuel").last_frame;
            eprintln!(
                "fuel/frame ecs/{mode}/{n}: {fuel} ({} per entity)",
                fuel / n as u64
            );
            group.bench_function(BenchmarkId::from_parameter(n), |b| {
                b.iter(|| steer_frame(&mut app, mode));
            });
            group.finish();
        }
        let mut group = c.benchmark_group("ecs/idle");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| app.update()));
        group.finish();

        let mut world = World::new();
        spawn_entities(&mut world, n);
        let mut schedule = Schedule::default();
        schedule.add_systems(steer_native);
        schedule.run(&mut world);
        let mut group = c.benchmark_group("ecs/native");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::from_parameter(n), |b| {
            b.iter(|| schedule.run(&mut world))
        });
        group.finish();
    }
}

criterion_group!(benches, ecs);

fn main() {
    if let Ok(spec) = std::env::var("COUNT") {
        let mut parts = spec.split(':');
        let (Some(mode), Some(n), Some(frames), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            panic!("COUNT=<mode>:<n>:<frames>");
        };
        let n: usize = n.parse().expect("a number of entities");
        let frames: usize = frames.parse().expect("a number of frames");
        let (mut app, _) = app_with(n);
        for _ in 0..frames {
            assert_eq!(steer_frame(&mut app, mode), n);
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

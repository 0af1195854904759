//! The Bevy layer on a headless `App` (`MinimalPlugins` + `AssetPlugin` + the plugin)
//! with the committed PDK mod `echo` (`test-mods/echo`), copied into a temporary asset
//! folder per test.
//!
//! Inside wasm32 under Node (`scripts/web-test.sh`) the same tests run through
//! wasm-bindgen-test, but for those that need a file system, threads or the asset
//! server's loading (which runs on the JavaScript event loop, between tests' frames:
//! `bevy_web.rs` covers it). There a test's mods are compiled by the test and added as
//! assets ([`WasmModAsset::new`]), not loaded from files.
#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
use std::path::{Path, PathBuf};
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bevy::ecs::resource::IsResource;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, ResponseError};
use bevy_wasmi_plugins::runtime::{ModConfig, ModInstance, Runtime};
use serde_json::{Value, json};

// The tests, by topic, in `tests/bevy/` (a test crate's root looks for its modules beside
// it, where cargo would take them for test crates of their own).
#[path = "bevy/abuse.rs"]
mod abuse;
#[path = "bevy/brp_rest.rs"]
mod brp_rest;
#[path = "bevy/calls.rs"]
mod calls;
#[path = "bevy/costs.rs"]
mod costs;
#[path = "bevy/lifecycle.rs"]
mod lifecycle;
// Not inside wasm32: it loads mods folders and .meta files from disk.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[path = "bevy/loading.rs"]
mod loading;
#[path = "bevy/packed.rs"]
mod packed;
#[path = "bevy/permissions.rs"]
mod permissions;
// Not inside wasm32: it compares with a fixture file.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[path = "bevy/schema.rs"]
mod schema;
#[path = "bevy/watch.rs"]
mod watch;
#[path = "bevy/world.rs"]
mod world;

const ECHO: &[u8] = include_bytes!("mods/echo.wasm");
// Used by tests that do not run inside wasm32.
#[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), allow(dead_code))]
const BENCH_GUEST: &[u8] = include_bytes!("mods/bench_guest.wasm");

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
/// A temporary asset folder, removed when the test ends (also when it fails).
struct Assets(PathBuf);

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl std::ops::Deref for Assets {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
impl Drop for Assets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
/// A fresh asset folder with `mods/<name>.wasm` for each of `mods`.
fn asset_dir(mods: &[(&str, &[u8])]) -> Assets {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "bevy_wasmi_plugins-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("mods")).unwrap();
    for (name, bytes) in mods {
        std::fs::write(dir.join("mods").join(format!("{name}.wasm")), bytes).unwrap();
    }
    Assets(dir)
}

/// Inside wasm32: the test's mods, by name, to compile when a test starts one.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[derive(Resource, Clone)]
struct Assets(Vec<(String, Vec<u8>)>);

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn asset_dir(mods: &[(&str, &[u8])]) -> Assets {
    Assets(
        mods.iter()
            .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
            .collect(),
    )
}

#[derive(Component, Reflect, Debug, PartialEq, Clone, Copy, serde::Deserialize)]
#[reflect(Component)]
struct Position {
    x: f32,
    y: f32,
}

#[derive(Component, Reflect, Debug, PartialEq, Default)]
#[reflect(Component)]
struct Frozen;

#[derive(Resource, Reflect, Debug, PartialEq, Default)]
#[reflect(Resource)]
struct Score(u32);

#[derive(Message, Reflect, Debug, PartialEq, Clone)]
#[reflect(Message)]
struct Boom {
    power: u32,
}

/// `MinimalPlugins`, an `AssetPlugin` reading `assets`, and the plugin as `plugin` sets
/// it up.
fn test_app(assets: &Assets, plugin: WasmiPluginsPlugin, watch: bool) -> App {
    let mut app = App::new();
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    let asset_plugin = AssetPlugin {
        file_path: assets.to_string_lossy().into_owned(),
        watch_for_changes_override: Some(watch),
        ..default()
    };
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    let asset_plugin = {
        assert!(!watch, "no watched folders inside wasm32");
        app.insert_resource(assets.clone());
        AssetPlugin::default()
    };
    app.add_plugins((MinimalPlugins, asset_plugin, plugin))
        .register_type::<Position>()
        .register_type::<Frozen>()
        .register_type::<Score>()
        .register_type::<Boom>()
        .add_message::<Boom>()
        .init_resource::<Score>();
    app
}

/// [`plain_app`] with a frame budget no slow build or busy machine runs out of: for
/// tests of what happens within a frame, not of budgets (a mod stopped by the budget
/// mid-way would show as running for another frame).
fn patient_app(assets: &Assets) -> App {
    test_app(
        assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_frame_budget(Duration::from_secs(60)),
        false,
    )
}

/// A test app with the plugin's defaults, except that mods are spawned by the test.
fn plain_app(assets: &Assets) -> App {
    test_app(
        assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        false,
    )
}

/// Runs frames until `done` holds, at most `frames` of them, with a [`pause`] after each;
/// panics otherwise.
fn update_until(
    app: &mut App,
    frames: usize,
    what: &str,
    mut done: impl FnMut(&mut World) -> bool,
) -> usize {
    for frame in 0..frames {
        app.update();
        if done(app.world_mut()) {
            return frame + 1;
        }
        pause();
    }
    panic!("not {what} after {frames} frames");
}

/// Lets 2 ms pass between frames (natively, so asset I/O can finish).
fn pause() {
    wait(Duration::from_millis(2));
}

/// Lets `time` pass: natively a sleep; inside wasm32, where a thread cannot sleep, a wait
/// on the clock.
fn wait(time: Duration) {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    std::thread::sleep(time);
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let start = bevy::platform::time::Instant::now();
        while start.elapsed() < time {}
    }
}

// Used by tests that do not run inside wasm32.
#[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), allow(dead_code))]
fn mod_entity(world: &mut World, name: &str) -> Option<Entity> {
    let mut mods = world.query::<(Entity, &ModInfo)>();
    mods.iter(world)
        .find(|(_, info)| &*info.name == name)
        .map(|(entity, _)| entity)
}

/// The entity named `mod <name>`: it has that name before its mod has started (or when
/// it never does), unlike [`mod_entity`].
// Used by tests that do not run inside wasm32.
#[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), allow(dead_code))]
fn named_mod(world: &mut World, name: &str) -> Option<Entity> {
    let mut named = world.query::<(Entity, &Name)>();
    named
        .iter(world)
        .find(|(_, entity_name)| entity_name.as_str().strip_prefix("mod ") == Some(name))
        .map(|(entity, _)| entity)
}

fn status(world: &World, entity: Entity) -> ModStatus {
    world.get::<ModStatus>(entity).unwrap().clone()
}

/// Spawns `mods/<name>.wasm` as a mod and runs until it is idle.
fn start_mod(app: &mut App, name: &str, permissions: Option<ModPermissions>) -> Entity {
    let handle = mod_asset(app, name);
    let mut entity = app.world_mut().spawn(WasmMod::new(handle));
    if let Some(permissions) = permissions {
        entity.insert(permissions);
    }
    let entity = entity.id();
    update_until(app, 500, "started", |world| {
        matches!(status(world, entity), ModStatus::Idle)
    });
    entity
}

/// The asset of `mods/<name>.wasm`: loaded from the test's folder.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn mod_asset(app: &mut App, name: &str) -> Handle<WasmModAsset> {
    app.world()
        .resource::<AssetServer>()
        .load(format!("mods/{name}.wasm"))
}

/// The asset of the test's mod `name`: compiled here and added (inside wasm32).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn mod_asset(app: &mut App, name: &str) -> Handle<WasmModAsset> {
    let mods = app.world().resource::<Assets>();
    let (_, bytes) = mods.0.iter().find(|(n, _)| n == name).unwrap();
    let module = Runtime::new().compile(name, bytes).unwrap();
    app.world_mut()
        .resource_mut::<bevy::asset::Assets<WasmModAsset>>()
        .add(WasmModAsset::new(module, WasmModSettings::default()))
}

/// Calls a mod and runs frames until the answer arrives.
fn call(app: &mut App, target: impl Into<ModTarget>, method: &str, params: Value) -> Outcome {
    let call = app
        .world()
        .resource::<ModRpc>()
        .call(target, method, &params);
    for _ in 0..200 {
        if let Some(outcome) = call.try_result() {
            return outcome;
        }
        app.update();
    }
    panic!("no answer to {method}");
}

fn json_of(outcome: Outcome) -> Value {
    serde_json::from_str(outcome.expect("the call succeeds").get()).unwrap()
}

/// Has the mod call `method` on the host with `params` (through echo's `relay`).
fn relay(
    app: &mut App,
    target: Entity,
    method: &str,
    params: Value,
) -> Result<Value, ResponseError> {
    call(
        app,
        target,
        "relay",
        json!({ "method": method, "params": params }),
    )
    .map(|raw| serde_json::from_str(raw.get()).unwrap())
}

fn position_path() -> &'static str {
    <Position as TypePath>::type_path()
}

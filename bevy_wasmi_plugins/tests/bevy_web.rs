//! The Bevy layer as a browser build runs it, natively and inside wasm32 under Node
//! (`scripts/web-test.sh`): `MinimalPlugins`, an in-memory asset source holding
//! `mods/index.modlist` and the `echo` mod, and the plugin with its defaults, so the
//! mods folder is found by listing it natively and through the index inside wasm32.
//! The driver's frame budget reads the platform's clock (`performance.now()` in wasm32).
//!
//! Inside wasm32, asset loading runs on the JavaScript event loop, so the tests are
//! `async` and give it a turn between frames.
#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

use std::path::Path;
use std::time::Duration;

use bevy::asset::io::AssetSourceBuilder;
use bevy::asset::io::memory::{Dir, MemoryAssetReader};
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use serde_json::{Value, json};

const ECHO: &[u8] = include_bytes!("mods/echo.wasm");

/// A headless app whose default asset source is in memory and holds the echo mod.
fn app(plugin: WasmiPluginsPlugin) -> App {
    app_with(plugin, &[("echo.wasm", ECHO)], "# test mods\necho.wasm\n")
}

/// A headless app whose in-memory `mods/` folder holds `files` and `index.modlist`.
fn app_with(plugin: WasmiPluginsPlugin, files: &[(&str, &[u8])], index: &str) -> App {
    let dir = Dir::default();
    for (name, bytes) in files {
        dir.insert_asset(&Path::new("mods").join(name), bytes.to_vec());
    }
    dir.insert_asset_text(Path::new("mods/index.modlist"), index);
    let mut app = App::new();
    app.register_asset_source(
        bevy::asset::io::AssetSourceId::Default,
        AssetSourceBuilder::new(move || Box::new(MemoryAssetReader { root: dir.clone() })),
    )
    .add_plugins((MinimalPlugins, AssetPlugin::default(), plugin));
    app
}

/// Lets tasks on the event loop run (inside wasm32), or the I/O threads (natively).
async fn give_a_turn() {
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        web_sys_timeout(&resolve);
    }))
    .await
    .unwrap();
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    std::thread::sleep(Duration::from_millis(1));
}

/// Calls `resolve` from a zero-delay `setTimeout`, a macrotask: the promise jobs that
/// carry Bevy's tasks run before it.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn web_sys_timeout(resolve: &js_sys::Function) {
    use wasm_bindgen::JsCast;
    let set_timeout = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
        .unwrap()
        .dyn_into::<js_sys::Function>()
        .unwrap();
    set_timeout
        .call2(&js_sys::global().into(), resolve, &0.into())
        .unwrap();
}

/// Runs frames until the mod named `name` is idle (started and waiting).
async fn until_idle(app: &mut App, name: &str) -> Entity {
    for _ in 0..2_000 {
        app.update();
        let world = app.world_mut();
        let found = world
            .query::<(Entity, &Name, &ModStatus)>()
            .iter(world)
            .find(|(_, n, _)| n.as_str() == format!("mod {name}"))
            .map(|(entity, _, status)| (entity, status.clone()));
        if let Some((entity, status)) = found {
            assert!(
                !matches!(status, ModStatus::Crashed(_) | ModStatus::Exited(_)),
                "{status:?}"
            );
            if matches!(status, ModStatus::Idle) {
                return entity;
            }
        }
        give_a_turn().await;
    }
    panic!("mod {name} did not start");
}

/// Runs frames until the mod named `name` has crashed; its error, as its status says.
async fn until_crashed(app: &mut App, name: &str) -> String {
    for _ in 0..2_000 {
        app.update();
        let world = app.world_mut();
        let crashed = world
            .query::<(&Name, &ModStatus)>()
            .iter(world)
            .find_map(|(n, status)| match status {
                ModStatus::Crashed(error) if n.as_str() == format!("mod {name}") => {
                    Some(error.to_string())
                }
                _ => None,
            });
        if let Some(error) = crashed {
            return error;
        }
        give_a_turn().await;
    }
    panic!("mod {name} did not crash");
}

/// Calls a mod and runs frames until the answer arrives.
async fn call(app: &mut App, name: &str, method: &str, params: Value) -> Value {
    let call = app.world().resource::<ModRpc>().call(name, method, &params);
    for _ in 0..2_000 {
        if let Some(outcome) = call.try_result() {
            return serde_json::from_str(outcome.unwrap().get()).unwrap();
        }
        app.update();
        give_a_turn().await;
    }
    panic!("no answer to {method}");
}

async fn the_mods_folder_loads_and_a_mod_answers_a_call() {
    let mut app = app(WasmiPluginsPlugin::default());
    until_idle(&mut app, "echo").await;
    let answer = call(&mut app, "echo", "echo", json!({ "hello": [1, 2, 3] })).await;
    assert_eq!(answer, json!({ "hello": [1, 2, 3] }));
}

async fn a_long_computation_spans_frames_within_the_wall_time_budget() {
    // A small fuel slice and wall-time budget: the call takes many frames, each ended
    // by the budget or the slice, and the answer is the same as in one go.
    let plugin = WasmiPluginsPlugin::default()
        .with_fuel_per_frame(200_000)
        .with_frame_budget(Duration::from_micros(500));
    let mut app = app(plugin);
    until_idle(&mut app, "echo").await;
    let iterations = 300_000u64;
    let call =
        app.world()
            .resource::<ModRpc>()
            .call("echo", "spin", &json!({ "iterations": iterations }));
    let mut frames = 0;
    let answer = loop {
        if let Some(outcome) = call.try_result() {
            break serde_json::from_str::<Value>(outcome.unwrap().get()).unwrap();
        }
        assert!(frames < 10_000, "no answer after {frames} frames");
        app.update();
        frames += 1;
        give_a_turn().await;
    };
    let expected = (0..iterations).fold(0u64, |c, i| c.wrapping_mul(31).wrapping_add(i));
    assert_eq!(answer, json!(expected));
    assert!(frames >= 5, "answered after {frames} frames");
}

async fn a_broken_or_missing_mod_in_the_index_crashes_alone() {
    // A function that returns an i64 where it promises an i32, called by `_start`.
    // Natively (lazy translation) it is found when the file loads; on the web, whose
    // default defers validation to a function's first call, when the mod runs it.
    let broken = wat::parse_str(
        r#"(module
            (memory (export "memory") 1)
            (func $bad (result i32) (i64.const 1))
            (func (export "_start") (drop (call $bad))))"#,
    )
    .unwrap();
    let mut app = app_with(
        WasmiPluginsPlugin::default(),
        &[("echo.wasm", ECHO), ("broken.wasm", &broken)],
        "echo.wasm\nbroken.wasm\nmissing.wasm\n",
    );
    let error = until_crashed(&mut app, "broken").await;
    assert!(
        error.contains("mod `broken` is not a valid WebAssembly module"),
        "{error}"
    );
    // Inside wasm32 the folder is what the index lists (natively, what is in it): a file
    // it lists that is not there fails to load and crashes its own mod.
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let error = until_crashed(&mut app, "missing").await;
        assert!(error.contains("missing"), "{error}");
    }
    until_idle(&mut app, "echo").await;
    let answer = call(&mut app, "echo", "echo", json!([1])).await;
    assert_eq!(answer, json!([1]));
}

async fn the_clock_a_mod_reads_is_the_platforms() {
    // echo's `sleep` reads the monotonic clock before and after sleeping (inside wasm32,
    // `performance.now()`): at least the time asked for passes, over several frames.
    let mut app = app(WasmiPluginsPlugin::default());
    until_idle(&mut app, "echo").await;
    let call = app
        .world()
        .resource::<ModRpc>()
        .call("echo", "sleep", &json!({ "ms": 50 }));
    let mut frames = 0;
    let slept = loop {
        if let Some(outcome) = call.try_result() {
            break serde_json::from_str::<u64>(outcome.unwrap().get()).unwrap();
        }
        assert!(frames < 100_000, "no answer after {frames} frames");
        app.update();
        frames += 1;
        give_a_turn().await;
    };
    assert!(slept >= 50, "slept {slept} ms");
    assert!(frames > 1, "answered after {frames} frames");
}

/// Each test is `async` inside wasm32 and driven by `block_on` natively.
macro_rules! tests {
    ($($name:ident),* $(,)?) => {
        mod run {
            $(
                #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
                #[wasm_bindgen_test::wasm_bindgen_test]
                async fn $name() {
                    super::$name().await;
                }

                #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
                #[test]
                fn $name() {
                    futures_lite::future::block_on(super::$name());
                }
            )*
        }
    };
}

tests!(
    the_mods_folder_loads_and_a_mod_answers_a_call,
    a_long_computation_spans_frames_within_the_wall_time_budget,
    a_broken_or_missing_mod_in_the_index_crashes_alone,
    the_clock_a_mod_reads_is_the_platforms,
);

//! A mod's life: fuel slices, crashes, endless loops, hot reload, restarts, unloading,
//! replacing, the frame budget, manifests and logs.

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn a_fuel_sliced_mod_needs_several_frames_and_gets_the_right_answer() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_fuel_per_frame(200_000);
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    let iterations = 300_000u64;
    let expected = (0..iterations).fold(0u64, |c, i| c.wrapping_mul(31).wrapping_add(i));
    let pending =
        app.world()
            .resource::<ModRpc>()
            .call(echo, "spin", &json!({ "iterations": iterations }));
    let mut frames = 0;
    let mut saw_running = false;
    let outcome = loop {
        app.update();
        frames += 1;
        saw_running |= matches!(status(app.world(), echo), ModStatus::Running);
        let fuel = app.world().get::<ModFuel>(echo).unwrap().last_frame;
        assert!(fuel <= 200_000 + 10_000, "fuel per frame {fuel}");
        if let Some(outcome) = pending.try_result() {
            break outcome;
        }
        assert!(frames < 1000, "spin never finished");
    };
    assert_eq!(json_of(outcome), json!(expected));
    assert!(frames > 3, "spin took {frames} frames");
    assert!(saw_running);
    update_until(&mut app, 5, "idle", |world| {
        matches!(status(world, echo), ModStatus::Idle)
    });
}

#[test]
fn a_crashing_mod_stops_alone_and_calls_to_it_fail_at_once() {
    let assets = asset_dir(&[("echo", ECHO), ("healthy", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let healthy = start_mod(&mut app, "healthy", None);
    app.world_mut()
        .resource_mut::<Messages<ModStatusChanged>>()
        .clear();

    let error = call(&mut app, echo, "panic", json!(null)).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModCrashed.code());
    assert!(
        error.message.contains("mod `echo` panicked"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("panic on purpose"),
        "{}",
        error.message
    );
    match status(app.world(), echo) {
        ModStatus::Crashed(e) => assert!(e.to_string().contains("panic on purpose")),
        other => panic!("echo is {other}"),
    }
    let changes: Vec<(String, String)> = app
        .world_mut()
        .resource_mut::<Messages<ModStatusChanged>>()
        .drain()
        .map(|m| (m.name.to_string(), m.status.label().to_owned()))
        .collect();
    assert!(
        changes.contains(&("echo".into(), "crashed".into())),
        "{changes:?}"
    );

    // The healthy one keeps answering.
    assert_eq!(
        json_of(call(&mut app, healthy, "count", json!(null))),
        json!(1)
    );
    // Calls to the crashed one fail without waiting for a frame, by entity or by name.
    let rpc = app.world().resource::<ModRpc>().clone();
    let mut ids = Vec::new();
    for pending in [
        rpc.call(echo, "echo", &json!(1)),
        rpc.call("echo", "echo", &json!(1)),
    ] {
        ids.push(pending.id());
        let error = pending.try_result().expect("fails at once").unwrap_err();
        assert_eq!(error.code, ErrorCode::ModCrashed.code());
    }
    let nobody = rpc.call("nobody", "echo", &());
    ids.push(nobody.id());
    let error = nobody.try_result().unwrap().unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
    assert_eq!(error.message, "no mod is named `nobody`");
    // Their results still arrive as messages.
    app.update();
    let results: Vec<ModCallResult> = app
        .world_mut()
        .resource_mut::<Messages<ModCallResult>>()
        .drain()
        .collect();
    for id in ids {
        let result = results
            .iter()
            .find(|r| r.call == id)
            .expect("a result message");
        assert!(result.result.is_err(), "{result:?}");
    }
}

#[test]
fn an_endless_loop_is_stopped_while_the_game_and_other_mods_go_on() {
    let assets = asset_dir(&[("echo", ECHO), ("healthy", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_limits(Limits::default().with_max_fuel_per_activation(5_000_000));
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    let healthy = start_mod(&mut app, "healthy", None);
    let looping = app
        .world()
        .resource::<ModRpc>()
        .call(echo, "loop_forever", &());
    let answer = app.world().resource::<ModRpc>().call(healthy, "count", &());
    update_until(&mut app, 100, "loop stopped", |_| {
        looping.try_result().is_some_and(|o| {
            let error = o.unwrap_err();
            assert_eq!(error.code, ErrorCode::FuelExhausted.code());
            true
        })
    });
    assert_eq!(json_of(answer.try_result().expect("answered")), json!(1));
}

/// Writes `mods/echo.wasm` again and runs frames until mod `echo` has been reloaded
/// once and is idle.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn rewrite_and_wait_for_reload(app: &mut App, assets: &Path, echo: Entity) {
    // The file watcher needs a moment before it sees writes.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(assets.join("mods/echo.wasm"), ECHO).unwrap();
    update_until(app, 3000, "reloaded", |world| {
        world.get::<ModInfo>(echo).is_some_and(|i| i.restarts == 1)
            && matches!(status(world, echo), ModStatus::Idle)
    });
}

// Not inside wasm32: it rewrites a mod file and waits for hot reload.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn a_changed_wasm_file_restarts_the_mod_with_its_state() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        true,
    );
    let echo = start_mod(&mut app, "echo", None);
    for n in 1..=3 {
        assert_eq!(
            json_of(call(&mut app, echo, "count", json!(null))),
            json!(n)
        );
    }
    rewrite_and_wait_for_reload(&mut app, &assets, echo);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(4)
    );
}

// Not inside wasm32: it rewrites a mod file and waits for hot reload.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn a_mod_that_exits_while_shutting_down_for_a_reload_is_still_reloaded() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        true,
    );
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
    call(&mut app, echo, "exit_on_shutdown", json!({ "code": 3 })).unwrap();
    rewrite_and_wait_for_reload(&mut app, &assets, echo);
    // It exited before answering `plugin.shutdown`: the new version starts afresh.
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
}

#[test]
fn a_restart_policy_brings_a_crashed_mod_back() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_restart_policy(RestartPolicy::with_backoff(2, Duration::from_millis(10)));
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    assert!(call(&mut app, echo, "panic", json!(null)).is_err());
    update_until(&mut app, 500, "restarted", |world| {
        world.get::<ModInfo>(echo).is_some_and(|i| i.restarts == 1)
            && matches!(status(world, echo), ModStatus::Idle)
    });
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
}

#[test]
fn a_restarted_mod_gets_events_only_once_its_new_manifest_asks_for_them() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_restart_policy(RestartPolicy::with_backoff(2, Duration::ZERO));
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    assert!(call(&mut app, echo, "panic", json!(null)).is_err());
    // The next frame starts the new instance and delivers this event, before the new
    // instance has said (in its manifest) which events it wants: it does not get it.
    let rpc = app.world().resource::<ModRpc>().clone();
    rpc.broadcast("game.tick", &()).unwrap();
    update_until(&mut app, 500, "restarted", |world| {
        world.get::<ModInfo>(echo).is_some_and(|i| i.restarts == 1)
            && matches!(status(world, echo), ModStatus::Idle)
    });
    assert_eq!(
        json_of(call(&mut app, echo, "ticks", json!(null))),
        json!(0)
    );
    rpc.broadcast("game.tick", &()).unwrap();
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "ticks", json!(null))),
        json!(1)
    );
}

#[test]
fn a_despawned_mod_is_unloaded_and_its_calls_fail() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let pending = app
        .world()
        .resource::<ModRpc>()
        .call(echo, "sleep", &json!({ "ms": 60_000 }));
    app.update();
    app.world_mut().despawn(echo);
    app.update();
    let error = pending.try_result().expect("failed").unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
    assert_eq!(error.message, "mod `echo` was unloaded");
    let error = app
        .world()
        .resource::<ModRpc>()
        .call("echo", "echo", &())
        .try_result()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
}

#[test]
fn a_despawned_mod_gets_plugin_shutdown_first() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
    app.world_mut().despawn(echo);
    app.update();
    let notifications: Vec<(String, Value)> = app
        .world_mut()
        .resource_mut::<Messages<ModNotification>>()
        .drain()
        .map(|n| (n.method.clone(), n.params::<Value>().unwrap()))
        .collect();
    assert_eq!(notifications, [("echo.shutdown".to_owned(), json!([1]))]);
}

#[test]
fn a_frame_budget_without_limit_holds_for_shutdowns_too() {
    // `Duration::MAX` is "no wall-time limit": a shutdown's deadline is then none, not
    // an instant past the end of time (which panicked).
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_frame_budget(Duration::MAX),
        false,
    );
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
    app.world_mut().despawn(echo);
    app.update();
    let shut_down = app
        .world_mut()
        .resource_mut::<Messages<ModNotification>>()
        .drain()
        .any(|n| n.method == "echo.shutdown");
    assert!(shut_down);
}

#[test]
fn busy_mods_take_turns_when_the_frame_budget_is_spent() {
    let assets = asset_dir(&[("a", ECHO), ("b", ECHO), ("c", ECHO)]);
    // A zero budget: each frame runs one mod with work, the next frame the next one.
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_fuel_per_frame(100_000)
        .with_frame_budget(Duration::ZERO);
    let mut app = test_app(&assets, plugin, false);
    let mods = [
        start_mod(&mut app, "a", None),
        start_mod(&mut app, "b", None),
        start_mod(&mut app, "c", None),
    ];
    let rpc = app.world().resource::<ModRpc>().clone();
    let calls: Vec<ModCall> = mods
        .iter()
        .map(|&m| rpc.call(m, "spin", &json!({ "iterations": 1_000_000 })))
        .collect();
    let mut turns = Vec::new();
    for _ in 0..9 {
        app.update();
        let ran: Vec<usize> = (0..3)
            .filter(|&i| app.world().get::<ModFuel>(mods[i]).unwrap().last_frame > 0)
            .collect();
        assert_eq!(ran.len(), 1, "one mod per frame, got {ran:?}");
        turns.push(ran[0]);
    }
    // Every mod got three of the nine frames, in rotation.
    for i in 0..3 {
        assert_eq!(turns.iter().filter(|&&t| t == i).count(), 3, "{turns:?}");
    }
    assert!(calls.iter().all(|c| c.try_result().is_none()));
}

#[test]
fn an_answer_written_after_notifications_arrives_when_every_frame_is_over_budget() {
    // A frame budget that is always spent (as in a slow browser frame) serves one
    // message of a mod's burst per frame. `notify_host` writes 5 notifications and then
    // its answer, and waits: the rest of the burst must still be served on the next
    // frames though the mod itself has nothing to run. (The `modding` example's greeter,
    // which notifies before it answers, answered nothing in the browser.)
    let assets = asset_dir(&[("echo", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_frame_budget(Duration::ZERO);
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    let rpc = app.world().resource::<ModRpc>().clone();
    let call = rpc.call(echo, "notify_host", &json!({ "times": 5 }));
    let mut frames = 0;
    let mut pings = 0;
    let outcome = loop {
        app.update();
        frames += 1;
        pings += app
            .world_mut()
            .resource_mut::<Messages<ModNotification>>()
            .drain()
            .filter(|n| n.method == "echo.ping")
            .count();
        if let Some(outcome) = call.try_result() {
            break outcome;
        }
        assert!(
            frames < 50,
            "no answer after {frames} frames ({pings} pings)"
        );
    };
    assert_eq!(json_of(outcome), json!(5));
    assert_eq!(pings, 5);
    assert!(
        frames >= 6,
        "one message a frame, answered in {frames} frames"
    );
    assert!(matches!(status(app.world(), echo), ModStatus::Idle));
}

/// Collects the messages of the `warn!`s logged on this thread.
struct Warnings(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl<S: bevy::log::tracing::Subscriber> bevy::log::tracing_subscriber::Layer<S> for Warnings {
    fn on_event(
        &self,
        event: &bevy::log::tracing::Event<'_>,
        _: bevy::log::tracing_subscriber::layer::Context<'_, S>,
    ) {
        if *event.metadata().level() != bevy::log::Level::WARN {
            return;
        }
        let mut message = String::new();
        event.record(&mut |field: &bevy::log::tracing::field::Field,
                           value: &dyn std::fmt::Debug| {
            if field.name() == "message" {
                message = format!("{value:?}");
            }
        });
        self.0.lock().unwrap().push(message);
    }
}

#[test]
fn a_manifest_of_the_wrong_shape_is_ignored_with_a_warning_naming_the_mod() {
    use bevy::log::tracing_subscriber::layer::SubscriberExt;
    // Answers plugin.init (id 1) with `events` as a string, then waits for input.
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"events\":\"game.tick\"}}\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 1000))
            (i32.store (i32.const 4) (i32.const 4096))
            (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 57))
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (loop $l
                (i32.store (i32.const 0) (i32.const 1000))
                (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
                (br $l))))"#;
    let assets = asset_dir(&[("sloppy", &wat::parse_str(wat).unwrap())]);
    let warnings = std::sync::Arc::default();
    let subscriber =
        bevy::log::tracing_subscriber::registry().with(Warnings(std::sync::Arc::clone(&warnings)));
    bevy::log::tracing::subscriber::with_default(subscriber, || {
        let mut app = plain_app(&assets);
        let sloppy = start_mod(&mut app, "sloppy", None);
        let info = app.world().get::<ModInfo>(sloppy).unwrap();
        assert_eq!(info.events, Vec::<String>::new());
    });
    let warnings = warnings.lock().unwrap();
    assert!(
        warnings.contains(
            &"mod `sloppy`: its manifest (the answer to plugin.init) was ignored, so it gets \
              no events: `events` must be an array of strings, not \"game.tick\""
                .to_owned()
        ),
        "{warnings:?}"
    );
}

/// Collects log records whose target is `chatty` (the mod of the test below).
struct Captured;

static CAPTURED: std::sync::Mutex<Vec<(log::Level, String)>> = std::sync::Mutex::new(Vec::new());

impl log::Log for Captured {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        if record.target() == "chatty" {
            CAPTURED
                .lock()
                .unwrap()
                .push((record.level(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

#[test]
fn a_mods_log_lines_go_to_the_log_with_the_mod_as_target() {
    static LOGGER: Captured = Captured;
    log::set_logger(&LOGGER).expect("no other logger in this test binary");
    log::set_max_level(log::LevelFilter::Trace);
    let assets = asset_dir(&[("chatty", ECHO)]);
    let mut app = plain_app(&assets);
    let chatty = start_mod(&mut app, "chatty", None);
    call(
        &mut app,
        chatty,
        "log",
        json!({ "message": "hello from the mod" }),
    )
    .unwrap();
    let logged = CAPTURED.lock().unwrap().clone();
    assert!(
        logged.contains(&(log::Level::Info, "echo: hello from the mod".to_owned())),
        "{logged:?}"
    );
}

#[test]
fn a_replaced_wasm_mod_restarts_the_mod_with_the_new_file() {
    let assets = asset_dir(&[("echo", ECHO), ("other", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
    let other = mod_asset(&mut app, "other");
    app.world_mut().entity_mut(echo).insert(WasmMod::new(other));
    update_until(&mut app, 500, "the new mod started", |world| {
        world
            .get::<ModInfo>(echo)
            .is_some_and(|i| &*i.name == "other")
            && matches!(status(world, echo), ModStatus::Idle)
    });
    // A fresh instance of the new file, under its name; the old name is gone.
    assert_eq!(
        app.world().get::<Name>(echo).map(Name::as_str),
        Some("mod other")
    );
    assert_eq!(
        json_of(call(&mut app, "other", "count", json!(null))),
        json!(1)
    );
    let error = call(&mut app, "echo", "echo", json!(null)).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
}

// Not inside wasm32: it rewrites a mod file and waits for hot reload.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn a_mod_that_ignores_plugin_shutdown_and_waits_is_still_reloaded() {
    // It answers `plugin.init` (the first call, id 1) and then reads and ignores
    // everything, `plugin.shutdown` included, waiting idle for more.
    let deaf = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 1000) "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"name\":\"deaf\"}}\n")
            (func (export "_start")
                (i32.store (i32.const 16) (i32.const 2000))
                (i32.store (i32.const 20) (i32.const 4096))
                (drop (call $read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                (i32.store (i32.const 0) (i32.const 1000))
                (i32.store (i32.const 4) (i32.const 50))
                (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
                (loop $l
                    (drop (call $read (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 8)))
                    (br $l))))"#,
    )
    .unwrap();
    let assets = asset_dir(&[("deaf", &deaf)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        true,
    );
    let mod_ = start_mod(&mut app, "deaf", None);
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(assets.join("mods/deaf.wasm"), &deaf).unwrap();
    // 120 frames to answer, then the reload goes on without its state.
    let frames = update_until(&mut app, 3000, "reloaded", |world| {
        world.get::<ModInfo>(mod_).is_some_and(|i| i.restarts == 1)
            && matches!(status(world, mod_), ModStatus::Idle)
    });
    assert!(frames > 120, "reloaded after {frames} frames");
}

#[test]
fn mods_get_plugin_shutdown_when_the_app_exits() {
    let assets = asset_dir(&[("echo", ECHO), ("sleepy", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let sleepy = start_mod(&mut app, "sleepy", None);
    assert_eq!(
        json_of(call(&mut app, echo, "count", json!(null))),
        json!(1)
    );
    // A mod that sleeps through its shutdown (a blocking sleep) is unloaded anyway after
    // one fuel slice, and its call in flight fails.
    let pending = app
        .world()
        .resource::<ModRpc>()
        .call(sleepy, "sleep", &json!({ "ms": 60_000 }));
    app.update();
    app.world_mut().write_message(AppExit::Success);
    app.update();
    let notifications: Vec<(String, Value)> = app
        .world_mut()
        .resource_mut::<Messages<ModNotification>>()
        .drain()
        .map(|n| (n.method.clone(), n.params::<Value>().unwrap()))
        .collect();
    assert_eq!(notifications, [("echo.shutdown".to_owned(), json!([1]))]);
    let outcome = pending.try_result().expect("the call in flight completed");
    let error = outcome.unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
    assert_eq!(error.message, "mod `sleepy` was unloaded");
}

#[test]
fn the_frame_budget_holds_between_the_host_calls_of_one_mod() {
    // 50 calls of a host method that takes a millisecond, made by one mod in a loop
    // (`roundtrip`): with a 4 ms budget they spread over frames instead of taking one
    // frame of 50 ms.
    let assets = asset_dir(&[("bench_guest", BENCH_GUEST)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_frame_budget(Duration::from_millis(4)),
        false,
    );
    app.add_host_method("add", |In((a, b)): In<(i64, i64)>| {
        wait(Duration::from_millis(1));
        Ok::<_, HostError>(a + b)
    });
    let guest = start_mod(&mut app, "bench_guest", None);
    let pending = app
        .world()
        .resource::<ModRpc>()
        .call(guest, "roundtrip", &json!({ "n": 50 }));
    let mut frames = 0;
    let outcome = loop {
        app.update();
        frames += 1;
        if let Some(outcome) = pending.try_result() {
            break outcome;
        }
        assert!(frames < 1_000);
    };
    let expected: i64 = (0..50).map(|i| i + 2).sum();
    assert_eq!(json_of(outcome), json!(expected));
    assert!(frames >= 10, "answered after {frames} frames");
}

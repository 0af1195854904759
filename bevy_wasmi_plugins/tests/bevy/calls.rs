//! Game → mod: calls, their answers and futures, refused calls, notifications and
//! events, names, and the entity events of a mod.

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn a_call_over_the_mods_message_cap_fails_at_once() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let plugin = WasmiPluginsPlugin::default()
        .with_mod_source(ModSource::None)
        .with_limits(Limits::default().with_max_message_size(4096));
    let mut app = test_app(&assets, plugin, false);
    let echo = start_mod(&mut app, "echo", None);
    let big = json!({ "text": "x".repeat(5000) });
    let rpc = app.world().resource::<ModRpc>().clone();
    let big_call = rpc.call(echo, "echo", &big);
    rpc.broadcast("game.tick", &big).unwrap();
    app.update();
    let error = big_call.try_result().expect("answered").unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    assert!(error.message.contains("mod `echo`"), "{}", error.message);
    let result = app
        .world_mut()
        .resource_mut::<Messages<ModCallResult>>()
        .drain()
        .find(|r| r.call == big_call.id())
        .expect("a result message");
    assert_eq!(
        result.result.unwrap_err().code,
        ErrorCode::MessageTooLarge.code()
    );
    // Neither was written to the mod, which goes on as before.
    assert!(matches!(status(app.world(), echo), ModStatus::Idle));
    assert_eq!(
        json_of(call(&mut app, echo, "ticks", json!(null))),
        json!(0)
    );
}

#[test]
fn scalar_params_are_refused_at_once() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let rpc = app.world().resource::<ModRpc>().clone();
    let expected = "params must be a JSON array or an object (or null for none), not 5";
    let error = rpc
        .call(echo, "echo", &5)
        .try_result()
        .expect("fails at once")
        .unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::InvalidParams.code(), expected)
    );
    let error = rpc.notify(echo, "game.tick", &5).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::InvalidParams.code(), expected)
    );
    let error = rpc.broadcast("game.tick", &"loud").unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParams.code());
    assert!(
        error.message.ends_with(r#"not "loud""#),
        "{}",
        error.message
    );
    app.update();
    // Nothing reached the mod; arrays, objects and `()` still do.
    assert_eq!(
        json_of(call(&mut app, echo, "ticks", json!(null))),
        json!(0)
    );
    assert_eq!(
        json_of(call(&mut app, echo, "echo", json!([5]))),
        json!([5])
    );

    // The runtime refuses them too.
    let runtime = Runtime::new();
    let module = runtime.compile("echo", ECHO).unwrap();
    let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
    let error = instance
        .call("echo", &true)
        .try_result()
        .expect("fails at once")
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidParams.code());
    assert_eq!(
        error.message,
        "invalid params for mod `echo`: params must be a JSON array or an object (or null \
         for none), not true"
    );
    assert_eq!(instance.guest().stdin_pending(), 0);
}

#[test]
fn a_completed_call_gives_the_same_answer_every_time_it_is_polled() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let rpc = app.world().resource::<ModRpc>().clone();
    let answered = rpc.call(echo, "echo", &json!({ "n": 1 }));
    let failed = rpc.call(echo, "fail", &());
    update_until(&mut app, 100, "answered", |_| {
        answered.try_result().is_some() && failed.try_result().is_some()
    });
    for _ in 0..3 {
        assert_eq!(
            json_of(answered.try_result().expect("still there")),
            json!({ "n": 1 })
        );
        let error = failed.try_result().expect("still there").unwrap_err();
        assert_eq!(
            (error.code, error.message.as_str()),
            (-32050, "failed on purpose")
        );
    }
    let outcome = futures_lite::future::block_on(answered.result());
    assert_eq!(json_of(outcome), json!({ "n": 1 }));
}

#[test]
fn notifications_reach_the_game_and_events_reach_subscribed_mods() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, echo, "notify_host", json!({ "times": 2 }))),
        json!(2)
    );
    let pings: Vec<(String, Value)> = app
        .world_mut()
        .resource_mut::<Messages<ModNotification>>()
        .drain()
        .map(|n| (n.method.clone(), n.params::<Value>().unwrap()))
        .collect();
    assert_eq!(
        pings,
        [
            ("echo.ping".into(), json!({ "i": 0 })),
            ("echo.ping".into(), json!({ "i": 1 }))
        ]
    );

    let rpc = app.world().resource::<ModRpc>().clone();
    rpc.broadcast("game.tick", &json!({ "frame": 1 })).unwrap();
    rpc.broadcast("game.other", &()).unwrap();
    rpc.notify(echo, "game.tick", &()).unwrap();
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "ticks", json!(null))),
        json!(2)
    );
}

// Not inside wasm32: it waits for the answer on a thread of its own.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn a_mod_call_is_a_future_too() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let pending = app
        .world()
        .resource::<ModRpc>()
        .call("echo", "add", &json!([2, 3]));
    let id = pending.id();
    let answer = std::thread::spawn(move || futures_lite::future::block_on(pending.typed::<i64>()));
    update_until(&mut app, 100, "answered", |_| answer.is_finished());
    assert_eq!(answer.join().unwrap(), Ok(5));
    let results: Vec<ModCallResult> = app
        .world_mut()
        .resource_mut::<Messages<ModCallResult>>()
        .drain()
        .collect();
    let result = results.iter().find(|r| r.call == id).unwrap();
    assert_eq!(result.entity, Some(echo));
    assert_eq!(result.typed::<i64>(), Ok(5));
}

#[test]
fn a_second_mod_of_one_file_gets_a_name_of_its_own() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let first = start_mod(&mut app, "echo", None);
    let second = start_mod(&mut app, "echo", None);
    let world = app.world();
    assert_eq!(world.get::<Name>(first).unwrap().as_str(), "mod echo");
    assert_eq!(world.get::<Name>(second).unwrap().as_str(), "mod echo#2");
    assert_eq!(
        json_of(call(&mut app, second, "count", json!(null))),
        json!(1)
    );
    assert_eq!(
        json_of(call(&mut app, "echo#2", "count", json!(null))),
        json!(2)
    );
    assert_eq!(
        json_of(call(&mut app, "echo", "count", json!(null))),
        json!(1)
    );
    // Its errors name it too.
    let error = relay(&mut app, second, "world.query", json!({})).unwrap_err();
    assert!(
        error
            .message
            .starts_with("Permission denied: mod `echo#2` "),
        "{}",
        error.message
    );
    // The name stays its own when the first mod goes.
    app.world_mut().despawn(first);
    app.update();
    let error = call(&mut app, "echo", "count", json!(null)).unwrap_err();
    assert_eq!(error.message, "no mod is named `echo`");
    assert_eq!(
        json_of(call(&mut app, "echo#2", "count", json!(null))),
        json!(3)
    );
}

#[test]
fn mods_the_game_compiled_itself_are_named_after_their_module() {
    let assets = asset_dir(&[]);
    let mut app = plain_app(&assets);
    let spawn = |app: &mut App| {
        let module = Runtime::new().compile("built_in", ECHO).unwrap();
        let handle = app
            .world_mut()
            .resource_mut::<bevy::asset::Assets<WasmModAsset>>()
            .add(WasmModAsset::new(module, WasmModSettings::default()));
        app.world_mut().spawn(WasmMod::new(handle)).id()
    };
    let first = spawn(&mut app);
    let second = spawn(&mut app);
    update_until(&mut app, 500, "started", |world| {
        [first, second]
            .iter()
            .all(|mod_entity| matches!(status(world, *mod_entity), ModStatus::Idle))
    });
    // Two modules of one name are two mods of distinct names, as two mods of one file.
    let world = app.world();
    assert_eq!(world.get::<Name>(first).unwrap().as_str(), "mod built_in");
    assert_eq!(
        world.get::<Name>(second).unwrap().as_str(),
        "mod built_in#2"
    );
    assert_eq!(&*world.get::<ModInfo>(second).unwrap().name, "built_in#2");
    assert_eq!(
        json_of(call(&mut app, "built_in#2", "count", json!(null))),
        json!(1)
    );
    assert_eq!(
        json_of(call(&mut app, "built_in", "count", json!(null))),
        json!(1)
    );
    let error = relay(&mut app, second, "world.query", json!({})).unwrap_err();
    assert!(
        error
            .message
            .starts_with("Permission denied: mod `built_in#2` "),
        "{}",
        error.message
    );
}

#[test]
fn a_mod_the_game_compiled_that_fails_to_start_is_known_by_its_modules_name() {
    // Its slot took the module's name before the instance failed (a start section that
    // loops): calls by that name get its crash, not "no mod is named".
    let wat = r#"(module
        (memory (export "memory") 1)
        (func $forever (loop $l (br $l)))
        (start $forever)
        (func (export "_start")))"#;
    let assets = asset_dir(&[]);
    let mut app = plain_app(&assets);
    let module = Runtime::new()
        .compile("looper", &wat::parse_str(wat).unwrap())
        .unwrap();
    let handle = app
        .world_mut()
        .resource_mut::<bevy::asset::Assets<WasmModAsset>>()
        .add(WasmModAsset::new(module, WasmModSettings::default()));
    let looper = app.world_mut().spawn(WasmMod::new(handle)).id();
    update_until(&mut app, 100, "crashed", |world| {
        matches!(status(world, looper), ModStatus::Crashed(_))
    });
    let error = call(&mut app, "looper", "anything", json!(null)).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code(), "{error:?}");
    assert!(
        error.message.contains("its start section used more than"),
        "{}",
        error.message
    );
}

// Not inside wasm32: it loads its mod through the asset server.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn status_changes_and_notifications_are_entity_events_too() {
    #[derive(Resource, Default)]
    struct Seen(Vec<String>);
    let assets = asset_dir(&[("echo", ECHO)]);
    // A mod stopped by the budget between its notification and its answer would add
    // "running" and "idle" to what is seen (seen once in CI, with the tests running in
    // parallel on two cores).
    let mut app = patient_app(&assets);
    app.init_resource::<Seen>();
    let handle = app.world().resource::<AssetServer>().load("mods/echo.wasm");
    let echo = app
        .world_mut()
        .spawn(WasmMod::new(handle))
        .observe(|changed: On<ModStatusChanged>, mut seen: ResMut<Seen>| {
            seen.0
                .push(format!("{} is {}", changed.name, changed.status));
        })
        .observe(|notified: On<ModNotification>, mut seen: ResMut<Seen>| {
            seen.0
                .push(format!("{} sent {}", notified.name, notified.method));
        })
        .id();
    update_until(&mut app, 500, "started", |world| {
        matches!(status(world, echo), ModStatus::Idle)
    });
    assert_eq!(
        json_of(call(&mut app, echo, "notify_host", json!({ "times": 1 }))),
        json!(1)
    );
    assert_eq!(
        app.world().resource::<Seen>().0,
        ["echo is starting", "echo is idle", "echo sent echo.ping"]
    );
}

/// Runs frames until `call` completes, at most `max` of them (with a short sleep each, so
/// a sleeping mod wakes); returns the outcome and the frames it took.
fn run_until_answered(app: &mut App, call: &ModCall, max: usize) -> (Outcome, usize) {
    for frame in 1..=max {
        app.update();
        if let Some(outcome) = call.try_result() {
            return (outcome, frame);
        }
        pause();
    }
    panic!("no answer after {max} frames");
}

#[test]
fn a_call_past_its_deadline_in_frames_fails_and_the_mod_carries_on() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    // The mod sleeps 300 ms before it answers: longer than three frames.
    let call = app.world().resource::<ModRpc>().call_with_deadline(
        echo,
        "sleep",
        &json!({ "ms": 300 }),
        CallDeadline::frames(3),
    );
    let (outcome, frames) = run_until_answered(&mut app, &call, 100);
    assert_eq!(frames, 3);
    let error = outcome.unwrap_err();
    assert_eq!(error.code, ErrorCode::DeadlineExceeded.code());
    assert_eq!(
        error.message,
        "mod `echo` did not answer `sleep` within its deadline of 3 frames"
    );
    // The game's message says the same.
    let results: Vec<_> = app
        .world_mut()
        .resource_mut::<Messages<ModCallResult>>()
        .drain()
        .filter(|result| result.call == call.id())
        .collect();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].result.as_ref().unwrap_err(), &error);
    // The mod carries on: when it wakes it answers the next call (its late answer to
    // `sleep` is dropped).
    let next = app
        .world()
        .resource::<ModRpc>()
        .call(echo, "echo", &json!({ "still": "here" }));
    let (outcome, _) = run_until_answered(&mut app, &next, 1000);
    assert_eq!(json_of(outcome), json!({ "still": "here" }));
    assert!(!matches!(status(app.world(), echo), ModStatus::Crashed(_)));
}

// Not inside wasm32: it writes a .meta file.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn the_plugin_a_meta_file_and_the_entity_set_a_mods_deadline_in_frames() {
    let assets = asset_dir(&[("echo", ECHO), ("other", ECHO)]);
    std::fs::write(
        assets.join("mods/echo.wasm.meta"),
        r#"(
    meta_format_version: "1.0",
    asset: Load(
        loader: "bevy_wasmi_plugins::asset::WasmModLoader",
        settings: (call_deadline_frames: Some(5)),
    ),
)"#,
    )
    .unwrap();
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_call_deadline_frames(2),
        false,
    );
    let echo = start_mod(&mut app, "echo", None);
    let other = start_mod(&mut app, "other", None);
    let rpc = app.world().resource::<ModRpc>().clone();
    let slow = json!({ "ms": 300 });
    let (outcome, frames) = run_until_answered(&mut app, &rpc.call(other, "sleep", &slow), 100);
    assert_eq!(frames, 2);
    assert_eq!(
        outcome.unwrap_err().message,
        "mod `other` did not answer `sleep` within its deadline of 2 frames"
    );
    let (outcome, frames) = run_until_answered(&mut app, &rpc.call(echo, "sleep", &slow), 100);
    assert_eq!(frames, 5);
    assert_eq!(
        outcome.unwrap_err().message,
        "mod `echo` did not answer `sleep` within its deadline of 5 frames"
    );
    // The entity's deadline wins over its `.meta` file's (a second mod of `echo.wasm`).
    let handle = app.world().resource::<AssetServer>().load("mods/echo.wasm");
    let second = app
        .world_mut()
        .spawn(WasmMod::new(handle).with_call_deadline(CallDeadline::frames(3)))
        .id();
    update_until(&mut app, 500, "started", |world| {
        matches!(status(world, second), ModStatus::Idle)
    });
    let (outcome, frames) = run_until_answered(&mut app, &rpc.call(second, "sleep", &slow), 100);
    assert_eq!(frames, 3);
    assert_eq!(
        outcome.unwrap_err().message,
        "mod `echo#2` did not answer `sleep` within its deadline of 3 frames"
    );
    // A call's own deadline wins over all.
    let call = rpc.call_with_deadline(second, "echo", &json!([1]), CallDeadline::frames(1));
    let (outcome, frames) = run_until_answered(&mut app, &call, 1000);
    // `echo#2` still sleeps (300 ms) when the call arrives, so it cannot answer in time.
    assert_eq!(frames, 1);
    assert_eq!(
        outcome.unwrap_err().code,
        ErrorCode::DeadlineExceeded.code()
    );
}

#[test]
fn a_call_past_its_own_fuel_deadline_fails_while_the_mod_works_on() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    // About 30 million fuel of work, in slices of a million a frame.
    let call = app.world().resource::<ModRpc>().call_with_deadline(
        echo,
        "spin",
        &json!({ "iterations": 3_000_000 }),
        CallDeadline::fuel(2_000_000),
    );
    let (outcome, frames) = run_until_answered(&mut app, &call, 100);
    assert!(frames <= 4, "{frames}");
    let error = outcome.unwrap_err();
    assert_eq!(error.code, ErrorCode::DeadlineExceeded.code());
    assert!(
        error
            .message
            .contains("within its deadline of 2000000 fuel"),
        "{}",
        error.message
    );
    let next = app
        .world()
        .resource::<ModRpc>()
        .call(echo, "echo", &json!([2]));
    let (outcome, _) = run_until_answered(&mut app, &next, 200);
    assert_eq!(json_of(outcome), json!([2]));
}

//! Game → mod: calls, their answers and futures, refused calls, notifications and
//! events, names, and the entity events of a mod.

use super::*;

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
    let mut instance = ModInstance::new(&runtime, &module, &ModConfig::default()).unwrap();
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
fn status_changes_and_notifications_are_entity_events_too() {
    #[derive(Resource, Default)]
    struct Seen(Vec<String>);
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
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

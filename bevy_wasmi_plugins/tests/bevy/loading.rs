//! Finding and loading mods: the mods folder, `.modlist` files, bad files, `.meta`
//! settings, `plugin.init` config, a watched folder, and reflection of the mod components.

use super::*;

#[test]
fn mods_in_the_mods_folder_load_by_themselves_and_report_their_manifest() {
    let assets = asset_dir(&[("echo", ECHO), ("second", ECHO)]);
    let mut app = test_app(&assets, WasmiPluginsPlugin::default(), false);
    // Messages last two frames: keep echo's status changes as they come, since the
    // other mod may start some frames later.
    #[derive(Resource, Default)]
    struct EchoChanges(Vec<String>);
    app.init_resource::<EchoChanges>().add_systems(
        Update,
        (|mut changes: MessageReader<ModStatusChanged>, mut seen: ResMut<EchoChanges>| {
            for change in changes.read().filter(|m| &*m.name == "echo") {
                seen.0.push(change.status.label().to_owned());
            }
        })
        .after(WasmiPluginsSystems::Drive),
    );
    update_until(&mut app, 500, "both mods idle", |world| {
        let mut statuses = world.query::<&ModStatus>();
        let idle = statuses
            .iter(world)
            .filter(|s| matches!(s, ModStatus::Idle))
            .count();
        idle == 2
    });
    let world = app.world_mut();
    let mut infos = world.query::<&ModInfo>();
    let mut names: Vec<String> = infos.iter(world).map(|i| i.name.to_string()).collect();
    names.sort();
    assert_eq!(names, ["echo", "second"]);
    let echo = mod_entity(world, "echo").unwrap();
    assert_eq!(world.get::<Name>(echo).map(Name::as_str), Some("mod echo"));
    let info = world.get::<ModInfo>(echo).unwrap();
    assert!(
        info.methods.iter().any(|m| m == "echo"),
        "{:?}",
        info.methods
    );
    assert_eq!(info.events, ["game.tick"]);
    assert_eq!(info.version.as_deref(), Some("0.1.0"));
    assert_eq!(world.resource::<EchoChanges>().0, ["starting", "idle"]);
    assert_eq!(
        json_of(call(&mut app, "second", "echo", json!({ "hi": 1 }))),
        json!({ "hi": 1 })
    );
}

#[test]
fn a_bad_file_in_the_mods_folder_crashes_only_its_own_mod() {
    let assets = asset_dir(&[("echo", ECHO), ("broken", b"garbage, not wasm")]);
    let mut app = test_app(&assets, WasmiPluginsPlugin::default(), false);
    let broken = |world: &mut World| named_mod(world, "broken");
    update_until(&mut app, 500, "echo idle and broken crashed", |world| {
        let echo_idle =
            mod_entity(world, "echo").is_some_and(|e| matches!(status(world, e), ModStatus::Idle));
        let broken_crashed =
            broken(world).is_some_and(|e| matches!(status(world, e), ModStatus::Crashed(_)));
        echo_idle && broken_crashed
    });
    assert_eq!(
        json_of(call(&mut app, "echo", "echo", json!({ "still": "here" }))),
        json!({ "still": "here" })
    );
    let entity = broken(app.world_mut()).unwrap();
    let ModStatus::Crashed(error) = status(app.world(), entity) else {
        unreachable!()
    };
    assert!(
        matches!(error.kind, ModErrorKind::LoadFailed { .. }),
        "{error:?}"
    );
    assert_eq!(error.mod_name(), "broken");
    let message = error.to_string();
    assert!(
        message.starts_with("mod `broken` could not be loaded"),
        "{message}"
    );
    let error = call(&mut app, "broken", "echo", json!(null)).unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
    assert!(error.message.contains("`broken`"), "{}", error.message);
}

#[test]
fn a_mod_file_that_failed_to_load_starts_once_it_is_fixed() {
    // Say a file was still being copied when it was first read.
    let assets = asset_dir(&[("late", b"\0asm, cut short")]);
    let mut app = test_app(&assets, WasmiPluginsPlugin::default(), true);
    let late = |world: &mut World| named_mod(world, "late");
    update_until(&mut app, 1500, "late crashed", |world| {
        late(world).is_some_and(|e| matches!(status(world, e), ModStatus::Crashed(_)))
    });
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(assets.join("mods/late.wasm"), ECHO).unwrap();
    update_until(&mut app, 3000, "late started", |world| {
        late(world).is_some_and(|e| matches!(status(world, e), ModStatus::Idle))
    });
    assert_eq!(
        json_of(call(&mut app, "late", "add", json!([2, 3]))),
        json!(5)
    );
}

#[test]
fn a_mod_list_names_the_mods_to_load() {
    let assets = asset_dir(&[("echo", ECHO), ("unlisted", ECHO)]);
    std::fs::write(assets.join("mods/index.modlist"), "# mods\n\necho.wasm\n").unwrap();
    let plugin =
        WasmiPluginsPlugin::default().with_mod_source(ModSource::List("mods/index.modlist".into()));
    let mut app = test_app(&assets, plugin, false);
    update_until(&mut app, 500, "echo idle", |world| {
        mod_entity(world, "echo").is_some_and(|e| matches!(status(world, e), ModStatus::Idle))
    });
    for _ in 0..20 {
        app.update();
    }
    let world = app.world_mut();
    assert_eq!(world.query::<&WasmMod>().iter(world).count(), 1);
}

#[test]
fn an_invalid_wasm_file_is_a_load_error_naming_the_mod() {
    let assets = asset_dir(&[("broken", b"this is not wasm")]);
    let mut app = plain_app(&assets);
    let handle = app
        .world()
        .resource::<AssetServer>()
        .load("mods/broken.wasm");
    let entity = app.world_mut().spawn(WasmMod::new(handle)).id();
    update_until(&mut app, 500, "failed", |world| {
        matches!(status(world, entity), ModStatus::Crashed(_))
    });
    let ModStatus::Crashed(error) = status(app.world(), entity) else {
        unreachable!()
    };
    let message = error.to_string();
    assert!(
        message.starts_with("mod `broken` could not be loaded"),
        "{message}"
    );
    assert!(
        message.contains("not a valid WebAssembly module"),
        "{message}"
    );
    let error = app
        .world()
        .resource::<ModRpc>()
        .call(entity, "echo", &())
        .try_result()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
}

#[test]
fn config_reaches_plugin_init_in_the_chosen_schedule() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .in_schedule(PostUpdate),
        false,
    );
    let handle = app.world().resource::<AssetServer>().load("mods/echo.wasm");
    let entity = app
        .world_mut()
        .spawn(WasmMod::new(handle).with_config(&json!({ "start": 10 })))
        .id();
    update_until(&mut app, 500, "idle", |world| {
        matches!(status(world, entity), ModStatus::Idle)
    });
    assert_eq!(
        json_of(call(&mut app, entity, "config", json!(null))),
        json!({ "start": 10 })
    );
}

#[test]
fn a_wasm_file_added_to_a_watched_mods_folder_starts_as_a_new_mod() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(&assets, WasmiPluginsPlugin::default(), true);
    update_until(&mut app, 1500, "echo idle", |world| {
        mod_entity(world, "echo").is_some_and(|e| matches!(status(world, e), ModStatus::Idle))
    });
    std::fs::create_dir_all(assets.join("mods/later")).unwrap();
    std::fs::write(assets.join("mods/later/late.wasm"), ECHO).unwrap();
    // The folder is listed again every second.
    update_until(&mut app, 1500, "the new mod idle", |world| {
        mod_entity(world, "late").is_some_and(|e| matches!(status(world, e), ModStatus::Idle))
    });
    let late = mod_entity(app.world_mut(), "late").unwrap();
    assert_eq!(
        json_of(call(&mut app, late, "add", json!([2, 3]))),
        json!(5)
    );
    // Each file is loaded once: the listings after that spawn nothing more.
    for _ in 0..600 {
        app.update();
        std::thread::sleep(Duration::from_millis(2));
    }
    let world = app.world_mut();
    assert_eq!(world.query::<&WasmMod>().iter(world).count(), 2);
}

#[test]
fn deleting_a_wasm_file_from_a_watched_mods_folder_unloads_its_mod() {
    let assets = asset_dir(&[("echo", ECHO), ("second", ECHO)]);
    let mut app = test_app(&assets, WasmiPluginsPlugin::default(), true);
    update_until(&mut app, 1500, "both idle", |world| {
        ["echo", "second"].iter().all(|name| {
            mod_entity(world, name).is_some_and(|e| matches!(status(world, e), ModStatus::Idle))
        })
    });
    let second = mod_entity(app.world_mut(), "second").unwrap();
    let pending = app
        .world()
        .resource::<ModRpc>()
        .call(second, "sleep", &json!({ "ms": 60_000 }));
    std::fs::remove_file(assets.join("mods/second.wasm")).unwrap();
    // The folder is listed again every second.
    update_until(&mut app, 1500, "second unloaded", |world| {
        world.get_entity(second).is_err()
    });
    let outcome = pending.try_result().expect("the call in flight completed");
    assert_eq!(outcome.unwrap_err().code, ErrorCode::ModUnavailable.code());
    let echo = mod_entity(app.world_mut(), "echo").unwrap();
    assert_eq!(
        json_of(call(&mut app, echo, "add", json!([2, 3]))),
        json!(5)
    );
}

#[test]
fn meta_files_set_a_mods_fuel_and_permissions() {
    let assets = asset_dir(&[("echo", ECHO)]);
    std::fs::write(
        assets.join("mods/echo.wasm.meta"),
        format!(
            r#"(
    meta_format_version: "1.0",
    asset: Load(
        loader: "bevy_wasmi_plugins::asset::WasmModLoader",
        settings: (
            fuel_per_frame: Some(150000),
            permissions: Some((read: Only(["{}"]))),
        ),
    ),
)"#,
            position_path()
        ),
    )
    .unwrap();
    let mut app = plain_app(&assets);
    app.world_mut().spawn(Position { x: 7.0, y: 8.0 });
    let echo = start_mod(&mut app, "echo", None);
    let rows = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [position_path()] } }),
    )
    .unwrap();
    assert_eq!(
        rows[0]["components"][position_path()],
        json!({ "x": 7.0, "y": 8.0 })
    );
    let error = relay(
        &mut app,
        echo,
        "world.insert_resources",
        json!({ "resource": <Score as TypePath>::type_path(), "value": 1 }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);

    let pending =
        app.world()
            .resource::<ModRpc>()
            .call(echo, "spin", &json!({ "iterations": 200_000 }));
    let mut most = 0;
    while pending.try_result().is_none() {
        app.update();
        most = most.max(app.world().get::<ModFuel>(echo).unwrap().last_frame);
    }
    assert!(
        most > 100_000 && most <= 150_000 + 10_000,
        "fuel per frame {most}"
    );
}

#[test]
fn the_mod_components_are_registered_for_reflection() {
    let assets = asset_dir(&[]);
    let app = plain_app(&assets);
    let registry = app.world().resource::<AppTypeRegistry>().read();
    for type_id in [
        std::any::TypeId::of::<WasmMod>(),
        std::any::TypeId::of::<ModStatus>(),
        std::any::TypeId::of::<ModInfo>(),
        std::any::TypeId::of::<ModFuel>(),
        std::any::TypeId::of::<ModPermissions>(),
    ] {
        let registration = registry.get(type_id).expect("registered");
        assert!(
            registration.data::<ReflectComponent>().is_some(),
            "{} is a reflected component",
            registration.type_info().type_path()
        );
    }
}

#[test]
fn mods_loading_at_once_are_started_over_several_frames_within_the_budget() {
    let assets = asset_dir(&[("echo", ECHO)]);
    // A budget no instantiation fits in: one mod starts per frame.
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_frame_budget(Duration::from_nanos(1)),
        false,
    );
    let handle: Handle<WasmModAsset> = app.world().resource::<AssetServer>().load("mods/echo.wasm");
    let mods: Vec<Entity> = (0..5)
        .map(|_| app.world_mut().spawn(WasmMod::new(handle.clone())).id())
        .collect();
    let mut most_in_one_frame = 0;
    update_until(&mut app, 500, "all started", |world| {
        let started = world
            .resource_mut::<Messages<ModStatusChanged>>()
            .drain()
            .filter(|changed| matches!(changed.status, ModStatus::Starting))
            .count();
        most_in_one_frame = most_in_one_frame.max(started);
        mods.iter()
            .all(|&entity| matches!(status(world, entity), ModStatus::Idle))
    });
    assert_eq!(most_in_one_frame, 1);
}

//! The Bevy layer on a headless `App` (`MinimalPlugins` + `AssetPlugin` + the plugin)
//! with the committed PDK mod `echo` (`test-mods/echo`), copied into a temporary asset
//! folder per test.
#![allow(clippy::unwrap_used)] // Tests unwrap to fail loudly.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bevy::ecs::resource::IsResource;
use bevy::prelude::*;
use bevy_wasmi_plugins::prelude::*;
use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, ResponseError};
use bevy_wasmi_plugins::runtime::{ModConfig, ModInstance, Runtime};
use serde_json::{Value, json};

const ECHO: &[u8] = include_bytes!("mods/echo.wasm");

/// A temporary asset folder, removed when the test ends (also when it fails).
struct Assets(PathBuf);

impl std::ops::Deref for Assets {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Assets {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
fn test_app(assets: &Path, plugin: WasmiPluginsPlugin, watch: bool) -> App {
    let mut app = App::new();
    app.add_plugins((
        MinimalPlugins,
        AssetPlugin {
            file_path: assets.to_string_lossy().into_owned(),
            watch_for_changes_override: Some(watch),
            ..default()
        },
        plugin,
    ))
    .register_type::<Position>()
    .register_type::<Frozen>()
    .register_type::<Score>()
    .register_type::<Boom>()
    .add_message::<Boom>()
    .init_resource::<Score>();
    app
}

/// A test app with the plugin's defaults, except that mods are spawned by the test.
fn plain_app(assets: &Path) -> App {
    test_app(
        assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        false,
    )
}

/// Runs frames until `done` holds, at most `frames` of them (with a short sleep, so
/// asset I/O can finish); panics otherwise.
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
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("not {what} after {frames} frames");
}

fn mod_entity(world: &mut World, name: &str) -> Option<Entity> {
    let mut mods = world.query::<(Entity, &ModInfo)>();
    mods.iter(world)
        .find(|(_, info)| &*info.name == name)
        .map(|(entity, _)| entity)
}

/// The entity named `mod <name>`: it has that name before its mod has started (or when
/// it never does), unlike [`mod_entity`].
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
    let handle = app
        .world()
        .resource::<AssetServer>()
        .load(format!("mods/{name}.wasm"));
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
    assert!(matches!(error, ModError::LoadFailed { .. }), "{error:?}");
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

#[derive(Resource, Default)]
struct Doubled(Vec<(String, i64)>);

fn double(
    In((n,)): In<(i64,)>,
    calling: Res<CallingMod>,
    mut doubled: ResMut<Doubled>,
) -> Result<i64, HostError> {
    doubled.0.push((calling.name.to_string(), n));
    Ok(n * 2)
}

/// `?` on a Bevy error (here: not exactly one `Frozen` position).
fn frozen_x(In(()): In<()>, frozen: Query<&Position, With<Frozen>>) -> Result<f32, HostError> {
    Ok(frozen.single()?.x)
}

fn spawn_at(In(p): In<Position>, mut commands: Commands) -> Result<u64, HostError> {
    Ok(commands.spawn(p).id().to_bits())
}

#[test]
fn host_methods_are_systems_that_see_the_world_and_check_their_params() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.init_resource::<Doubled>()
        .add_host_method("host.double", double)
        .add_host_method("game.spawn_at", spawn_at)
        .add_host_method("game.frozen_x", frozen_x);
    let echo = start_mod(&mut app, "echo", None);
    let error = relay(&mut app, echo, "game.frozen_x", json!(null)).unwrap_err();
    assert_eq!(error.code, -32603);
    assert!(
        error.message.contains("No entities fit the query"),
        "{}",
        error.message
    );
    app.world_mut().spawn((Position { x: 4.5, y: 0.0 }, Frozen));
    assert_eq!(
        relay(&mut app, echo, "game.frozen_x", json!(null)).unwrap(),
        json!(4.5)
    );

    // echo's `double_via_host` calls `host.double` and adds 1.
    assert_eq!(
        json_of(call(&mut app, echo, "double_via_host", json!([20]))),
        json!(41)
    );
    assert_eq!(
        app.world().resource::<Doubled>().0,
        [("echo".to_owned(), 20)]
    );

    // A host method's `Commands` are applied: the entity exists when the answer does.
    let bits = relay(
        &mut app,
        echo,
        "game.spawn_at",
        json!({ "x": 1.5, "y": -2.0 }),
    )
    .unwrap();
    let entity = Entity::try_from_bits(bits.as_u64().unwrap()).unwrap();
    assert_eq!(
        app.world().get::<Position>(entity),
        Some(&Position { x: 1.5, y: -2.0 })
    );

    // A wrong shape is -32602 naming the method and what did not match.
    let error = relay(&mut app, echo, "host.double", json!({ "n": 1 })).unwrap_err();
    assert_eq!(error.code, -32602, "{error:?}");
    assert!(error.message.contains("host.double"), "{}", error.message);
    assert!(
        error.message.contains("invalid type: map"),
        "{}",
        error.message
    );

    let error = relay(&mut app, echo, "game.nothing", json!([])).unwrap_err();
    assert_eq!(error.code, -32601);
    assert_eq!(error.message, "Method not found: game.nothing");
}

#[test]
fn world_query_returns_reflected_components() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let a = app.world_mut().spawn(Position { x: 1.0, y: 2.0 }).id();
    let b = app
        .world_mut()
        .spawn((Position { x: 3.0, y: 4.0 }, Frozen))
        .id();
    app.world_mut().spawn(Frozen);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::default()
                .allow_read::<Position>()
                .allow_read::<Frozen>(),
        ),
    );
    let frozen = <Frozen as TypePath>::type_path();
    let rows = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [position_path()], "has": [frozen] } }),
    )
    .unwrap();
    let mut rows = rows.as_array().unwrap().clone();
    rows.sort_by_key(|row| row["entity"].as_u64());
    let mut expected = vec![
        json!({ "entity": a.to_bits(), "components": { position_path(): { "x": 1.0, "y": 2.0 } }, "has": { frozen: false } }),
        json!({ "entity": b.to_bits(), "components": { position_path(): { "x": 3.0, "y": 4.0 } }, "has": { frozen: true } }),
    ];
    expected.sort_by_key(|row| row["entity"].as_u64());
    assert_eq!(rows, expected);

    let without = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [position_path()] }, "filter": { "without": [frozen] } }),
    )
    .unwrap();
    assert_eq!(
        without,
        json!([{ "entity": a.to_bits(), "components": { position_path(): { "x": 1.0, "y": 2.0 } } }])
    );
}

#[test]
fn world_query_never_lists_mods_or_resource_entities() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let a = app.world_mut().spawn(Position { x: 1.0, y: 2.0 }).id();
    let b = app.world_mut().spawn(Frozen).id();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_read::<Frozen>()),
    );
    let frozen = <Frozen as TypePath>::type_path();
    for params in [json!({}), json!({ "data": { "has": [frozen] } })] {
        let rows = relay(&mut app, echo, "world.query", params.clone()).unwrap();
        let listed: Vec<Entity> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|row| Entity::try_from_bits(row["entity"].as_u64().unwrap()).unwrap())
            .collect();
        assert!(
            listed.contains(&a) && listed.contains(&b),
            "{params}: {rows}"
        );
        assert!(
            !listed.contains(&echo),
            "{params}: the mod itself is listed"
        );
        let world = app.world_mut();
        let mut resources = world.query_filtered::<Entity, With<IsResource>>();
        let resources: Vec<Entity> = resources.iter(world).collect();
        assert!(!resources.is_empty(), "the test app has resource entities");
        for entity in resources {
            assert!(
                !listed.contains(&entity),
                "{params}: resource entity {entity} listed"
            );
        }
    }
}

#[test]
fn permissions_deny_by_default_and_name_what_was_denied() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.init_resource::<Doubled>()
        .add_host_method("host.double", double);
    let echo = start_mod(&mut app, "echo", None);
    let error = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [position_path()] } }),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::PermissionDenied.code());
    assert_eq!(
        error.message,
        format!(
            "Permission denied: mod `echo` may not read `{}` (world.query)",
            position_path()
        )
    );
    let error = relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": echo.to_bits() }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);
    assert!(error.message.contains("despawn"), "{}", error.message);

    // A mod limited to `game.*` may not call `host.double`.
    let limited = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_host_methods("game.*")),
    );
    let error = call(&mut app, limited, "double_via_host", json!([1])).unwrap_err();
    assert_eq!(error.code, -32006);
    assert_eq!(
        error.message,
        "Permission denied: mod `echo` may not call host method `host.double`"
    );
    assert!(app.world().resource::<Doubled>().0.is_empty());
}

#[test]
fn world_methods_change_components_resources_and_messages_like_brp() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let position = position_path();
    let frozen = <Frozen as TypePath>::type_path();
    let score = <Score as TypePath>::type_path();
    let boom = <Boom as TypePath>::type_path();

    let spawned = relay(
        &mut app,
        echo,
        "world.spawn_entity",
        json!({ "components": { position: { "x": 1.0, "y": 1.0 } } }),
    )
    .unwrap();
    let entity = Entity::try_from_bits(spawned["entity"].as_u64().unwrap()).unwrap();
    assert_eq!(
        app.world().get::<Position>(entity),
        Some(&Position { x: 1.0, y: 1.0 })
    );

    relay(
        &mut app,
        echo,
        "world.mutate_components",
        json!({ "entity": entity.to_bits(), "component": position, "path": ".x", "value": 5.0 }),
    )
    .unwrap();
    relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({ "entity": entity.to_bits(), "components": { frozen: {} } }),
    )
    .unwrap();
    assert_eq!(
        app.world().get::<Position>(entity),
        Some(&Position { x: 5.0, y: 1.0 })
    );
    assert!(app.world().get::<Frozen>(entity).is_some());

    let got = relay(
        &mut app,
        echo,
        "world.get_components",
        json!({ "entity": entity.to_bits(), "components": [position, "no::Such"] }),
    )
    .unwrap();
    assert_eq!(
        got["components"],
        json!({ position: { "x": 5.0, "y": 1.0 } })
    );
    assert_eq!(got["errors"]["no::Such"]["code"], json!(-23402));
    let listed = relay(
        &mut app,
        echo,
        "world.list_components",
        json!({ "entity": entity.to_bits() }),
    )
    .unwrap();
    assert_eq!(listed, json!([frozen, position]));

    relay(
        &mut app,
        echo,
        "world.remove_components",
        json!({ "entity": entity.to_bits(), "components": [frozen] }),
    )
    .unwrap();
    assert!(app.world().get::<Frozen>(entity).is_none());
    let error = relay(
        &mut app,
        echo,
        "world.get_components",
        json!({ "entity": entity.to_bits(), "components": [frozen], "strict": true }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23403, "{error:?}");

    relay(
        &mut app,
        echo,
        "world.insert_resources",
        json!({ "resource": score, "value": 42 }),
    )
    .unwrap();
    assert_eq!(app.world().resource::<Score>().0, 42);
    let got = relay(
        &mut app,
        echo,
        "world.get_resources",
        json!({ "resource": score }),
    )
    .unwrap();
    assert_eq!(got, json!({ "value": 42 }));

    relay(
        &mut app,
        echo,
        "world.write_message",
        json!({ "message": boom, "value": { "power": 9 } }),
    )
    .unwrap();
    let booms: Vec<Boom> = app
        .world_mut()
        .resource_mut::<Messages<Boom>>()
        .drain()
        .collect();
    assert_eq!(booms, [Boom { power: 9 }]);
    // Values Bevy could not build are errors for the mod, not panics in the game.
    let error = relay(
        &mut app,
        echo,
        "world.write_message",
        json!({ "message": boom }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23501);
    assert_eq!(
        error.message,
        format!("`{boom}` could not be built from {{}}")
    );

    relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": entity.to_bits() }),
    )
    .unwrap();
    assert!(app.world().get_entity(entity).is_err());
    let error = relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": entity.to_bits() }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23401);

    // Resources are not components to mods, and their entities are off limits.
    let error = relay(
        &mut app,
        echo,
        "world.spawn_entity",
        json!({ "components": { score: 1 } }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23402);
    assert!(error.message.contains("is a resource"), "{}", error.message);
    let rows = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [score] } }),
    )
    .unwrap();
    assert_eq!(rows, json!([]), "resource entities are not listed");
    let world = app.world_mut();
    let score_entity = world
        .query_filtered::<Entity, (With<Score>, With<IsResource>)>()
        .single(world)
        .unwrap()
        .to_bits();
    let error = relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": score_entity }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);
    assert!(
        error.message.contains("holds a resource"),
        "{}",
        error.message
    );
    assert_eq!(app.world().resource::<Score>().0, 42);

    // A mod's own entity is off limits even to a trusted mod.
    let error = relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": echo.to_bits() }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);

    // Unknown types: strict is BRP's -23402, lenient matches nothing.
    let error = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": ["no::Such"] }, "strict": true }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23402);
    assert_eq!(
        error.message,
        "Unknown component type: `no::Such` (not registered for reflection)"
    );
    let rows = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": ["no::Such"] } }),
    )
    .unwrap();
    assert_eq!(rows, json!([]));

    let error = relay(
        &mut app,
        echo,
        "world.spawn_entity",
        json!({ "components": { position: { "x": "far" } } }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23402);
    assert!(error.message.contains(position), "{}", error.message);
    // A value missing a field: Bevy would panic building it; the mod gets an error.
    let entities = app.world().entities().len();
    let error = relay(
        &mut app,
        echo,
        "world.spawn_entity",
        json!({ "components": { position: { "x": 1.0 } } }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23402);
    assert!(
        error.message.contains("could not be built"),
        "{}",
        error.message
    );
    let error = relay(
        &mut app,
        echo,
        "world.insert_resources",
        json!({ "resource": score, "value": "many" }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23501);
    assert_eq!(app.world().entities().len(), entities);
    assert_eq!(app.world().resource::<Score>().0, 42);
}

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

/// Writes `mods/echo.wasm` again and runs frames until mod `echo` has been reloaded
/// once and is idle.
fn rewrite_and_wait_for_reload(app: &mut App, assets: &Path, echo: Entity) {
    // The file watcher needs a moment before it sees writes.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(assets.join("mods/echo.wasm"), ECHO).unwrap();
    update_until(app, 3000, "reloaded", |world| {
        world.get::<ModInfo>(echo).is_some_and(|i| i.restarts == 1)
            && matches!(status(world, echo), ModStatus::Idle)
    });
}

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
fn a_name_shared_by_two_mods_means_the_first_until_it_is_gone() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let first = start_mod(&mut app, "echo", None);
    let second = start_mod(&mut app, "echo", None);
    assert_eq!(
        json_of(call(&mut app, second, "count", json!(null))),
        json!(1)
    );
    assert_eq!(
        json_of(call(&mut app, second, "count", json!(null))),
        json!(2)
    );
    assert_eq!(
        json_of(call(&mut app, "echo", "count", json!(null))),
        json!(1)
    );
    app.world_mut().despawn(first);
    app.update();
    assert_eq!(
        json_of(call(&mut app, "echo", "count", json!(null))),
        json!(3)
    );
}

fn quit(In(()): In<()>, calling: Res<CallingMod>, mut commands: Commands) -> Result<(), HostError> {
    commands.entity(calling.entity).despawn();
    Ok(())
}

#[test]
fn a_host_method_may_despawn_the_mod_that_calls_it() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.add_host_method("game.quit", quit);
    let echo = start_mod(&mut app, "echo", None);
    assert_eq!(
        relay(&mut app, echo, "game.quit", json!(null)).unwrap(),
        json!(null)
    );
    assert!(app.world().get_entity(echo).is_err());
    app.update();
    let error = app
        .world()
        .resource::<ModRpc>()
        .call(echo, "echo", &())
        .try_result()
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::ModUnavailable.code());
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
    let other = app
        .world()
        .resource::<AssetServer>()
        .load("mods/other.wasm");
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

#[test]
fn permissions_inserted_or_removed_on_a_running_mod_hold_from_its_next_request() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", None);
    let query = json!({ "data": { "components": [position_path()] } });
    let error = relay(&mut app, echo, "world.query", query.clone()).unwrap_err();
    assert_eq!(error.code, ErrorCode::PermissionDenied.code());

    app.world_mut()
        .entity_mut(echo)
        .insert(ModPermissions::default().allow_read::<Position>());
    assert_eq!(
        relay(&mut app, echo, "world.query", query.clone()).unwrap(),
        json!([])
    );

    app.world_mut().entity_mut(echo).remove::<ModPermissions>();
    let error = relay(&mut app, echo, "world.query", query).unwrap_err();
    assert_eq!(error.code, ErrorCode::PermissionDenied.code());
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

//! Mod → game: host methods as systems and the `world.*` methods (their permissions:
//! `permissions.rs`).

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[derive(Resource, Default)]
pub(super) struct Doubled(pub(super) Vec<(String, i64)>);

pub(super) fn double(
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
fn host_methods_cannot_take_the_names_the_crate_serves() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.init_resource::<Doubled>();
    for name in [
        "bulk.double",
        "watch.cancel",
        "rpc.discover",
        "world.double",
        "plugin.double",
        "host.double",
    ] {
        app.add_host_method(name, double);
    }
    let echo = start_mod(&mut app, "echo", None);
    // Only `host.double` was added: the others are the crate's, and their calls reach
    // the crate's methods, never `double`.
    assert_eq!(
        relay(&mut app, echo, "host.double", json!([4])).unwrap(),
        json!(8)
    );
    let error = relay(&mut app, echo, "bulk.double", json!([4])).unwrap_err();
    assert_eq!(error.code, -32601, "{error:?}");
    assert_eq!(error.message, "Method not found: bulk.double");
    let doc = relay(&mut app, echo, "rpc.discover", json!(null)).unwrap();
    let names: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for (name, times) in [
        ("host.double", 1),
        ("watch.cancel", 1),
        ("rpc.discover", 1),
        ("bulk.double", 0),
        ("world.double", 0),
        ("plugin.double", 0),
    ] {
        let seen = names.iter().filter(|n| **n == name).count();
        assert_eq!(seen, times, "{name} in {names:?}");
    }
    assert_eq!(
        app.world().resource::<Doubled>().0,
        [("echo".to_owned(), 4)]
    );
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
    app.world_mut().spawn(Position { x: 1.0, y: 2.0 });
    let b = app.world_mut().spawn(Frozen).id();
    let c = app.world_mut().spawn(Name::new("c")).id();
    app.register_type::<Name>();
    let name = <Name as TypePath>::type_path();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::default()
                .allow_read::<Frozen>()
                .allow_read::<Name>(),
        ),
    );
    let frozen = <Frozen as TypePath>::type_path();
    // A query that requires no component type would list every entity of the game.
    for params in [json!({}), json!({ "data": { "has": [frozen] } })] {
        let error = relay(&mut app, echo, "world.query", params.clone()).unwrap_err();
        assert_eq!(error.code, -32006, "{params}");
        assert_eq!(
            error.message,
            "Permission denied: mod `echo` may not query entities without requiring a \
             component type it may read (world.query)"
        );
    }
    let listed = |app: &mut App, params: Value| -> Vec<Entity> {
        let rows = relay(app, echo, "world.query", params).unwrap();
        rows.as_array()
            .unwrap()
            .iter()
            .map(|row| Entity::try_from_bits(row["entity"].as_u64().unwrap()).unwrap())
            .collect()
    };
    assert_eq!(
        listed(&mut app, json!({ "data": { "components": [frozen] } })),
        [b]
    );
    // The mod's entity has a `Name` too, and is not listed.
    let named = listed(&mut app, json!({ "filter": { "with": [name] } }));
    assert!(named.contains(&c) && !named.contains(&echo), "{named:?}");
    let world = app.world_mut();
    let mut resources = world.query_filtered::<Entity, With<IsResource>>();
    let resources: Vec<Entity> = resources.iter(world).collect();
    assert!(!resources.is_empty(), "the test app has resource entities");
    assert!(resources.iter().all(|r| !named.contains(r)), "{named:?}");
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
        format!("`{boom}` could not be built: field `power` is missing")
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

fn quit(In(()): In<()>, calling: Res<CallingMod>, mut commands: Commands) -> Result<(), HostError> {
    commands.entity(calling.entity).despawn();
    Ok(())
}

#[test]
fn a_host_method_may_despawn_the_mod_that_calls_it() {
    let assets = asset_dir(&[("echo", ECHO)]);
    // The mod answers in the frame of the host method's answer (under Node's slow build
    // too): the test is about the despawn, not budgets.
    let mut app = patient_app(&assets);
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

/// A game component that points at another entity.
#[derive(Component, Reflect, Debug, PartialEq)]
#[reflect(Component)]
struct Target {
    entity: Entity,
    weight: f32,
}

#[test]
fn a_component_with_an_entity_field_is_read_and_written_with_the_entitys_bits() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Target>();
    let prey = app.world_mut().spawn_empty().id();
    let other = app.world_mut().spawn_empty().id();
    let hunter = app
        .world_mut()
        .spawn(Target {
            entity: prey,
            weight: 0.5,
        })
        .id();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_write::<Target>()),
    );
    let path = <Target as TypePath>::type_path();
    let got = relay(
        &mut app,
        echo,
        "world.get_components",
        json!({ "entity": hunter.to_bits(), "components": [path] }),
    )
    .unwrap();
    assert_eq!(
        got["components"][path],
        json!({ "entity": prey.to_bits(), "weight": 0.5 })
    );
    relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({ "entity": hunter.to_bits(), "components": { path: { "entity": other.to_bits(), "weight": 2.0 } } }),
    )
    .unwrap();
    assert_eq!(
        app.world().get::<Target>(hunter),
        Some(&Target {
            entity: other,
            weight: 2.0
        })
    );
    relay(
        &mut app,
        echo,
        "world.mutate_components",
        json!({ "entity": hunter.to_bits(), "component": path, "path": ".entity", "value": prey.to_bits() }),
    )
    .unwrap();
    assert_eq!(app.world().get::<Target>(hunter).unwrap().entity, prey);
    // Bits that are no entity are refused naming the field.
    let error = relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({ "entity": hunter.to_bits(), "components": { path: { "entity": 0, "weight": 1.0 } } }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23402, "{error:?}");
    assert!(error.message.contains("entity"), "{}", error.message);
}

//! `world.*` calls that would break the game if the host took them as they come:
//! changes Bevy panics on (immutable components), hierarchies with cycles, the game's
//! own systems and observers, removed resources, huge field paths, and watches whose
//! grant is taken back or whose entity goes. Each is an error for the mod, and the
//! game goes on.

use super::brp_rest::code;
use super::watch::{steer_app, subscribe, watched};
use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A component the game made immutable: it can be replaced, not changed in place.
#[derive(Component, Reflect, Debug, PartialEq, Clone, Copy)]
#[component(immutable)]
#[reflect(Component)]
struct Sealed(u32);

fn child_of_path() -> &'static str {
    <ChildOf as TypePath>::type_path()
}

/// The test app with Bevy's hierarchy registered for reflection, as `DefaultPlugins`
/// have it.
fn hierarchy_app(assets: &Assets) -> App {
    let mut app = plain_app(assets);
    app.register_type::<ChildOf>().register_type::<Children>();
    app
}

#[test]
fn changing_an_immutable_component_is_an_error_not_a_panic() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = hierarchy_app(&assets);
    app.register_type::<Sealed>();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<Sealed>()
                .allow_write::<ChildOf>(),
        ),
    );
    let sealed = app.world_mut().spawn(Sealed(1)).id();
    let parent = app.world_mut().spawn_empty().id();
    let child = app.world_mut().spawn(ChildOf(parent)).id();
    let path = <Sealed as TypePath>::type_path();
    // Bevy's reflection panics on these; the mod gets -23402 naming the type.
    for (method, params) in [
        (
            "world.mutate_components",
            json!({ "entity": sealed.to_bits(), "component": path, "path": "", "value": 2 }),
        ),
        (
            "bulk.mutate_components",
            json!({ "component": path, "entities": [[sealed.to_bits(), 2]] }),
        ),
    ] {
        let (c, m) = code(relay(&mut app, echo, method, params));
        assert_eq!(c, -23402, "{method}: {m}");
        assert!(m.contains("immutable"), "{method}: {m}");
    }
    // `ChildOf` is immutable too, and a relationship (refused first, see below).
    for (method, params) in [
        (
            "world.mutate_components",
            json!({ "entity": child.to_bits(), "component": child_of_path(), "path": "", "value": sealed.to_bits() }),
        ),
        (
            "bulk.mutate_components",
            json!({ "component": child_of_path(), "entities": [[child.to_bits(), sealed.to_bits()]] }),
        ),
    ] {
        let (c, m) = code(relay(&mut app, echo, method, params));
        assert_eq!(c, -23402, "{method}: {m}");
        assert!(m.contains("relationship"), "{method}: {m}");
    }
    assert_eq!(app.world().get::<Sealed>(sealed), Some(&Sealed(1)));
    assert_eq!(app.world().get::<ChildOf>(child), Some(&ChildOf(parent)));
    // Replacing it whole is allowed, as in Bevy.
    relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({ "entity": sealed.to_bits(), "components": { path: 3 } }),
    )
    .unwrap();
    assert_eq!(app.world().get::<Sealed>(sealed), Some(&Sealed(3)));
    // The game and the mod go on.
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "add", json!([2, 3]))),
        json!(5)
    );
}

#[test]
fn relationships_change_only_through_reparent_so_no_cycle_can_be_made() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = hierarchy_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<ChildOf>()
                .allow_write::<Children>()
                .allow_spawn(10),
        ),
    );
    let a = app.world_mut().spawn_empty().id();
    let b = app.world_mut().spawn(ChildOf(a)).id();
    // `a` under `b` by hand would make a cycle that hangs every walk of the hierarchy.
    for (method, params) in [
        (
            "world.insert_components",
            json!({ "entity": a.to_bits(), "components": { child_of_path(): b.to_bits() } }),
        ),
        (
            "bulk.insert_components",
            json!({ "component": child_of_path(), "entities": [[a.to_bits(), b.to_bits()]] }),
        ),
        (
            "world.spawn_entity",
            json!({ "components": { child_of_path(): b.to_bits() } }),
        ),
        (
            "world.remove_components",
            json!({ "entity": b.to_bits(), "components": [child_of_path()] }),
        ),
        (
            "world.remove_components",
            json!({ "entity": a.to_bits(), "components": [<Children as TypePath>::type_path()] }),
        ),
        // `Children` is mutable to Bevy: changed in place it would break the hierarchy
        // (Bevy's transform propagation asserts on it).
        (
            "world.mutate_components",
            json!({ "entity": a.to_bits(), "component": <Children as TypePath>::type_path(), "path": "", "value": [a.to_bits()] }),
        ),
        (
            "bulk.mutate_components",
            json!({ "component": <Children as TypePath>::type_path(), "entities": [[a.to_bits(), [a.to_bits()]]] }),
        ),
    ] {
        let (c, m) = code(relay(&mut app, echo, method, params));
        assert_eq!(c, -23402, "{method}: {m}");
        assert!(m.contains("relationship"), "{method}: {m}");
    }
    assert_eq!(app.world().get::<ChildOf>(a), None);
    assert_eq!(app.world().get::<ChildOf>(b), Some(&ChildOf(a)));
    // The one way is reparent, which refuses the cycle (-23404).
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [a.to_bits()], "parent": b.to_bits() }),
    ));
    assert_eq!(c, -23404, "{m}");
    app.update();
}

#[test]
fn the_games_systems_and_observers_cannot_be_changed_or_reparented() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = hierarchy_app(&assets);
    app.add_host_method(
        "host.double",
        |In((n,)): In<(i64,)>| -> Result<i64, HostError> { Ok(n * 2) },
    );
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<ChildOf>()
                .allow_write::<Position>()
                .allow_host_methods("host.*"),
        ),
    );
    let system = app.world_mut().register_system(|| {}).entity();
    let observer = app
        .world_mut()
        .add_observer(|_: On<super::brp_rest::Bang>| {})
        .id();
    let parent = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    for target in [system, observer] {
        let (c, m) = code(relay(
            &mut app,
            echo,
            "world.reparent_entities",
            json!({ "entities": [target.to_bits()], "parent": parent.to_bits() }),
        ));
        assert_eq!(c, -32006, "{m}");
        assert!(m.contains("system or an observer"), "{m}");
        let (c, m) = code(relay(
            &mut app,
            echo,
            "world.insert_components",
            json!({ "entity": target.to_bits(), "components": { position_path(): { "x": 1.0, "y": 1.0 } } }),
        ));
        assert_eq!(c, -32006, "{m}");
        assert_eq!(app.world().get::<ChildOf>(target), None);
    }
    // Under a game entity, the host method would die with it; it still answers.
    app.world_mut().despawn(parent);
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "double_via_host", json!([21]))),
        json!(43),
        "host.double answers (echo adds 1)"
    );
}

#[test]
fn removing_a_resource_needs_its_own_grant_beside_write_access() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let score = <Score as TypePath>::type_path();
    let writer = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_write::<Score>()),
    );
    // Write access lets it change the resource, not remove it: a game system reading
    // `Res<Score>` would fail once it is gone.
    relay(
        &mut app,
        writer,
        "world.mutate_resources",
        json!({ "resource": score, "path": ".0", "value": 7 }),
    )
    .unwrap();
    let (c, m) = code(relay(
        &mut app,
        writer,
        "world.remove_resources",
        json!({ "resource": score }),
    ));
    assert_eq!(c, -32006, "{m}");
    assert!(m.contains("may not remove") && m.contains(score), "{m}");
    assert_eq!(app.world().resource::<Score>(), &Score(7));

    let remover = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<Score>()
                .allow_remove_resource::<Score>(),
        ),
    );
    relay(
        &mut app,
        remover,
        "world.remove_resources",
        json!({ "resource": score }),
    )
    .unwrap();
    assert!(app.world().get_resource::<Score>().is_none());
}

#[test]
fn a_field_path_is_parsed_once_per_bulk_call_and_capped() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_write::<Position>()),
    );
    let target = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let many: Vec<Value> = (0..2_000).map(|_| json!([target.to_bits(), 1.0])).collect();
    // A path that does not parse fails the call once, not once per entity.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "path": "[", "entities": many }),
    ));
    assert_eq!(c, -23402, "{m}");
    assert!(m.contains(position_path()), "{m}");
    // A path longer than any field path is refused before it is parsed.
    let long = format!(".{}", "x".repeat(5_000));
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "path": long, "entities": many }),
    ));
    assert_eq!(c, -23402, "{m}");
    assert!(m.contains("at most 1024"), "{m}");
    assert!(m.len() < 300, "the message does not quote the path: {m}");
    let (c, _) = code(relay(
        &mut app,
        echo,
        "world.mutate_components",
        json!({ "entity": target.to_bits(), "component": position_path(), "path": long, "value": 1.0 }),
    ));
    assert_eq!(c, -23402);
    // A good path still works for all of them.
    relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "path": ".x", "entities": many }),
    )
    .unwrap();
    assert_eq!(app.world().get::<Position>(target).unwrap().x, 1.0);
}

#[test]
fn taking_back_read_access_ends_the_watches_on_that_type() {
    let (_assets, mut app, steer) = steer_app(
        ModPermissions::none()
            .allow_read::<Position>()
            .allow_read::<super::brp_rest::Bang>(),
    );
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let components = subscribe(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "components": [position_path(), position_path()] }),
    );
    let events = subscribe(
        &mut app,
        steer,
        "world.observe+watch",
        json!({ "event": <super::brp_rest::Bang as TypePath>::type_path() }),
    );
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
    // The game takes read access to `Position` back.
    app.world_mut()
        .entity_mut(steer)
        .insert(ModPermissions::none().allow_read::<super::brp_rest::Bang>());
    app.world_mut().get_mut::<Position>(target).unwrap().x = 9.0;
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["watch"], components);
    assert_eq!(notes[0]["error"]["code"], -32006, "{notes:?}");
    assert!(notes[0].get("result").is_none(), "{notes:?}");
    // The other watch goes on; the ended one is gone.
    app.world_mut().trigger(super::brp_rest::Bang { power: 3 });
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["watch"], events);
    assert_eq!(notes[0]["result"], json!([{ "power": 3 }]));
    let error = relay(
        &mut app,
        steer,
        "watch.cancel",
        json!({ "watch": components }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32602);
}

#[test]
fn an_observe_watch_on_an_entity_ends_when_the_entity_is_despawned() {
    let (_assets, mut app, steer) =
        steer_app(ModPermissions::none().allow_read::<super::brp_rest::Bang>());
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let id = subscribe(
        &mut app,
        steer,
        "world.observe+watch",
        json!({ "event": <super::brp_rest::Bang as TypePath>::type_path(), "entity": target.to_bits() }),
    );
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
    app.world_mut().despawn(target);
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["watch"], id);
    assert_eq!(notes[0]["error"]["code"], -23401, "{notes:?}");
    // It no longer holds one of the mod's watches.
    let error = relay(&mut app, steer, "watch.cancel", json!({ "watch": id })).unwrap_err();
    assert_eq!(error.code, -32602);
}

/// A resource the game never inserts.
#[derive(Resource)]
struct NeverInserted;

#[test]
fn a_host_method_that_cannot_run_tells_the_mod_one_line_not_the_games_backtrace() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.add_host_method(
        "host.broken",
        |In(()): In<()>, _: Res<NeverInserted>| -> Result<u32, HostError> { Ok(1) },
    );
    let echo = start_mod(&mut app, "echo", None);
    let (c, m) = code(relay(&mut app, echo, "host.broken", Value::Null));
    assert_eq!(c, -32603, "{m}");
    assert!(
        m.starts_with("host method `host.broken` could not run: "),
        "{m}"
    );
    assert!(
        !m.contains('\n') && !m.contains(".rs:"),
        "no backtrace: {m}"
    );
    // The mod and the game go on.
    assert_eq!(
        json_of(call(&mut app, echo, "add", json!([1, 2]))),
        json!(3)
    );
}

#[test]
fn a_value_of_the_wrong_shape_is_refused_naming_the_type_and_the_field() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<Position>()
                .allow_spawn(5),
        ),
    );
    let target = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    for (value, field) in [
        (json!({ "x": "far", "y": 1.0 }), "x"),
        (json!({ "x": 1.0 }), "y"),
        (json!({ "x": 1.0, "y": 2.0, "z": 3.0 }), "z"),
    ] {
        for (method, params) in [
            (
                "world.insert_components",
                json!({ "entity": target.to_bits(), "components": { position_path(): value } }),
            ),
            (
                "world.spawn_entity",
                json!({ "components": { position_path(): value } }),
            ),
            (
                "bulk.insert_components",
                json!({ "component": position_path(), "entities": [[target.to_bits(), value]] }),
            ),
        ] {
            let result = relay(&mut app, echo, method, params);
            let e = match (method, result) {
                // A bulk call lists the entities that failed.
                ("bulk.insert_components", Ok(failed)) => {
                    serde_json::from_value::<ResponseError>(failed[0][1].clone()).unwrap()
                }
                (_, Err(e)) => e,
                (_, Ok(v)) => panic!("{method} {value} was taken: {v}"),
            };
            assert_eq!(e.code, -23402, "{method} {value}: {}", e.message);
            assert!(
                e.message.contains(position_path()) && e.message.contains(&format!("`{field}`")),
                "{method} {value}: {}",
                e.message
            );
        }
    }
    assert_eq!(
        app.world().get::<Position>(target),
        Some(&Position { x: 0.0, y: 0.0 })
    );
}

#[test]
fn an_entity_the_games_observer_despawns_during_an_insert_is_an_error_not_a_panic() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<Position>()
                .allow_write::<Frozen>()
                .allow_spawn(5),
        ),
    );
    // The game despawns whatever gets a `Frozen`.
    app.world_mut()
        .add_observer(|insert: On<Insert, Frozen>, mut commands: Commands| {
            commands.entity(insert.entity).despawn();
        });
    let target = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let frozen = <Frozen as TypePath>::type_path();
    // The same entity twice: the second insert finds it gone.
    let failed = relay(
        &mut app,
        echo,
        "bulk.insert_components",
        json!({ "component": frozen, "entities": [[target.to_bits(), {}], [target.to_bits(), {}]] }),
    )
    .unwrap();
    assert_eq!(failed[0][0], json!(target.to_bits()), "{failed}");
    assert_eq!(failed[0][1]["code"], -23401, "{failed}");
    assert!(app.world().get_entity(target).is_err());
    // Two components, the first of which gets the entity despawned.
    let other = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({ "entity": other.to_bits(), "components": { frozen: {}, position_path(): { "x": 1.0, "y": 1.0 } } }),
    ));
    assert_eq!(c, -23401, "{m}");
    // The game and the mod go on.
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "add", json!([1, 1]))),
        json!(2)
    );
}

#[test]
fn entities_the_games_observers_despawn_during_a_removal_or_reparenting_are_an_error() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = hierarchy_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_write::<Position>()
                .allow_write::<Frozen>()
                .allow_write::<ChildOf>(),
        ),
    );
    // The game despawns whatever loses its `Frozen`.
    app.world_mut()
        .add_observer(|remove: On<Remove, Frozen>, mut commands: Commands| {
            commands.entity(remove.entity).despawn();
        });
    let target = app
        .world_mut()
        .spawn((Position { x: 0.0, y: 0.0 }, Frozen))
        .id();
    let frozen = <Frozen as TypePath>::type_path();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.remove_components",
        json!({ "entity": target.to_bits(), "components": [frozen, position_path()] }),
    ));
    assert_eq!(c, -23401, "{m}");
    assert!(app.world().get_entity(target).is_err());

    // The game despawns the second child when the first gets its parent.
    let parent = app.world_mut().spawn_empty().id();
    let first = app.world_mut().spawn_empty().id();
    let second = app.world_mut().spawn_empty().id();
    app.world_mut()
        .add_observer(move |insert: On<Insert, ChildOf>, mut commands: Commands| {
            if insert.entity == first {
                commands.entity(second).despawn();
            }
        });
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [first.to_bits(), second.to_bits()], "parent": parent.to_bits() }),
    ));
    assert_eq!(c, -23401, "{m}");
    assert!(m.contains(&format!("entity {second} was despawned")), "{m}");
    assert_eq!(
        app.world().get::<ChildOf>(first).map(ChildOf::parent),
        Some(parent)
    );
    // Removing parents: the first child's removal despawns the second too.
    let third = app.world_mut().spawn(ChildOf(parent)).id();
    let fourth = app.world_mut().spawn(ChildOf(parent)).id();
    app.world_mut()
        .add_observer(move |remove: On<Remove, ChildOf>, mut commands: Commands| {
            if remove.entity == third {
                commands.entity(fourth).despawn();
            }
        });
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [third.to_bits(), fourth.to_bits()] }),
    ));
    assert_eq!(c, -23401, "{m}");
    // The game and the mod go on.
    app.update();
    assert_eq!(
        json_of(call(&mut app, echo, "add", json!([1, 1]))),
        json!(2)
    );
}

/// An event that targets an entity (its target is not sent to mods: Bevy's `Entity`
/// has no serde form in this test app, so the observed value is `null`).
#[derive(EntityEvent, Reflect, Debug, Clone)]
#[reflect(Event)]
struct Hit {
    #[event_target]
    target: Entity,
}

#[test]
fn an_observe_watch_delivers_its_last_events_before_it_ends_with_its_entity() {
    let (_assets, mut app, steer) = steer_app(ModPermissions::none().allow_read::<Hit>());
    app.register_type::<Hit>();
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let id = subscribe(
        &mut app,
        steer,
        "world.observe+watch",
        json!({ "event": <Hit as TypePath>::type_path(), "entity": target.to_bits() }),
    );
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
    // Hit, then gone, in one frame: the hit still reaches the mod (a frame's
    // notification), then the end (the next frame's).
    app.world_mut().trigger(Hit { target });
    app.world_mut().despawn(target);
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert_eq!(notes[0]["watch"], id);
    assert_eq!(
        notes[0]["result"].as_array().map(Vec::len),
        Some(1),
        "{notes:?}"
    );
    assert_eq!(notes[1]["watch"], id);
    assert_eq!(notes[1]["error"]["code"], -23401, "{notes:?}");
}

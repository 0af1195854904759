//! Permissions: nothing of `world.*` until granted, grants by type path (never
//! reaching Bevy's own types by wildcard), spawn quotas, and permission changes on a
//! running mod.

use super::world::{Doubled, double};
use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

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
        "Permission denied: mod `echo#2` may not call host method `host.double`"
    );
    assert!(app.world().resource::<Doubled>().0.is_empty());
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
fn spawning_needs_a_grant_and_stays_within_its_quota() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let spawn = |app: &mut App, echo: Entity| {
        relay(app, echo, "world.spawn_entity", json!({ "components": {} }))
            .map(|answer| Entity::try_from_bits(answer["entity"].as_u64().unwrap()).unwrap())
    };
    // Nothing until granted, not even an empty entity.
    let plain = start_mod(&mut app, "echo", None);
    let error = spawn(&mut app, plain).unwrap_err();
    assert_eq!(error.code, -32006);
    assert_eq!(
        error.message,
        "Permission denied: mod `echo` may not spawn more than 0 entities \
         (world.spawn_entity; it has 0 alive)"
    );
    let entities = app.world().entities().len();

    // A quota of two live entities; despawning one makes room again.
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_spawn(2).allow_despawn()),
    );
    let a = spawn(&mut app, echo).unwrap();
    spawn(&mut app, echo).unwrap();
    let error = spawn(&mut app, echo).unwrap_err();
    assert_eq!(
        error.message,
        "Permission denied: mod `echo#2` may not spawn more than 2 entities \
         (world.spawn_entity; it has 2 alive)"
    );
    relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": a.to_bits() }),
    )
    .unwrap();
    let c = spawn(&mut app, echo).unwrap();
    assert!(app.world().entities().len() <= entities + 3);

    // Its despawn grant reaches only what it spawned: not the game's entities, not
    // another mod's, not its own entity with a game entity under it.
    let game = app.world_mut().spawn(Frozen).id();
    let other = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_spawn(1).allow_despawn()),
    );
    let others = spawn(&mut app, other).unwrap();
    for (target, why) in [
        (game, format!("despawn entity {game}: it did not spawn it")),
        (
            others,
            format!("despawn entity {others}: it did not spawn it"),
        ),
    ] {
        let error = relay(
            &mut app,
            echo,
            "world.despawn_entity",
            json!({ "entity": target.to_bits() }),
        )
        .unwrap_err();
        assert_eq!(
            error.message,
            format!("Permission denied: mod `echo#2` may not {why} (world.despawn_entity)")
        );
    }
    let child = app.world_mut().spawn(ChildOf(c)).id();
    let error = relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": c.to_bits() }),
    )
    .unwrap_err();
    assert_eq!(
        error.message,
        format!(
            "Permission denied: mod `echo#2` may not despawn entity {c}: it did not spawn \
             its descendant {child} (world.despawn_entity)"
        )
    );
    assert!(app.world().get_entity(game).is_ok() && app.world().get_entity(child).is_ok());
}

#[test]
fn a_wildcard_grant_does_not_reach_bevys_own_types() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let time = <Time<Virtual> as TypePath>::type_path();
    let error = relay(
        &mut app,
        echo,
        "world.insert_resources",
        json!({ "resource": time, "value": { "relative_speed": -1.0 } }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);
    assert_eq!(
        error.message,
        format!("Permission denied: mod `echo` may not write `{time}` (world.insert_resources)")
    );
    // Named exactly, the game can still grant it.
    let permissions = ModPermissions::default().allow_read_path(time);
    assert!(permissions.may_read(time));
    assert!(!ModPermissions::trusted().may_read(time));
    assert!(ModPermissions::trusted().may_read(<Frozen as TypePath>::type_path()));
}

#[test]
fn despawn_never_reaches_host_method_systems_mods_or_stale_and_foreign_ids() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.init_resource::<Doubled>()
        .add_host_method("host.double", double);
    // A camera-like entity the game spawned, and a mod whose entity has a parent.
    let camera = app.world_mut().spawn((Name::new("camera"), Frozen)).id();
    let grants = ModPermissions::default()
        .allow_spawn(4)
        .allow_despawn()
        .allow_host_methods("host.double");
    let echo = start_mod(&mut app, "echo", Some(grants));
    let parent = app.world_mut().spawn_empty().id();
    app.world_mut().entity_mut(echo).insert(ChildOf(parent));
    let systems: Vec<Entity> = app
        .world_mut()
        .query_filtered::<Entity, With<bevy::ecs::system::SystemIdMarker>>()
        .iter(app.world())
        .collect();
    assert!(
        !systems.is_empty(),
        "the host method is a registered system"
    );
    // One the mod spawned and then despawned: its id is stale.
    let stale = relay(
        &mut app,
        echo,
        "world.spawn_entity",
        json!({ "components": {} }),
    )
    .unwrap()["entity"]
        .as_u64()
        .unwrap();
    relay(
        &mut app,
        echo,
        "world.despawn_entity",
        json!({ "entity": stale }),
    )
    .unwrap();
    let mut targets: Vec<(u64, i32)> = vec![
        (camera.to_bits(), -32006),
        (echo.to_bits(), -32006),
        (parent.to_bits(), -32006),
        (stale, -23401),
        // An id no entity ever had (index far past the world's), and one that is not
        // an entity at all (a generation of 0 with a zero index).
        (Entity::from_raw_u32(4_000_000).unwrap().to_bits(), -23401),
        (0, -23401),
    ];
    targets.extend(systems.iter().map(|system| (system.to_bits(), -32006)));
    for (entity, code) in targets {
        let error = relay(
            &mut app,
            echo,
            "world.despawn_entity",
            json!({ "entity": entity }),
        )
        .unwrap_err();
        assert_eq!(error.code, code, "{entity}: {}", error.message);
    }
    // Everything is still there, and the host method still answers.
    for entity in [camera, echo, parent].into_iter().chain(systems) {
        assert!(app.world().get_entity(entity).is_ok(), "{entity}");
    }
    assert_eq!(
        relay(&mut app, echo, "host.double", json!([21])).unwrap(),
        json!(42)
    );
}

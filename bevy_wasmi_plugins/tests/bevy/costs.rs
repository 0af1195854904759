//! What a mod pays for the host's work, and how much of it the host does: fuel per call
//! and per entity visited, and answers given up once they pass the mod's message cap.

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Fuel `echo` has used in all, once it is idle again (owed fuel is paid before a mod
/// counts as idle).
fn fuel_when_idle(app: &mut App, echo: Entity) -> u64 {
    update_until(app, 500, "idle", |world| {
        matches!(status(world, echo), ModStatus::Idle)
    });
    app.world().get::<ModFuel>(echo).unwrap().total
}

#[test]
fn world_calls_cost_fuel_per_call_and_per_entity_they_visit() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    for i in 0..500 {
        app.world_mut().spawn(Position {
            x: i as f32,
            y: 0.0,
        });
    }
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_read::<Position>()),
    );
    let query =
        json!({ "data": { "has": [position_path()] }, "filter": { "with": [position_path()] } });
    // The same query three times: free, then 10 000 fuel per entity, then 2 million per
    // call.
    let mut costs = Vec::new();
    for (per_entity, per_call) in [(0, 0), (10_000, 0), (0, 2_000_000)] {
        {
            let mut settings = app.world_mut().resource_mut::<WasmiPluginsSettings>();
            settings.fuel_per_entity = per_entity;
            settings.fuel_per_host_call = per_call;
        }
        let before = fuel_when_idle(&mut app, echo);
        let rows = relay(&mut app, echo, "world.query", query.clone()).unwrap();
        assert_eq!(rows.as_array().unwrap().len(), 500);
        costs.push(fuel_when_idle(&mut app, echo) - before);
    }
    // The mod's own work is about the same each time (its allocator's state varies it
    // by some 50 000 fuel); the host's is 500 entities × 10 000, then one call × 2 M.
    let per_entity = costs[1] as i64 - costs[0] as i64;
    let per_call = costs[2] as i64 - costs[0] as i64;
    assert!(
        (per_entity - 5_000_000).abs() < 150_000,
        "{costs:?}: {per_entity}"
    );
    assert!(
        (per_call - 2_000_000).abs() < 150_000,
        "{costs:?}: {per_call}"
    );
}

#[test]
fn a_query_answer_over_the_message_cap_is_given_up_without_visiting_every_entity() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_limits(Limits::default().with_max_message_size(16 * 1024)),
        false,
    );
    for i in 0..20_000 {
        app.world_mut().spawn(Position {
            x: i as f32,
            y: 1.0,
        });
    }
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_read::<Position>()),
    );
    let error = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "components": [position_path()] } }),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    let prefix = "the answer to world.query is longer than the message cap of mod `echo` \
                  (16384 bytes); it was given up after ";
    assert!(error.message.starts_with(prefix), "{}", error.message);
    let visited: usize = error.message[prefix.len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Each row is about 70 bytes: a few hundred rows fill the cap, not 20 000.
    assert!((100..1000).contains(&visited), "{visited}");
    // A narrower query still answers.
    let rows = relay(
        &mut app,
        echo,
        "world.query",
        json!({ "data": { "has": [position_path()] }, "filter": { "with": [position_path()] } }),
    );
    assert_eq!(
        rows.unwrap_err().code,
        ErrorCode::MessageTooLarge.code(),
        "20 000 rows of ids alone are over 16 KiB too"
    );
}

#[test]
fn world_params_over_the_cap_are_refused_before_they_are_parsed() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::default().allow_write::<Position>()),
    );
    // 70 000 bytes of params, over the 64 KiB cap: refused whole, nothing changed.
    let padding = "x".repeat(70_000);
    let error = relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({
            "entity": target.to_bits(),
            "components": { position_path(): { "x": 5.0, "y": 5.0 } },
            "padding": padding,
        }),
    )
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::MessageTooLarge.code());
    assert!(
        error
            .message
            .starts_with("the params of world.insert_components from mod `echo` are 700")
            && error
                .message
                .ends_with("more than a world.* call may have (65536 bytes)"),
        "{}",
        error.message
    );
    assert_eq!(
        *app.world().get::<Position>(target).unwrap(),
        Position { x: 1.0, y: 1.0 }
    );
    // The cap is a setting.
    app.world_mut()
        .resource_mut::<WasmiPluginsSettings>()
        .max_world_params = 1 << 20;
    relay(
        &mut app,
        echo,
        "world.insert_components",
        json!({
            "entity": target.to_bits(),
            "components": { position_path(): { "x": 5.0, "y": 5.0 } },
        }),
    )
    .unwrap();
    assert_eq!(
        *app.world().get::<Position>(target).unwrap(),
        Position { x: 5.0, y: 5.0 }
    );
}

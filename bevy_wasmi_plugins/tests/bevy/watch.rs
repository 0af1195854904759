//! Subscriptions: `world.get_components+watch`, `world.list_components+watch`,
//! `world.observe+watch` and `watch.cancel`, with the `steer` test mod, which records
//! the `watch.changed` notifications it gets (`watched`).

use super::brp_rest::Bang;
use super::*;
use bevy_wasmi_plugins::runtime::Limits;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

const STEER: &[u8] = include_bytes!("../mods/steer.wasm");

pub(super) fn steer_app(permissions: ModPermissions) -> (Assets, App, Entity) {
    let assets = asset_dir(&[("steer", STEER)]);
    let mut app = plain_app(&assets);
    app.register_type::<Bang>();
    let steer = start_mod(&mut app, "steer", Some(permissions));
    (assets, app, steer)
}

/// The notifications the mod got so far (and forgets).
pub(super) fn watched(app: &mut App, steer: Entity) -> Vec<Value> {
    match json_of(call(app, steer, "watched", json!(null))) {
        Value::Array(notes) => notes,
        other => panic!("not a list: {other}"),
    }
}

pub(super) fn subscribe(app: &mut App, steer: Entity, method: &str, params: Value) -> u64 {
    let answer = relay(app, steer, method, params).unwrap();
    answer["watch"]
        .as_u64()
        .unwrap_or_else(|| panic!("no watch id: {answer}"))
}

#[test]
fn get_components_watch_notifies_in_the_frame_after_a_change_and_only_then() {
    let (_assets, mut app, steer) = steer_app(ModPermissions::none().allow_read::<Position>());
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let id = subscribe(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "components": [position_path()] }),
    );
    // Frames without a change: nothing.
    for _ in 0..3 {
        app.update();
    }
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());

    app.world_mut().get_mut::<Position>(target).unwrap().x = 5.0;
    app.update(); // the change is seen at this frame's end; the mod reads it next frame
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["watch"], id);
    assert_eq!(
        notes[0]["result"],
        json!({ "components": { position_path(): { "x": 5.0, "y": 1.0 } }, "removed": [], "errors": {} })
    );
    for _ in 0..3 {
        app.update();
    }
    assert_eq!(
        watched(&mut app, steer),
        Vec::<Value>::new(),
        "no change, no notification"
    );

    app.world_mut().entity_mut(target).remove::<Position>();
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["result"]["removed"], json!([position_path()]));

    // Despawned: a last notification with the error, then none.
    app.world_mut().despawn(target);
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["error"]["code"], -23401);
    let error = relay(&mut app, steer, "watch.cancel", json!({ "watch": id })).unwrap_err();
    assert_eq!(error.code, -32602, "the watch ended: {}", error.message);
}

#[test]
fn a_watch_on_a_type_the_mod_may_not_read_is_refused_like_a_query() {
    let (_assets, mut app, steer) = steer_app(ModPermissions::none());
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let error = relay(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "components": [position_path()] }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);
    assert!(error.message.contains("mod `steer`") && error.message.contains(position_path()));
    let error = relay(
        &mut app,
        steer,
        "world.observe+watch",
        json!({ "event": <Bang as TypePath>::type_path() }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32006);
    // Bad shapes and targets: BRP's codes.
    let error = relay(
        &mut app,
        steer,
        "world.list_components+watch",
        json!({ "entity": u64::MAX >> 1 }),
    )
    .unwrap_err();
    assert_eq!(error.code, -23401);
    let error = relay(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "component": [] }),
    )
    .unwrap_err();
    assert_eq!(error.code, -32602);
    assert!(error.message.contains("component"), "{}", error.message);
}

#[test]
fn list_components_watch_reports_added_and_removed_readable_components() {
    let (_assets, mut app, steer) = steer_app(ModPermissions::none().allow_read::<Position>());
    let target = app.world_mut().spawn(Frozen).id();
    let id = subscribe(
        &mut app,
        steer,
        "world.list_components+watch",
        json!({ "entity": target.to_bits() }),
    );
    app.world_mut()
        .entity_mut(target)
        .insert(Position { x: 0.0, y: 0.0 });
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(
        notes[0]["result"],
        json!({ "added": [position_path()], "removed": [] })
    );
    // `Frozen` is not readable: its removal is not reported.
    app.world_mut().entity_mut(target).remove::<Frozen>();
    app.update();
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
    app.world_mut().entity_mut(target).remove::<Position>();
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(
        notes[0]["result"]["removed"],
        json!([position_path()]),
        "{notes:?}"
    );

    // Cancelled: no more notifications.
    assert_eq!(
        relay(&mut app, steer, "watch.cancel", json!({ "watch": id })).unwrap(),
        Value::Null
    );
    app.world_mut()
        .entity_mut(target)
        .insert(Position { x: 0.0, y: 0.0 });
    app.update();
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
}

#[test]
fn observe_watch_delivers_the_frames_events_and_ends_when_the_mod_stops() {
    let (_assets, mut app, steer) = steer_app(ModPermissions::none().allow_read::<Bang>());
    subscribe(
        &mut app,
        steer,
        "world.observe+watch",
        json!({ "event": <Bang as TypePath>::type_path() }),
    );
    app.world_mut().trigger(Bang { power: 1 });
    app.world_mut().trigger(Bang { power: 2 });
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["result"], json!([{ "power": 1 }, { "power": 2 }]));
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());

    // The mod is despawned: its watch and observer go with it.
    let observers_before = app
        .world_mut()
        .query::<&bevy::ecs::observer::Observer>()
        .iter(app.world())
        .count();
    app.world_mut().despawn(steer);
    app.update();
    app.update();
    let observers_after = app
        .world_mut()
        .query::<&bevy::ecs::observer::Observer>()
        .iter(app.world())
        .count();
    assert_eq!(observers_after, observers_before - 1);
}

// Not inside wasm32: it rewrites a mod file and waits for hot reload.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
#[test]
fn watches_end_when_the_mod_reloads() {
    let assets = asset_dir(&[("steer", STEER)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default().with_mod_source(ModSource::None),
        true,
    );
    let steer = start_mod(
        &mut app,
        "steer",
        Some(ModPermissions::none().allow_read::<Position>()),
    );
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    subscribe(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "components": [position_path()] }),
    );
    let restarts = |world: &World| world.get::<ModInfo>(steer).map(|i| i.restarts);
    let before = restarts(app.world());
    // The same bytes written again: a reload (the watcher needs a moment first).
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(assets.join("mods/steer.wasm"), STEER).unwrap();
    update_until(&mut app, 3000, "reloaded", |world| {
        restarts(world) != before && matches!(status(world, steer), ModStatus::Idle)
    });
    app.world_mut().get_mut::<Position>(target).unwrap().x = 9.0;
    app.update();
    app.update();
    assert_eq!(
        watched(&mut app, steer),
        Vec::<Value>::new(),
        "the new instance watches nothing"
    );
}

/// What the mod's typed watches (`world::watch`, `watch_list`, `observe` and
/// `Watch::read` in the PDK) made of the notifications so far (and forgets).
fn typed_watched(app: &mut App, steer: Entity) -> Vec<String> {
    serde_json::from_value(json_of(call(app, steer, "typed_watched", json!(null)))).unwrap()
}

fn watch_typed(app: &mut App, steer: Entity, kind: &str, entity: Option<Entity>) -> u64 {
    let params = json!({ "kind": kind, "entity": entity.map(Entity::to_bits) });
    json_of(call(app, steer, "watch_typed", params))
        .as_u64()
        .unwrap()
}

#[test]
fn the_pdks_typed_watches_read_changes_removals_lists_events_and_their_end() {
    let (_assets, mut app, steer) = steer_app(
        ModPermissions::none()
            .allow_read::<Position>()
            .allow_read::<Frozen>()
            .allow_read::<Bang>(),
    );
    let target = app.world_mut().spawn(Position { x: 1.0, y: 1.0 }).id();
    let position = watch_typed(&mut app, steer, "position", Some(target));
    let list = watch_typed(&mut app, steer, "list", Some(target));
    let bang = watch_typed(&mut app, steer, "bang", None);
    assert_eq!(
        [list, bang],
        [position + 1, position + 2],
        "the host's ids, in order"
    );

    app.world_mut().get_mut::<Position>(target).unwrap().x = 5.0;
    app.world_mut().entity_mut(target).insert(Frozen);
    app.world_mut().trigger(Bang { power: 3 });
    app.update();
    app.update();
    let mut notes = typed_watched(&mut app, steer);
    notes.sort();
    let mut expected = vec![
        format!("{position}: Changed(Position {{ x: 5.0, y: 1.0 }})"),
        format!(
            "{list}: BrpListComponentsWatchingResponse {{ added: [\"{}\"], removed: [] }}",
            <Frozen as TypePath>::type_path()
        ),
        format!("{bang}: Observed {{ events: [Bang {{ power: 3 }}], dropped: 0 }}"),
    ];
    expected.sort();
    assert_eq!(notes, expected);

    // Removed, then the list watch cancelled through `Watch::cancel`: it says nothing more.
    let cancelled = call(&mut app, steer, "cancel_typed", json!({ "watch": list }));
    assert_eq!(json_of(cancelled), json!(null));
    app.world_mut().entity_mut(target).remove::<Position>();
    app.update();
    app.update();
    assert_eq!(
        typed_watched(&mut app, steer),
        [format!("{position}: Removed")]
    );

    // Despawned: the host ends the component watch, and `Watch::read` says so.
    app.world_mut().despawn(target);
    app.update();
    app.update();
    let notes = typed_watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].starts_with(&format!("{position} ended: -23401 ")),
        "{notes:?}"
    );
    // The bang watch goes on.
    app.world_mut().trigger(Bang { power: 4 });
    app.update();
    app.update();
    assert_eq!(
        typed_watched(&mut app, steer),
        [format!(
            "{bang}: Observed {{ events: [Bang {{ power: 4 }}], dropped: 0 }}"
        )]
    );
}

/// A component whose value can be made larger than a mod's message cap.
#[derive(Component, Reflect, Debug)]
#[reflect(Component)]
struct Label(String);

#[test]
fn a_notification_too_large_to_deliver_ends_its_watch_and_the_mod_is_told() {
    let assets = asset_dir(&[("steer", STEER)]);
    let mut app = test_app(
        &assets,
        WasmiPluginsPlugin::default()
            .with_mod_source(ModSource::None)
            .with_limits(Limits::default().with_max_message_size(4096)),
        false,
    );
    app.register_type::<Label>();
    let steer = start_mod(
        &mut app,
        "steer",
        Some(ModPermissions::none().allow_read::<Label>()),
    );
    let target = app.world_mut().spawn(Label("short".into())).id();
    let id = subscribe(
        &mut app,
        steer,
        "world.get_components+watch",
        json!({ "entity": target.to_bits(), "components": [<Label as TypePath>::type_path()] }),
    );
    app.world_mut().get_mut::<Label>(target).unwrap().0 = "x".repeat(5000);
    app.update();
    app.update();
    let notes = watched(&mut app, steer);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["watch"], id);
    assert_eq!(notes[0]["error"]["code"], -32004, "{notes:?}");
    let message = notes[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("message cap of 4096"), "{message}");
    assert!(
        message.ends_with(&format!(": the watch {id} ended")),
        "{message}"
    );
    // Ended: a change that would fit is not sent, and the id is gone.
    app.world_mut().get_mut::<Label>(target).unwrap().0 = "short again".into();
    app.update();
    app.update();
    assert_eq!(watched(&mut app, steer), Vec::<Value>::new());
    let error = relay(&mut app, steer, "watch.cancel", json!({ "watch": id })).unwrap_err();
    assert_eq!(error.code, -32602);
}

//! The rest of BRP 0.19 and the `bulk.*` extension, called by a real mod (`echo`'s
//! `relay`): reparenting, resources, events, the inspection methods; good and bad
//! input, permissions.

use super::*;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// An event a mod may trigger (`world.trigger_event`).
#[derive(Event, Reflect, Debug, Clone, PartialEq)]
#[reflect(Event)]
pub(super) struct Bang {
    pub(super) power: u32,
}

#[derive(Resource, Default)]
struct Bangs(Vec<u32>);

fn trusted_echo(app: &mut App) -> Entity {
    start_mod(app, "echo", Some(ModPermissions::trusted()))
}

pub(super) fn code(result: Result<Value, ResponseError>) -> (i32, String) {
    let e = result.unwrap_err();
    (e.code, e.message)
}

#[test]
fn reparent_entities_sets_and_clears_parents_and_refuses_cycles() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    // Bevy's own types are granted only by name (not by `trusted`).
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_write::<ChildOf>()),
    );
    let parent = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let a = app.world_mut().spawn(Position { x: 1.0, y: 0.0 }).id();
    let b = app.world_mut().spawn(Position { x: 2.0, y: 0.0 }).id();
    let bits = |e: Entity| e.to_bits();
    assert_eq!(
        relay(
            &mut app,
            echo,
            "world.reparent_entities",
            json!({ "entities": [bits(a), bits(b)], "parent": bits(parent) }),
        )
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        app.world().get::<ChildOf>(a).map(ChildOf::parent),
        Some(parent)
    );
    assert_eq!(
        app.world().get::<ChildOf>(b).map(ChildOf::parent),
        Some(parent)
    );
    // Its own parent, or under its own child: BRP's -23404.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [bits(parent)], "parent": bits(parent) }),
    ));
    assert_eq!(c, -23404, "{m}");
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [bits(parent)], "parent": bits(a) }),
    ));
    assert_eq!(c, -23404, "{m}");
    assert!(m.contains("ancestor"), "{m}");
    // No parent: out of the hierarchy.
    relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [bits(a)] }),
    )
    .unwrap();
    assert_eq!(app.world().get::<ChildOf>(a), None);
    // A missing entity: -23401; a wrong shape: -32602 naming the member.
    let (c, _) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [u64::MAX >> 1], "parent": bits(parent) }),
    ));
    assert_eq!(c, -23401);
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entity": [bits(a)] }),
    ));
    assert_eq!(c, -32602);
    assert!(
        m.contains("world.reparent_entities") && m.contains("entity"),
        "{m}"
    );
    // A mod's own entity is not the game's.
    let (c, _) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [bits(echo)], "parent": bits(parent) }),
    ));
    assert_eq!(c, -32006);
}

#[test]
fn reparenting_needs_write_access_to_child_of() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_read_all()),
    );
    let parent = app.world_mut().spawn_empty().id();
    let child = app.world_mut().spawn_empty().id();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.reparent_entities",
        json!({ "entities": [child.to_bits()], "parent": parent.to_bits() }),
    ));
    assert_eq!(c, -32006);
    assert!(m.contains("mod `echo`") && m.contains("ChildOf"), "{m}");
    assert_eq!(app.world().get::<ChildOf>(child), None);
}

#[test]
fn resources_are_listed_mutated_and_removed() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = trusted_echo(&mut app);
    let score = <Score as TypePath>::type_path();
    let listed = relay(&mut app, echo, "world.list_resources", json!(null)).unwrap();
    assert!(
        listed.as_array().unwrap().contains(&json!(score)),
        "{listed}"
    );

    relay(
        &mut app,
        echo,
        "world.mutate_resources",
        json!({ "resource": score, "path": ".0", "value": 7 }),
    )
    .unwrap();
    assert_eq!(app.world().resource::<Score>(), &Score(7));
    // A wrong value names the type and the path: BRP's resource error.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.mutate_resources",
        json!({ "resource": score, "path": ".0", "value": "seven" }),
    ));
    assert_eq!(c, -23501);
    assert!(m.contains(score) && m.contains(".0"), "{m}");
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.mutate_resources",
        json!({ "resource": score, "path": ".nope", "value": 1 }),
    ));
    assert_eq!(c, -23501, "{m}");

    relay(
        &mut app,
        echo,
        "world.remove_resources",
        json!({ "resource": score }),
    )
    .unwrap();
    assert!(!app.world().contains_resource::<Score>());
    let (c, _) = code(relay(
        &mut app,
        echo,
        "world.remove_resources",
        json!({ "resource": score }),
    ));
    assert_eq!(c, -23502);
}

#[test]
fn resource_writes_and_listing_follow_the_permissions() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::none()));
    let score = <Score as TypePath>::type_path();
    assert_eq!(
        relay(&mut app, echo, "world.list_resources", json!(null)).unwrap(),
        json!([])
    );
    for (method, params) in [
        ("world.remove_resources", json!({ "resource": score })),
        (
            "world.mutate_resources",
            json!({ "resource": score, "path": "", "value": 1 }),
        ),
    ] {
        let (c, m) = code(relay(&mut app, echo, method, params));
        assert_eq!(c, -32006, "{method}: {m}");
        assert!(m.contains(score), "{m}");
    }
    assert!(app.world().contains_resource::<Score>());
}

#[test]
fn trigger_event_runs_observers_behind_the_event_permission() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Bang>()
        .init_resource::<Bangs>()
        .add_observer(|bang: On<Bang>, mut bangs: ResMut<Bangs>| bangs.0.push(bang.power));
    let bang = <Bang as TypePath>::type_path();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_event::<Bang>()),
    );
    relay(
        &mut app,
        echo,
        "world.trigger_event",
        json!({ "event": bang, "value": { "power": 3 } }),
    )
    .unwrap();
    assert_eq!(app.world().resource::<Bangs>().0, [3]);
    let (c, m) = code(relay(
        &mut app,
        echo,
        "world.trigger_event",
        json!({ "event": bang, "value": { "power": "loud" } }),
    ));
    assert_eq!(c, -23501);
    assert!(m.contains(bang), "{m}");
    let (c, _) = code(relay(
        &mut app,
        echo,
        "world.trigger_event",
        json!({ "event": "no::Such" }),
    ));
    assert_eq!(c, -32006, "not granted");
    let echo2 = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let (c, m) = code(relay(
        &mut app,
        echo2,
        "world.trigger_event",
        json!({ "event": "no::Such" }),
    ));
    assert_eq!(c, -23501, "{m}");
    assert_eq!(app.world().resource::<Bangs>().0, [3]);
}

#[test]
fn bulk_mutate_and_insert_report_each_entity_that_failed() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = trusted_echo(&mut app);
    let a = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let b = app.world_mut().spawn(Position { x: 0.0, y: 0.0 }).id();
    let bare = app.world_mut().spawn_empty().id();
    let gone = u64::MAX >> 1;
    assert_eq!(
        relay(
            &mut app,
            echo,
            "bulk.mutate_components",
            json!({ "component": position_path(), "path": ".x",
                    "entities": [[a.to_bits(), 1.5], [b.to_bits(), 2.5]] }),
        )
        .unwrap(),
        Value::Null
    );
    assert_eq!(app.world().get::<Position>(a).unwrap().x, 1.5);
    assert_eq!(app.world().get::<Position>(b).unwrap().x, 2.5);
    let failed = relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(),
                "entities": [[a.to_bits(), {"x": 9.0, "y": 9.0}], [bare.to_bits(), {"x": 1.0, "y": 1.0}],
                             [gone, {"x": 1.0, "y": 1.0}], [b.to_bits(), {"x": "no"}]] }),
    )
    .unwrap();
    let failed = failed.as_array().unwrap();
    let codes: Vec<(u64, i64)> = failed
        .iter()
        .map(|f| (f[0].as_u64().unwrap(), f[1]["code"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        codes,
        [
            (bare.to_bits(), -23403),
            (gone, -23401),
            (b.to_bits(), -23402)
        ]
    );
    // The value is read as text, straight into the type; the error names the field.
    assert_eq!(
        failed[2][1]["message"],
        format!(
            "`{0}` at path `` (a `{0}`) is invalid: field `x`: invalid type: string \"no\", expected f32",
            position_path()
        )
    );
    assert_eq!(
        app.world().get::<Position>(a),
        Some(&Position { x: 9.0, y: 9.0 })
    );
    assert_eq!(app.world().get::<Position>(b).unwrap().x, 2.5);

    assert_eq!(
        relay(
            &mut app,
            echo,
            "bulk.insert_components",
            json!({ "component": position_path(), "entities": [[bare.to_bits(), {"x": 4.0, "y": 5.0}]] }),
        )
        .unwrap(),
        Value::Null
    );
    assert_eq!(
        app.world().get::<Position>(bare),
        Some(&Position { x: 4.0, y: 5.0 })
    );

    // Whole-call errors: a wrong shape, an unknown type.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "entities": [[a.to_bits()]] }),
    ));
    assert_eq!(c, -32602, "{m}");
    assert!(m.contains("bulk.mutate_components"), "{m}");
    let (c, _) = code(relay(
        &mut app,
        echo,
        "bulk.insert_components",
        json!({ "component": "no::Such", "entities": [] }),
    ));
    assert_eq!(c, -23402);
}

#[test]
fn bulk_needs_write_access_and_bulk_query_read_access() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_read::<Position>()),
    );
    let a = app.world_mut().spawn(Position { x: 1.0, y: 2.0 }).id();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "entities": [[a.to_bits(), {"x": 0.0, "y": 0.0}]] }),
    ));
    assert_eq!(c, -32006, "{m}");
    assert_eq!(app.world().get::<Position>(a).unwrap().x, 1.0);
    let rows = relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path()] }),
    )
    .unwrap();
    assert_eq!(rows, json!([[a.to_bits(), [{ "x": 1.0, "y": 2.0 }]]]));
    let paged = relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path()], "skip": 1 }),
    )
    .unwrap();
    assert_eq!(paged, json!([]));
    let (c, _) = code(relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path()], "filter": { "without": [<Frozen as TypePath>::type_path()] } }),
    ));
    assert_eq!(c, -32006, "a filter type must be readable too");
}

#[test]
fn inspection_methods_describe_the_game() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.init_resource::<super::world::Doubled>()
        .add_host_method("host.double", super::world::double)
        .add_host_method("game.place", place);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_read::<Position>()),
    );
    let schema = relay(&mut app, echo, "registry.schema", json!(null)).unwrap();
    let position = &schema[position_path()];
    assert_eq!(position["kind"], "Struct", "{position}");
    assert_eq!(position["type"], "object");
    assert_eq!(
        position["properties"]["x"],
        json!({"type": {"$ref": "#/$defs/f32"}})
    );
    assert_eq!(position["required"], json!(["x", "y"]));
    assert!(
        position["reflectTypes"]
            .as_array()
            .unwrap()
            .contains(&json!("Component"))
    );
    assert_eq!(schema["f32"]["type"], "float");
    // Components and resources the mod may not read are left out.
    assert!(schema.get(<Score as TypePath>::type_path()).is_none());
    let only = relay(
        &mut app,
        echo,
        "registry.schema",
        json!({ "type_limit": { "with": ["Component"] } }),
    )
    .unwrap();
    assert_eq!(only.as_object().unwrap().len(), 1, "{only}");
    let (c, m) = code(relay(
        &mut app,
        echo,
        "registry.schema",
        json!({ "with_crate": ["x"] }),
    ));
    assert_eq!(c, -32602);
    assert!(m.contains("with_crate"), "{m}");

    let schedules = relay(&mut app, echo, "schedule.list", json!(null)).unwrap();
    let labels = schedules["schedule_labels"].as_array().unwrap();
    assert!(labels.contains(&json!("PostUpdate")), "{schedules}");
    let graph = relay(
        &mut app,
        echo,
        "schedule.graph",
        json!({ "schedule_label": "PostUpdate" }),
    )
    .unwrap();
    assert_eq!(graph["schedule_data"]["name"], "PostUpdate");
    assert!(graph["schedule_data"]["systems"].is_array());
    // The schedule the mods run in is running: BRP's resource error.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "schedule.graph",
        json!({ "schedule_label": "Update" }),
    ));
    assert_eq!(c, -23501, "{m}");

    let doc = relay(&mut app, echo, "rpc.discover", json!(null)).unwrap();
    assert_eq!(doc["openrpc"], "1.3.2");
    let names: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for name in [
        "world.query",
        "world.reparent_entities",
        "world.observe+watch",
        "bulk.mutate_components",
        "registry.schema",
        "rpc.discover",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(!names.contains(&"host.double"), "not granted: {names:?}");
    let open = start_mod(&mut app, "echo", None);
    let doc = relay(&mut app, open, "rpc.discover", json!(null)).unwrap();
    let method = |name: &str| {
        doc["methods"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {doc}"))
    };
    // `(i64,)` is not registered for reflection: no params are described; `i64` is.
    let double = method("host.double");
    assert_eq!(double["params"], json!([]), "{double}");
    assert_eq!(double["result"]["name"], "result");
    assert_eq!(double["result"]["schema"]["typePath"], "i64", "{double}");
    // A registered params type is described as `registry.schema` describes it.
    let place = method("game.place");
    assert_eq!(place["params"][0]["name"], "params");
    let schema = &place["params"][0]["schema"];
    assert_eq!(schema["typePath"], position_path(), "{place}");
    assert_eq!(schema["required"], json!(["x", "y"]), "{place}");
    assert_eq!(place["result"]["schema"]["typePath"], "bool", "{place}");
}

fn place(In(p): In<Position>) -> Result<bool, HostError> {
    Ok(p.x >= 0.0)
}

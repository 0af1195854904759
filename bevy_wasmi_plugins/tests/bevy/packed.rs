//! The packed form of `bulk.query` and `bulk.mutate_components` (postcard in base64, or
//! raw in an attachment): written and read as a mod in any language would (`echo`'s
//! `relay` and `relay_attached`, the bytes made here with `postcard`), and through the
//! PDK's typed client (`steer`).

use super::brp_rest::code;
use super::watch::steer_app;
use super::*;
use bevy_wasmi_plugins::protocol::brp::packed::{pack, unpack};
use bevy_wasmi_plugins::protocol::brp::{from_packed, to_packed};
use serde::{Deserialize, Serialize};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A component with every kind of field: a string, a `Vec3`, an enum, a list, an
/// optional entity, and one that serialization skips.
#[derive(Component, Reflect, Debug, PartialEq, Clone, Default)]
#[reflect(Component, Default)]
struct Gear {
    name: String,
    at: Vec3,
    mode: GearMode,
    #[reflect(skip_serializing)]
    cache: u32,
    teeth: Vec<u16>,
    owner: Option<Entity>,
}

#[derive(Reflect, Debug, PartialEq, Clone, Default)]
enum GearMode {
    #[default]
    Idle,
    Spin {
        rpm: f32,
    },
}

/// `Gear` as a mod declares it: the same fields in the same order, without the
/// skipped one; a `Vec3` as `[f32; 3]`, an entity as its bits.
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
struct GearWire {
    name: String,
    at: [f32; 3],
    mode: GearModeWire,
    teeth: Vec<u16>,
    owner: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
enum GearModeWire {
    Idle,
    Spin { rpm: f32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
struct PositionWire {
    x: f32,
    y: f32,
}

fn gear_path() -> &'static str {
    <Gear as TypePath>::type_path()
}

fn wire(gear: &Gear) -> GearWire {
    GearWire {
        name: gear.name.clone(),
        at: gear.at.to_array(),
        mode: match gear.mode {
            GearMode::Idle => GearModeWire::Idle,
            GearMode::Spin { rpm } => GearModeWire::Spin { rpm },
        },
        teeth: gear.teeth.clone(),
        owner: gear.owner.map(Entity::to_bits),
    }
}

#[test]
fn packed_rows_are_postcard_and_packed_writes_set_each_entity_or_name_why_not() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Gear>();
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let b = app.world_mut().spawn(Position { x: 3.0, y: 4.0 }).id();
    let gear_a = Gear {
        name: "a".into(),
        at: Vec3::new(1.0, 2.0, 3.0),
        mode: GearMode::Spin { rpm: 2.5 },
        cache: 7,
        teeth: vec![1, 2],
        owner: Some(b),
    };
    let gear_b = Gear {
        name: "b".into(),
        cache: 8,
        ..Gear::default()
    };
    let a = app
        .world_mut()
        .spawn((gear_a.clone(), Position { x: 1.0, y: 2.0 }))
        .id();
    app.world_mut().entity_mut(b).insert(gear_b.clone());

    // The rows: each entity's bits and its components, in postcard's format.
    let answer = relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [gear_path(), position_path()], "packed": true }),
    )
    .unwrap();
    let text = answer.as_str().expect("a packed answer is a string");
    let mut rows: Vec<(u64, (GearWire, PositionWire))> = from_packed(text).unwrap();
    rows.sort_by_key(|(bits, _)| *bits);
    let mut expected = vec![
        (
            a.to_bits(),
            (wire(&gear_a), PositionWire { x: 1.0, y: 2.0 }),
        ),
        (
            b.to_bits(),
            (wire(&gear_b), PositionWire { x: 3.0, y: 4.0 }),
        ),
    ];
    expected.sort_by_key(|(bits, _)| *bits);
    assert_eq!(rows, expected);
    // The same rows as JSON, for comparison: the packed text is several times shorter.
    let json_rows = relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [gear_path(), position_path()] }),
    )
    .unwrap();
    assert!(json_rows.to_string().len() > 2 * text.len(), "{json_rows}");

    // Whole components; an entity that is gone is listed, and the next one still set.
    let gone = u64::MAX >> 1;
    let new_a = GearWire {
        name: "spun".into(),
        at: [4.0, 5.0, 6.0],
        mode: GearModeWire::Idle,
        teeth: vec![9; 3],
        owner: None,
    };
    let new_b = GearWire {
        mode: GearModeWire::Spin { rpm: -1.0 },
        owner: Some(a.to_bits()),
        ..new_a.clone()
    };
    let packed = to_packed(&vec![
        (a.to_bits(), new_a.clone()),
        (gone, new_a.clone()),
        (b.to_bits(), new_b.clone()),
    ])
    .unwrap();
    let failed = relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": gear_path(), "packed": packed }),
    )
    .unwrap();
    assert_eq!(failed[0][0], gone);
    assert_eq!(failed[0][1]["code"], -23401);
    assert_eq!(failed.as_array().map(Vec::len), Some(1), "{failed}");
    let world = app.world();
    assert_eq!(wire(world.get::<Gear>(a).unwrap()), new_a);
    assert_eq!(wire(world.get::<Gear>(b).unwrap()), new_b);
    // The field serialization skips keeps its value.
    assert_eq!(world.get::<Gear>(a).unwrap().cache, 7);
    assert_eq!(world.get::<Gear>(b).unwrap().cache, 8);

    // One field of each entity.
    let packed = to_packed(&vec![(a.to_bits(), 9.5_f32), (b.to_bits(), -9.5)]).unwrap();
    let done = relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "path": ".y", "packed": packed }),
    )
    .unwrap();
    assert_eq!(done, Value::Null);
    assert_eq!(
        app.world().get::<Position>(a),
        Some(&Position { x: 1.0, y: 9.5 })
    );
    assert_eq!(
        app.world().get::<Position>(b),
        Some(&Position { x: 3.0, y: -9.5 })
    );

    // Bad packed values: each a clear error for the call.
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "packed": "@@@@" }),
    ));
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains(position_path()) && m.contains("not base64"),
        "{m}"
    );
    // The second value is cut short: the first was set, and the error says so (and
    // that the second entity may have the fields read before the break).
    let whole = to_packed(&vec![
        (a.to_bits(), PositionWire { x: 5.0, y: 5.0 }),
        (b.to_bits(), PositionWire { x: 6.0, y: 6.0 }),
    ])
    .unwrap();
    let bytes = unpack(&whole).unwrap();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "packed": pack(&bytes[..bytes.len() - 2]) }),
    ));
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains("packed value 1 cannot be read")
            && m.contains("the 1 entities before it were changed, and this one may be in part"),
        "{m}"
    );
    assert_eq!(
        app.world().get::<Position>(a),
        Some(&Position { x: 5.0, y: 5.0 })
    );
    assert_eq!(app.world().get::<Position>(b).unwrap().y, -9.5);
    let mut long = bytes;
    long.push(0);
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "packed": pack(&long) }),
    ));
    assert_eq!(c, -32602, "{m}");
    assert!(m.contains("1 unread byte(s)"), "{m}");
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "packed": whole,
                "entities": [[a.to_bits(), {"x": 0.0, "y": 0.0}]] }),
    ));
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains("one of `entities`, `packed` and `attached`"),
        "{m}"
    );
}

/// `echo`'s `relay_attached`: a host call sent with an attachment (given here in
/// base64), answered with the result and the answer's attachment (in base64).
fn relay_attached(
    app: &mut App,
    echo: Entity,
    method: &str,
    params: Value,
    attachment: Option<&[u8]>,
) -> Result<(Value, Option<Vec<u8>>), ResponseError> {
    let answer = call(
        app,
        echo,
        "relay_attached",
        json!({ "method": method, "params": params, "attachment": attachment.map(pack) }),
    )?;
    let answer: Value = serde_json::from_str(answer.get()).unwrap();
    let attachment = answer["attachment"]
        .as_str()
        .map(|text| unpack(text).unwrap());
    Ok((answer["result"].clone(), attachment))
}

#[test]
fn packed_values_travel_as_attachments_both_ways() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Gear>();
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let a = app.world_mut().spawn(Position { x: 1.0, y: 2.0 }).id();
    let b = app.world_mut().spawn(Position { x: 3.0, y: 4.0 }).id();

    // The rows as the answer's attachment: the bytes of the base64 answer, and the
    // result is their length.
    let query = json!({ "components": [position_path()], "packed": true, "attach": true });
    let (len, bytes) = relay_attached(&mut app, echo, "bulk.query", query, None).unwrap();
    let bytes = bytes.expect("the answer's attachment");
    assert_eq!(len, json!(bytes.len()));
    let text = relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path()], "packed": true }),
    )
    .unwrap();
    assert_eq!(bytes, unpack(text.as_str().unwrap()).unwrap());
    let mut rows: Vec<(u64, PositionWire)> = postcard::from_bytes(&bytes).unwrap();
    rows.sort_by_key(|(bits, _)| *bits);
    let mut expected = [
        (a.to_bits(), PositionWire { x: 1.0, y: 2.0 }),
        (b.to_bits(), PositionWire { x: 3.0, y: 4.0 }),
    ];
    expected.sort_by_key(|(bits, _)| *bits);
    assert_eq!(rows, expected);
    // Nothing matches: an empty list, still attached.
    let (len, bytes) = relay_attached(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path()], "filter": {"with": [gear_path()]},
                "packed": true, "attach": true }),
        None,
    )
    .unwrap();
    assert_eq!((len, bytes), (json!(1), Some(vec![0])));
    // `attach` without `packed` is refused.
    let (c, m) = code(
        relay_attached(
            &mut app,
            echo,
            "bulk.query",
            json!({ "components": [position_path()], "attach": true }),
            None,
        )
        .map(|(v, _)| v),
    );
    assert_eq!(c, -32602, "{m}");
    assert!(m.contains("`attach` goes with `packed`"), "{m}");

    // Values as the request's attachment.
    let values = postcard::to_allocvec(&vec![
        (a.to_bits(), PositionWire { x: 7.0, y: 8.0 }),
        (b.to_bits(), PositionWire { x: 9.0, y: 10.0 }),
    ])
    .unwrap();
    let write = |attached: usize| json!({ "component": position_path(), "attached": attached });
    let (done, back) = relay_attached(
        &mut app,
        echo,
        "bulk.mutate_components",
        write(values.len()),
        Some(&values),
    )
    .unwrap();
    assert_eq!((done, back), (Value::Null, None));
    assert_eq!(
        app.world().get::<Position>(b),
        Some(&Position { x: 9.0, y: 10.0 })
    );
    // The length in the params must be the attachment's; an attachment must be there;
    // and `attached` goes alone.
    let (c, m) = code(
        relay_attached(
            &mut app,
            echo,
            "bulk.mutate_components",
            write(values.len() + 1),
            Some(&values),
        )
        .map(|(v, _)| v),
    );
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains(&format!(
            "the attachment is {} bytes, and it is {}",
            values.len() + 1,
            values.len()
        )),
        "{m}"
    );
    let (c, m) = code(relay(&mut app, echo, "bulk.mutate_components", write(3)));
    assert_eq!(c, -32602, "{m}");
    assert!(m.contains("came without an attachment"), "{m}");
    let (c, m) = code(
        relay_attached(
            &mut app,
            echo,
            "bulk.mutate_components",
            json!({ "component": position_path(), "attached": values.len(),
                    "packed": pack(&values) }),
            Some(&values),
        )
        .map(|(v, _)| v),
    );
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains("one of `entities`, `packed` and `attached`"),
        "{m}"
    );
    // An attachment no method reads is refused, and nothing is run.
    let (c, m) = code(
        relay_attached(
            &mut app,
            echo,
            "bulk.mutate_components",
            json!({ "component": position_path(),
                    "entities": [[a.to_bits(), {"x": 0.0, "y": 0.0}]] }),
            Some(&values),
        )
        .map(|(v, _)| v),
    );
    assert_eq!(c, -32602, "{m}");
    assert!(m.contains("without `attached`"), "{m}");
    let (c, m) = code(
        relay_attached(
            &mut app,
            echo,
            "world.despawn_entity",
            json!({ "entity": b.to_bits() }),
            Some(&values),
        )
        .map(|(v, _)| v),
    );
    assert_eq!(c, -32602, "{m}");
    assert!(
        m.contains("world.despawn_entity takes no attachment"),
        "{m}"
    );
    assert!(app.world().get_entity(b).is_ok());
    assert_eq!(
        app.world().get::<Position>(a),
        Some(&Position { x: 7.0, y: 8.0 })
    );
}

/// A component that contains itself.
#[derive(Component, Reflect, Debug, PartialEq, Clone, Default)]
#[reflect(Component, Default, no_field_bounds)]
struct Tree {
    depth: u8,
    children: Vec<Tree>,
}

#[test]
fn packed_writes_of_a_recursive_type_are_refused_and_json_ones_are_not() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Tree>();
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let a = app.world_mut().spawn(Tree::default()).id();
    let path = <Tree as TypePath>::type_path();
    // postcard has no nesting limit: bytes nested a million deep would overflow the
    // game's stack while Bevy read them. Refused before any byte is read.
    let deep = format!("{}{}", "AQ".repeat(8), "==");
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": path, "packed": deep }),
    ));
    assert_eq!(c, -23402, "{m}");
    assert!(m.contains("is a recursive type"), "{m}");
    // JSON is read with serde_json's nesting limit, so it is taken.
    let done = relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": path,
                "entities": [[a.to_bits(), {"depth": 1, "children": [{"depth": 2, "children": []}]}]] }),
    )
    .unwrap();
    assert_eq!(done, Value::Null);
    assert_eq!(app.world().get::<Tree>(a).unwrap().children[0].depth, 2);
}

/// A value that takes no bytes packed.
#[derive(Reflect, Debug, PartialEq, Clone, Default)]
struct Mark;

/// A component holding a list of them.
#[derive(Component, Reflect, Debug, PartialEq, Clone, Default)]
#[reflect(Component, Default)]
struct Marks(Vec<Mark>);

/// A value whose only field is not serialized: no bytes packed either.
#[derive(Reflect, Debug, PartialEq, Clone, Default)]
struct Hidden {
    #[reflect(skip_serializing)]
    n: u32,
}

/// A component holding a list of them.
#[derive(Component, Reflect, Debug, PartialEq, Clone, Default)]
#[reflect(Component, Default)]
struct Hiddens(Vec<Hidden>);

#[test]
fn packed_writes_of_lists_of_values_that_take_no_bytes_are_refused_and_json_ones_are_not() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<Marks>().register_type::<Mark>();
    let echo = start_mod(&mut app, "echo", Some(ModPermissions::trusted()));
    let a = app.world_mut().spawn(Marks::default()).id();
    let path = <Marks as TypePath>::type_path();
    // One row: the entity, then a list length of 2^64 - 1 with nothing behind it, which
    // Bevy would read as that many `Mark`s (no bytes each). Refused before any byte is
    // read.
    let mut bytes = vec![1u8];
    let mut bits = a.to_bits();
    while bits >= 0x80 {
        bytes.push((bits as u8) | 0x80);
        bits >>= 7;
    }
    bytes.push(bits as u8);
    bytes.extend([0xff; 9]);
    bytes.push(0x01);
    let packed = bevy_wasmi_plugins::protocol::brp::packed::pack(&bytes);
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": path, "packed": packed }),
    ));
    assert_eq!(c, -23402, "{m}");
    assert!(m.contains("values that take no bytes packed"), "{m}");
    app.register_type::<Hiddens>().register_type::<Hidden>();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": <Hiddens as TypePath>::type_path(), "packed": packed }),
    ));
    assert_eq!(c, -23402, "{m}");
    assert!(m.contains("values that take no bytes packed"), "{m}");
    // JSON lists are as long as their text.
    let done = relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": path, "entities": [[a.to_bits(), [{}, {}]]] }),
    )
    .unwrap();
    assert_eq!(done, Value::Null);
    assert_eq!(app.world().get::<Marks>(a).unwrap().0.len(), 2);
}

#[test]
fn packed_calls_follow_the_permissions() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    let echo = start_mod(
        &mut app,
        "echo",
        Some(ModPermissions::none().allow_read::<Position>()),
    );
    let a = app
        .world_mut()
        .spawn((Position { x: 1.0, y: 2.0 }, Frozen))
        .id();
    let packed = to_packed(&vec![(a.to_bits(), PositionWire { x: 0.0, y: 0.0 })]).unwrap();
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.mutate_components",
        json!({ "component": position_path(), "packed": packed }),
    ));
    assert_eq!(c, -32006, "{m}");
    assert_eq!(app.world().get::<Position>(a).unwrap().x, 1.0);
    let (c, m) = code(relay(
        &mut app,
        echo,
        "bulk.query",
        json!({ "components": [position_path(), <Frozen as TypePath>::type_path()],
                "packed": true }),
    ));
    assert_eq!(c, -32006, "{m}");
}

/// The `steer` mod's `Velocity` (`steer::Velocity`), as in the ECS benchmark.
#[derive(Component, Reflect, Clone, Copy, Default, Debug, PartialEq)]
#[reflect(Component, Default)]
#[type_path = "steer"]
struct Velocity {
    x: f32,
    y: f32,
}

#[test]
fn the_pdks_packed_query_and_writes_steer_every_entity() {
    let (_assets, mut app, steer) = steer_app(
        ModPermissions::none()
            .allow_read::<Transform>()
            .allow_write::<Velocity>(),
    );
    app.register_type::<Transform>().register_type::<Velocity>();
    let entities: Vec<(Entity, Vec3)> = (0..50)
        .map(|i| {
            let at = Vec3::new(i as f32, (i % 7) as f32 - 3.0, 0.5);
            let entity = app
                .world_mut()
                .spawn((
                    Transform::from_translation(at).with_scale(Vec3::splat(2.0)),
                    Velocity::default(),
                ))
                .id();
            (entity, at)
        })
        .collect();
    // One without a Velocity is not matched.
    app.world_mut().spawn(Transform::default());
    let steered = json_of(call(&mut app, steer, "steer", json!({ "mode": "packed" })));
    assert_eq!(steered, 50);
    for (entity, at) in entities {
        assert_eq!(
            app.world().get::<Velocity>(entity),
            Some(&Velocity {
                x: -at.y * 0.5,
                y: at.x * 0.5
            })
        );
    }
}

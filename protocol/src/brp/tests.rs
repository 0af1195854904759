//! Round trips of the `world.*` shapes: each value serializes to the exact JSON
//! `bevy_remote` 0.19 uses for it and reads back equal.

use super::*;
use serde::de::DeserializeOwned;
use serde_json::json;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// `value` serializes to `json` (byte for byte) and `json` deserializes to `value`.
#[track_caller]
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T, json: &str) {
    assert_eq!(serde_json::to_string(&value).unwrap(), json);
    assert_eq!(serde_json::from_str::<T>(json).unwrap(), value);
}

fn paths(paths: &[&str]) -> Vec<String> {
    paths.iter().map(|&path| path.to_owned()).collect()
}

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("not an object"),
    }
}

#[test]
fn query() {
    round_trip(
        BrpQueryParams {
            data: BrpQuery {
                components: paths(&["game::Position"]),
                option: ComponentSelector::Paths(paths(&["game::Velocity"])),
                has: paths(&["game::Enemy"]),
            },
            filter: BrpQueryFilter {
                without: paths(&["game::Dead"]),
                with: paths(&["game::Visible"]),
            },
            strict: true,
        },
        r#"{"data":{"components":["game::Position"],"option":["game::Velocity"],"has":["game::Enemy"]},"filter":{"without":["game::Dead"],"with":["game::Visible"]},"strict":true}"#,
    );
    round_trip(
        BrpQuery {
            option: ComponentSelector::All,
            ..BrpQuery::default()
        },
        r#"{"components":[],"option":"all","has":[]}"#,
    );
    // Every member may be left out.
    assert_eq!(
        serde_json::from_str::<BrpQueryParams>("{}").unwrap(),
        BrpQueryParams::default()
    );
    assert_eq!(
        serde_json::from_str::<BrpQuery>(r#"{"option":"all"}"#)
            .unwrap()
            .option,
        ComponentSelector::All
    );
    // Unknown members and other keywords are refused.
    assert!(serde_json::from_str::<BrpQueryParams>(r#"{"limit":1}"#).is_err());
    assert!(serde_json::from_str::<BrpQuery>(r#"{"option":"some"}"#).is_err());

    round_trip(
        vec![
            BrpQueryRow {
                entity: 4294967296,
                components: map(json!({ "game::Position": { "x": 1.0, "y": 2.0 } })),
                has: map(json!({ "game::Enemy": true })),
            },
            BrpQueryRow {
                entity: 7,
                components: Map::new(),
                has: Map::new(),
            },
        ] as BrpQueryResponse,
        r#"[{"entity":4294967296,"components":{"game::Position":{"x":1.0,"y":2.0}},"has":{"game::Enemy":true}},{"entity":7,"components":{}}]"#,
    );
}

#[test]
fn components() {
    round_trip(
        BrpGetComponentsParams {
            entity: 5,
            components: paths(&["game::Position"]),
            strict: false,
        },
        r#"{"entity":5,"components":["game::Position"],"strict":false}"#,
    );
    assert!(
        !serde_json::from_str::<BrpGetComponentsParams>(r#"{"entity":5,"components":[]}"#)
            .unwrap()
            .strict
    );
    round_trip(
        BrpGetComponentsResponse::Lenient {
            components: map(json!({ "game::Position": { "x": 1.0 } })),
            errors: map(json!({ "game::Nope": { "code": -23402, "message": "Unknown" } })),
        },
        r#"{"components":{"game::Position":{"x":1.0}},"errors":{"game::Nope":{"code":-23402,"message":"Unknown"}}}"#,
    );
    round_trip(
        BrpGetComponentsResponse::Strict(map(json!({ "game::Position": { "x": 1.0 } }))),
        r#"{"game::Position":{"x":1.0}}"#,
    );
    round_trip(
        BrpSpawnEntityParams {
            components: map(json!({ "game::Position": { "x": 1.0 } })),
        },
        r#"{"components":{"game::Position":{"x":1.0}}}"#,
    );
    round_trip(BrpSpawnEntityResponse { entity: 9 }, r#"{"entity":9}"#);
    round_trip(
        BrpInsertComponentsParams {
            entity: 9,
            components: map(json!({ "game::Health": 3 })),
        },
        r#"{"entity":9,"components":{"game::Health":3}}"#,
    );
    round_trip(
        BrpRemoveComponentsParams {
            entity: 9,
            components: paths(&["game::Health"]),
        },
        r#"{"entity":9,"components":["game::Health"]}"#,
    );
    round_trip(BrpDespawnEntityParams { entity: 9 }, r#"{"entity":9}"#);
    round_trip(
        BrpMutateComponentsParams {
            entity: 9,
            component: "game::Position".into(),
            path: ".x".into(),
            value: json!(2.5),
        },
        r#"{"entity":9,"component":"game::Position","path":".x","value":2.5}"#,
    );
    // This host also takes a mutation without `path`: the whole component.
    assert_eq!(
        serde_json::from_str::<BrpMutateComponentsParams>(
            r#"{"entity":9,"component":"game::Position","value":{"x":0.0}}"#
        )
        .unwrap()
        .path,
        ""
    );
    round_trip(BrpListComponentsParams { entity: 9 }, r#"{"entity":9}"#);
    round_trip(
        paths(&["game::Health", "game::Position"]) as BrpListComponentsResponse,
        r#"["game::Health","game::Position"]"#,
    );
    assert!(
        serde_json::from_str::<BrpDespawnEntityParams>(r#"{"entity":9,"force":true}"#).is_err()
    );
}

#[test]
fn resources_and_messages() {
    round_trip(
        BrpGetResourcesParams {
            resource: "game::Score".into(),
        },
        r#"{"resource":"game::Score"}"#,
    );
    round_trip(
        BrpGetResourcesResponse { value: json!(12) },
        r#"{"value":12}"#,
    );
    round_trip(
        BrpInsertResourcesParams {
            resource: "game::Score".into(),
            value: json!({ "points": 3 }),
        },
        r#"{"resource":"game::Score","value":{"points":3}}"#,
    );
    round_trip(
        BrpWriteMessageParams {
            message: "game::Shout".into(),
            value: Some(json!({ "text": "hi" })),
        },
        r#"{"message":"game::Shout","value":{"text":"hi"}}"#,
    );
    round_trip(
        BrpWriteMessageParams {
            message: "game::Ping".into(),
            value: None,
        },
        r#"{"message":"game::Ping","value":null}"#,
    );
    assert_eq!(
        serde_json::from_str::<BrpWriteMessageParams>(r#"{"message":"game::Ping"}"#)
            .unwrap()
            .value,
        None
    );
}

#[test]
fn the_rest_of_brp() {
    round_trip(
        BrpReparentEntitiesParams {
            entities: vec![5, 6],
            parent: Some(7),
        },
        r#"{"entities":[5,6],"parent":7}"#,
    );
    assert_eq!(
        serde_json::from_str::<BrpReparentEntitiesParams>(r#"{"entities":[5]}"#)
            .unwrap()
            .parent,
        None
    );
    round_trip(
        BrpMutateResourcesParams {
            resource: "game::Score".into(),
            path: ".points".into(),
            value: json!(4),
        },
        r#"{"resource":"game::Score","path":".points","value":4}"#,
    );
    round_trip(
        BrpTriggerEventParams {
            event: "game::Boom".into(),
            value: Some(json!({ "power": 2 })),
        },
        r#"{"event":"game::Boom","value":{"power":2}}"#,
    );
    round_trip(
        BrpObserveParams {
            event: "game::Boom".into(),
            entity: None,
        },
        r#"{"event":"game::Boom","entity":null}"#,
    );
    round_trip(
        BrpScheduleGraphParams {
            schedule_label: "Update".into(),
        },
        r#"{"schedule_label":"Update"}"#,
    );
    round_trip(
        BrpListComponentsWatchingResponse {
            added: vec!["game::Hp".into()],
            removed: vec![],
        },
        r#"{"added":["game::Hp"],"removed":[]}"#,
    );
    round_trip(BrpWatchResponse { watch: 2 }, r#"{"watch":2}"#);
    round_trip(WatchCancelParams { watch: 2 }, r#"{"watch":2}"#);
}

#[test]
fn bulk_shapes_are_compact() {
    round_trip(
        BulkMutateComponentsParams {
            component: "game::Velocity".into(),
            path: ".x".into(),
            entities: vec![(1, json!(2.5)), (3, json!(-1.0))],
            packed: None,
            attached: None,
        },
        r#"{"component":"game::Velocity","path":".x","entities":[[1,2.5],[3,-1.0]]}"#,
    );
    // The packed form: the values in one string, `entities` left out.
    round_trip(
        BulkMutateComponentsParams::<serde_json::Value> {
            component: "game::Velocity".into(),
            path: ".x".into(),
            entities: Vec::new(),
            packed: Some(to_packed(&[(1_u64, 2.5_f32), (3, -1.0)][..]).unwrap()),
            attached: None,
        },
        r#"{"component":"game::Velocity","path":".x","packed":"AgEAACBAAwAAgL8="}"#,
    );
    // The same values as the request's attachment: only their length in the line.
    round_trip(
        BulkMutateComponentsParams::<serde_json::Value> {
            component: "game::Velocity".into(),
            path: ".x".into(),
            entities: Vec::new(),
            packed: None,
            attached: Some(11),
        },
        r#"{"component":"game::Velocity","path":".x","attached":11}"#,
    );
    round_trip(
        BulkQueryParams {
            components: vec!["game::Velocity".into()],
            filter: BrpQueryFilter::default(),
            skip: 0,
            limit: None,
            packed: false,
            attach: false,
        },
        r#"{"components":["game::Velocity"],"filter":{"without":[],"with":[]}}"#,
    );
    round_trip(
        BulkQueryParams {
            components: vec!["game::Velocity".into()],
            packed: true,
            ..BulkQueryParams::default()
        },
        r#"{"components":["game::Velocity"],"filter":{"without":[],"with":[]},"packed":true}"#,
    );
    round_trip(
        BulkQueryParams {
            components: vec!["game::Velocity".into()],
            packed: true,
            attach: true,
            ..BulkQueryParams::default()
        },
        r#"{"components":["game::Velocity"],"filter":{"without":[],"with":[]},"packed":true,"attach":true}"#,
    );
    let errors: BulkResponse =
        serde_json::from_str(r#"[[9,{"code":-23401,"message":"Entity 9 not found"}]]"#).unwrap();
    assert_eq!(errors.unwrap()[0].1.code, -23401);
    let all_done: BulkResponse = serde_json::from_str("null").unwrap();
    assert!(all_done.is_none());
    // A mistyped member is an error that names it, not a silent default.
    let e = serde_json::from_str::<BulkMutateComponentsParams>(
        r#"{"component":"game::Velocity","entity":[[1,2]]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("entity"), "{e}");
}

#[test]
fn packed_values_are_postcard_in_base64_and_bad_ones_are_refused() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Velocity {
        x: f32,
        y: f32,
    }
    let rows = vec![(7_u64, (Velocity { x: 1.0, y: 2.0 }, [0.5_f32, 0.25, 0.0]))];
    let text = to_packed(&rows).unwrap();
    let back: Vec<(u64, (Velocity, [f32; 3]))> = from_packed(&text).unwrap();
    assert_eq!(back, rows);
    // One count byte, one entity byte, five f32s.
    assert_eq!(packed::unpack(&text).unwrap().len(), 2 + 5 * 4);

    let error = from_packed::<Vec<(u64, Velocity)>>("not base64!").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the packed value is not base64"),
        "{error}"
    );
    // A row short of its second f32.
    let short = packed::pack(&[1, 7, 0, 0, 128, 63]);
    let error = from_packed::<Vec<(u64, Velocity)>>(&short).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the packed bytes are not the expected values"),
        "{error}"
    );
    let long = packed::pack(&[1, 7, 0, 0, 128, 63, 0, 0, 0, 64, 9]);
    let error = from_packed::<Vec<(u64, Velocity)>>(&long).unwrap_err();
    assert_eq!(
        error.to_string(),
        "1 unread byte(s) after the packed values"
    );
}

#[test]
fn unpack_reads_what_base64_writes_and_refuses_what_it_refuses() {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    // Every length from 0 to 40 (all three paddings), every byte value.
    for len in 0..=40_usize {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 97 + len * 31) as u8).collect();
        let text = packed::pack(&bytes);
        assert_eq!(packed::unpack(&text).unwrap(), bytes, "{text}");
    }
    let all: Vec<u8> = (0..=255).collect();
    assert_eq!(packed::unpack(&packed::pack(&all)).unwrap(), all);
    // Whatever `base64` refuses is refused too: each character replaced by each byte
    // value in a padded and an unpadded text, and cut texts.
    for text in ["AYKAgIAQAACAPwAAAL8=", "QUJD", "QQ==", "QUI="] {
        for at in 0..text.len() {
            for byte in 0..=127_u8 {
                let mut changed = text.as_bytes().to_vec();
                changed[at] = byte;
                let changed = String::from_utf8(changed).unwrap();
                assert_eq!(
                    packed::unpack(&changed).is_ok(),
                    STANDARD.decode(&changed).is_ok(),
                    "{changed:?}"
                );
                if let Ok(bytes) = packed::unpack(&changed) {
                    assert_eq!(bytes, STANDARD.decode(&changed).unwrap());
                }
            }
        }
        for end in 0..text.len() {
            assert_eq!(
                packed::unpack(&text[..end]).is_ok(),
                STANDARD.decode(&text[..end]).is_ok(),
                "{}",
                &text[..end]
            );
        }
    }
    let error = packed::unpack("QU*D").unwrap_err().to_string();
    assert_eq!(
        error,
        "the packed value is not base64: byte 2 is not a base64 character"
    );
    let error = packed::unpack("QUJ").unwrap_err().to_string();
    assert_eq!(
        error,
        "the packed value is not base64: its length, 3, is not a multiple of 4"
    );
}

#[test]
fn schema_properties_keep_the_fields_order() {
    let text = concat!(
        r##"{"shortPath":"T","typePath":"g::T","kind":"Struct","type":"object","properties":{"##,
        r##""translation":{"type":{"$ref":"#/$defs/glam::Vec3"}},"##,
        r##""rotation":{"type":{"$ref":"#/$defs/glam::Quat"}},"##,
        r##""scale":{"type":{"$ref":"#/$defs/glam::Vec3"}}}}"##
    );
    let schema: JsonSchemaBevyType = serde_json::from_str(text).unwrap();
    let names: Vec<&str> = schema.properties.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["translation", "rotation", "scale"]);
    assert_eq!(
        schema.properties.get("rotation"),
        Some(&json!({"type": {"$ref": "#/$defs/glam::Quat"}}))
    );
    assert_eq!(serde_json::to_string(&schema).unwrap(), text);
}

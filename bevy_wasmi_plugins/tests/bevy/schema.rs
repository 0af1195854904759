//! `registry.schema` as `wasmi-mod types` reads it: the answer for a small game is the
//! fixture `wasmi-mod/tests/fixtures/schema.json`, from which that command's tests write Rust
//! types. (`BLESS=1` writes the fixture anew from this host's answer.)

use super::*;
use bevy_wasmi_plugins::protocol::brp::BrpRegistrySchemaResponse;

mod game {
    use bevy::prelude::*;

    #[derive(Component, Reflect, Default)]
    #[reflect(Component, Default)]
    #[type_path = "game"]
    pub struct Velocity {
        pub x: f32,
        pub y: f32,
    }

    #[derive(Resource, Reflect, Default)]
    #[reflect(Resource)]
    #[type_path = "game"]
    pub struct Score(pub u32);

    #[derive(Reflect, Default)]
    #[type_path = "game"]
    pub enum Color {
        #[default]
        Red,
        Blue,
    }

    #[derive(Component, Reflect, Default)]
    #[reflect(Component)]
    #[type_path = "game"]
    pub struct Team {
        pub name: String,
        pub color: Color,
        pub members: Vec<u32>,
        pub leader: Option<f32>,
        pub r#type: u8,
    }

    /// Named by no component: not written by `wasmi-mod types`.
    #[derive(Reflect, Default)]
    #[type_path = "game"]
    pub struct Unused(pub bool);
}

/// The schema fixture.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../wasmi-mod/tests/fixtures/schema.json"
);
/// Values of those types as this host writes them (`world.get_components`), which the
/// PDK's test reads into the written types.
const VALUES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../wasmi-mod/tests/fixtures/values.json"
);

/// `value` is the fixture at `path` (written anew with `BLESS=1`).
fn check_fixture(path: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let fixture = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&fixture).unwrap(),
        *value,
        "{path} is not what this host answers (BLESS=1 writes it):\n{text}"
    );
}

/// `schema` is the schema fixture, fields in order (written anew with `BLESS=1`).
fn check_schema_fixture(schema: &BrpRegistrySchemaResponse) {
    let text = serde_json::to_string_pretty(schema).unwrap() + "\n";
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(FIXTURE, &text).unwrap();
    }
    let fixture = std::fs::read_to_string(FIXTURE).unwrap();
    assert_eq!(
        serde_json::from_str::<BrpRegistrySchemaResponse>(&fixture).unwrap(),
        *schema,
        "{FIXTURE} is not what this host answers (BLESS=1 writes it):\n{text}"
    );
}

#[test]
fn the_schema_wasmi_mod_types_reads_is_this_hosts_answer() {
    let assets = asset_dir(&[("echo", ECHO)]);
    let mut app = plain_app(&assets);
    app.register_type::<game::Velocity>()
        .register_type::<game::Score>()
        .register_type::<game::Team>()
        .register_type::<game::Unused>()
        .register_type::<Transform>();
    let echo = start_mod(
        &mut app,
        "echo",
        Some(
            ModPermissions::none()
                .allow_read_path("game::*")
                .allow_read::<Transform>(),
        ),
    );
    // Read from the answer's text as the protocol's types, which keep each struct's
    // fields in their order (a JSON tree would sort them).
    let text = call(
        &mut app,
        echo,
        "relay",
        json!({ "method": "registry.schema",
                "params": { "with_crates": ["game", "bevy_transform"] } }),
    )
    .unwrap();
    let ordered: BrpRegistrySchemaResponse = serde_json::from_str(text.get()).unwrap();
    // The fields in the order the types declare them, not sorted.
    let fields = |path: &str| -> Vec<String> {
        ordered[path]
            .properties
            .iter()
            .map(|(name, _)| name.clone())
            .collect()
    };
    assert_eq!(
        fields(<Transform as TypePath>::type_path()),
        ["translation", "rotation", "scale"]
    );
    assert_eq!(
        fields("game::Team"),
        ["name", "color", "members", "leader", "r#type"]
    );
    check_schema_fixture(&ordered);

    let entity = app
        .world_mut()
        .spawn((
            game::Velocity { x: 1.5, y: -2.0 },
            game::Team {
                name: "blue team".to_owned(),
                color: game::Color::Blue,
                members: vec![4, 9],
                leader: Some(0.5),
                r#type: 3,
            },
            Transform::from_xyz(1.0, 2.0, 3.0).with_scale(Vec3::splat(2.0)),
        ))
        .id();
    let paths = [
        "game::Velocity",
        "game::Team",
        <Transform as TypePath>::type_path(),
    ];
    let values = relay(
        &mut app,
        echo,
        "world.get_components",
        json!({ "entity": entity.to_bits(), "components": paths }),
    )
    .unwrap();
    assert_eq!(values["errors"], json!({}), "{values}");
    check_fixture(VALUES, &values["components"]);
}

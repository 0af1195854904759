//! The Rust types `wasmi-mod types` writes from a game's `registry.schema`
//! (`wasmi-mod/tests/fixtures/schema.rs`, from `schema.json`) compile against the PDK and read
//! the values that game's host writes (`wasmi-mod/tests/fixtures/values.json`).
#![allow(clippy::unwrap_used)]

#[path = "../../wasmi-mod/tests/fixtures/schema.rs"]
mod game_types;

use bevy_wasmi_plugins_pdk::ecs::{Component, Resource};
use game_types::{Color, Score, Team, Transform, Velocity};
use serde_json::Value;

const VALUES: &str = include_str!("../../wasmi-mod/tests/fixtures/values.json");

fn value<T: Component>(values: &Value) -> T {
    serde_json::from_value(values[T::TYPE_PATH].clone()).unwrap()
}

#[test]
fn written_types_read_the_hosts_values_and_carry_their_type_paths() {
    let values: Value = serde_json::from_str(VALUES).unwrap();
    let velocity: Velocity = value(&values);
    assert_eq!(velocity, Velocity { x: 1.5, y: -2.0 });
    let transform: Transform = value(&values);
    assert_eq!(transform.translation, [1.0, 2.0, 3.0]);
    assert_eq!(transform.rotation, [0.0, 0.0, 0.0, 1.0]);
    assert_eq!(transform.scale, [2.0, 2.0, 2.0]);
    let team: Team = value(&values);
    assert_eq!(team.name, "blue team");
    assert_eq!(team.color, Color::Blue);
    assert_eq!(team.members, [4, 9]);
    assert_eq!(team.leader, Some(0.5));
    assert_eq!(team.r#type, 3);
    // Written back, it is the host's JSON again (`r#type` keeps Bevy's key).
    assert_eq!(
        serde_json::to_value(&team).unwrap(),
        values[<Team as Component>::TYPE_PATH]
    );
    assert_eq!(<Score as Resource>::TYPE_PATH, "game::Score");
    assert_eq!(Score(3), Score(3));
}

//! Round trips of the lifecycle messages: each type serializes to the exact JSON on the
//! wire and reads back from it.

use super::{InitParams, Manifest, ShutdownResult};
use serde_json::value::RawValue;
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn raw(json: &str) -> Box<RawValue> {
    RawValue::from_string(json.to_owned()).unwrap()
}

#[test]
fn a_manifest_member_of_the_wrong_type_is_named() {
    let manifest = Manifest::read(r#"{"version":"1","events":["game.tick"]}"#).unwrap();
    assert_eq!(manifest.events, ["game.tick"]);
    assert_eq!(
        Manifest::read(r#"{"events":"game.tick"}"#).err().as_deref(),
        Some(r#"`events` must be an array of strings, not "game.tick""#)
    );
    assert_eq!(
        Manifest::read(r#"{"version":1}"#).err().as_deref(),
        Some("`version` must be a string, not 1")
    );
    assert_eq!(
        Manifest::read("null").err().as_deref(),
        Some("it is not an object but null")
    );
}

#[test]
fn a_manifest_lists_at_most_1024_methods_and_events() {
    let list = |n: usize| {
        let names: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
        serde_json::to_string(&names).unwrap()
    };
    let manifest = Manifest::read(&format!(r#"{{"events":{}}}"#, list(1024))).unwrap();
    assert_eq!(manifest.events.len(), 1024);
    assert_eq!(
        Manifest::read(&format!(r#"{{"events":{}}}"#, list(1025)))
            .err()
            .as_deref(),
        Some("`events` lists 1025 names, more than 1024")
    );
    assert_eq!(
        Manifest::read(&format!(r#"{{"methods":{}}}"#, list(350_000)))
            .err()
            .as_deref(),
        Some("`methods` lists 350000 names, more than 1024")
    );
}

#[test]
fn init_params_round_trip() {
    let config = raw(r#"{"greeting":"hi"}"#);
    let state = raw(r#"{"count":0,"ticks":1}"#);
    let json = r#"{"api_version":1,"config":{"greeting":"hi"},"state":{"count":0,"ticks":1}}"#;
    let init = InitParams::new(Some(&config), Some(&state));
    assert_eq!(serde_json::to_string(&init).unwrap(), json);
    let back: InitParams<'static> = serde_json::from_str(json).unwrap();
    assert_eq!(back.api_version, Some(1));
    assert_eq!(
        back.config.as_deref().map(RawValue::get),
        Some(config.get())
    );
    assert_eq!(back.state.as_deref().map(RawValue::get), Some(state.get()));
    assert_eq!(serde_json::to_string(&back).unwrap(), json);

    let first = r#"{"api_version":1,"config":null,"state":null}"#;
    assert_eq!(
        serde_json::to_string(&InitParams::new(None, None)).unwrap(),
        first
    );
    let back: InitParams<'static> = serde_json::from_str(first).unwrap();
    assert!(back.config.is_none() && back.state.is_none());
    // Absent members read as null.
    let back: InitParams<'static> = serde_json::from_str("{}").unwrap();
    assert_eq!(back.api_version, None);
}

#[test]
fn manifest_round_trip() {
    let json =
        r#"{"name":"mymod","version":"0.1.0","methods":["greet","ticks"],"events":["game.tick"]}"#;
    let manifest = Manifest {
        name: Some("mymod".into()),
        version: Some("0.1.0".into()),
        methods: vec!["greet".into(), "ticks".into()],
        events: vec!["game.tick".into()],
    };
    assert_eq!(serde_json::to_string(&manifest).unwrap(), json);
    assert_eq!(serde_json::from_str::<Manifest>(json).unwrap(), manifest);
    // The host's reader ignores `name`.
    let read = Manifest::read(json).unwrap();
    assert_eq!(
        read,
        Manifest {
            name: None,
            ..manifest
        }
    );
    assert_eq!(
        serde_json::to_string(&Manifest::default()).unwrap(),
        r#"{"methods":[],"events":[]}"#
    );
}

#[test]
fn shutdown_result_round_trip() {
    let json = r#"{"state":{"count":0,"ticks":1}}"#;
    let result: ShutdownResult<'static> = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&result).unwrap(), json);
    assert_eq!(
        ShutdownResult::state_of(&raw(json)).unwrap().get(),
        r#"{"count":0,"ticks":1}"#
    );
    assert_eq!(
        serde_json::to_string(&ShutdownResult::default()).unwrap(),
        r#"{"state":null}"#
    );
    assert!(ShutdownResult::state_of(&raw("{}")).is_none());
    assert!(ShutdownResult::state_of(&raw(r#"{"state":null}"#)).is_none());
    assert!(ShutdownResult::state_of(&raw("5")).is_none());
}

//! The messages of a mod's lifecycle on the wire: the params of `plugin.init`, the
//! manifest a mod answers it with, and the state in a `plugin.shutdown` answer.

use bevy_wasmi_plugins_protocol::HOST_API_VERSION;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The manifest a PDK mod answers `plugin.init` with.
#[derive(Default)]
pub(super) struct Manifest {
    pub(super) version: Option<String>,
    pub(super) methods: Vec<String>,
    pub(super) events: Vec<String>,
}

/// Reads a manifest; a member of the wrong type makes the whole manifest unusable (as the
/// protocol document says), and the error names that member. Other members are ignored.
pub(super) fn read_manifest(json: &str) -> Result<Manifest, String> {
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|_| format!("it is not an object but {}", shorten(json)))?;
    fn member<T: serde::de::DeserializeOwned + Default>(
        members: &serde_json::Map<String, serde_json::Value>,
        name: &str,
        what: &str,
    ) -> Result<T, String> {
        match members.get(name) {
            None | Some(serde_json::Value::Null) => Ok(T::default()),
            Some(value) => T::deserialize(value).map_err(|_| {
                format!(
                    "`{name}` must be {what}, not {}",
                    shorten(&value.to_string())
                )
            }),
        }
    }
    Ok(Manifest {
        version: member(&members, "version", "a string")?,
        methods: member(&members, "methods", "an array of strings")?,
        events: member(&members, "events", "an array of strings")?,
    })
}

/// At most 60 characters of `text`, for log lines.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The params of `plugin.init`.
#[derive(Serialize)]
pub(super) struct InitParams<'a> {
    api_version: u32,
    config: Option<&'a RawValue>,
    state: Option<&'a RawValue>,
}

impl<'a> InitParams<'a> {
    /// This host's API version, the mod's configuration and the state handed over by
    /// the version before it (hot reload).
    pub(super) fn new(config: Option<&'a RawValue>, state: Option<&'a RawValue>) -> Self {
        InitParams {
            api_version: HOST_API_VERSION,
            config,
            state,
        }
    }
}

#[derive(Deserialize)]
struct ShutdownResult {
    #[serde(default)]
    state: Option<Box<RawValue>>,
}

/// The state in a `plugin.shutdown` answer, if it has one.
pub(super) fn shutdown_state(result: &RawValue) -> Option<Box<RawValue>> {
    serde_json::from_str::<ShutdownResult>(result.get())
        .ok()
        .and_then(|r| r.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_member_of_the_wrong_type_is_named() {
        let manifest = read_manifest(r#"{"version":"1","events":["game.tick"]}"#).unwrap();
        assert_eq!(manifest.events, ["game.tick"]);
        assert_eq!(
            read_manifest(r#"{"events":"game.tick"}"#).err().as_deref(),
            Some(r#"`events` must be an array of strings, not "game.tick""#)
        );
        assert_eq!(
            read_manifest(r#"{"version":1}"#).err().as_deref(),
            Some("`version` must be a string, not 1")
        );
        assert_eq!(
            read_manifest("null").err().as_deref(),
            Some("it is not an object but null")
        );
    }
}

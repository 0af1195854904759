//! The messages of a mod's lifecycle: the params of `plugin.init` ([`InitParams`]), the
//! manifest a mod answers it with ([`Manifest`]), and the result of `plugin.shutdown`
//! ([`ShutdownResult`]).
//!
//! The host writes [`InitParams`] and reads the other two; the PDK does the reverse.
//! [`InitParams`] and [`ShutdownResult`] borrow their JSON where they can ([`Cow`]), so
//! the side that writes them copies nothing.
//!
//! ```
//! use bevy_wasmi_plugins_protocol::lifecycle::{InitParams, Manifest};
//!
//! let init = InitParams::new(None, None);
//! assert_eq!(
//!     serde_json::to_string(&init).unwrap(),
//!     r#"{"api_version":1,"config":null,"state":null}"#
//! );
//!
//! let manifest = Manifest::read(r#"{"name":"m","methods":["greet"]}"#).unwrap();
//! assert_eq!(manifest.methods, ["greet"]);
//! ```

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::HOST_API_VERSION;

/// The method a host starts a mod with; its params are [`InitParams`], its result a
/// [`Manifest`].
pub const INIT_METHOD: &str = "plugin.init";

/// The method a host sends before it drops an instance; it has no params, its result is
/// a [`ShutdownResult`].
pub const SHUTDOWN_METHOD: &str = "plugin.shutdown";

/// The params of `plugin.init`: `{"api_version":1,"config":…,"state":…}`.
///
/// The host always writes all three members (`null` for none); a reader takes absent
/// members as `null`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct InitParams<'a> {
    /// The host API version ([`HOST_API_VERSION`]); `None` when the host did not say.
    #[serde(default)]
    pub api_version: Option<u32>,
    /// The configuration the game gave this mod (any JSON), `None` for `null`.
    #[serde(default)]
    pub config: Option<Cow<'a, RawValue>>,
    /// The state the previous instance returned from `plugin.shutdown` (hot reload),
    /// `None` for `null` (a first start, or a restart after a crash).
    #[serde(default)]
    pub state: Option<Cow<'a, RawValue>>,
}

impl<'a> InitParams<'a> {
    /// This host's API version, the mod's configuration and the state handed over by the
    /// instance before it.
    pub fn new(config: Option<&'a RawValue>, state: Option<&'a RawValue>) -> Self {
        InitParams {
            api_version: Some(HOST_API_VERSION),
            config: config.map(Cow::Borrowed),
            state: state.map(Cow::Borrowed),
        }
    }
}

/// The manifest a mod answers `plugin.init` with:
/// `{"name":…,"version":…,"methods":[…],"events":[…]}`.
///
/// Every member is optional. The host shows `version` and `methods` to the game, sends
/// the mod the events listed in `events`, and ignores `name` (a mod's name is its file
/// name) and any other member; read it with [`Manifest::read`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The mod's name (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The mod's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The methods the mod serves (informational: the game may call any name).
    #[serde(default)]
    pub methods: Vec<String>,
    /// The events (notifications) the mod wants.
    #[serde(default)]
    pub events: Vec<String>,
}

impl Manifest {
    /// Most names `methods` and `events` may each list in a manifest the host reads
    /// ([`Manifest::read`]): the host keeps them for the mod's lifetime and looks events
    /// up in them on every broadcast.
    pub const MAX_NAMES: usize = 1024;

    /// Reads a manifest as the host does: a member of the wrong type, or a list of more
    /// than [`Manifest::MAX_NAMES`] names, makes the whole manifest unusable (as the
    /// protocol document says), and the error names that member; `null` members count
    /// as absent, `name` and unknown members are ignored.
    ///
    /// ```
    /// use bevy_wasmi_plugins_protocol::lifecycle::Manifest;
    ///
    /// assert_eq!(
    ///     Manifest::read(r#"{"events":"game.tick"}"#).unwrap_err(),
    ///     r#"`events` must be an array of strings, not "game.tick""#
    /// );
    /// ```
    ///
    /// # Errors
    ///
    /// A sentence for the log when `json` is not an object or a member has the wrong
    /// type.
    pub fn read(json: &str) -> Result<Self, String> {
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
        let names = |name: &str| {
            let names: Vec<String> = member(&members, name, "an array of strings")?;
            if names.len() > Self::MAX_NAMES {
                return Err(format!(
                    "`{name}` lists {} names, more than {}",
                    names.len(),
                    Self::MAX_NAMES
                ));
            }
            Ok(names)
        };
        Ok(Manifest {
            name: None,
            version: member(&members, "version", "a string")?,
            methods: names("methods")?,
            events: names("events")?,
        })
    }
}

/// At most 60 characters of `text`, for log lines.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// The result of `plugin.shutdown`: `{"state":…}`, or `{}` for no state.
///
/// The mod writes `{"state":null}` when it has none; a reader takes an absent `state`
/// as `null`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ShutdownResult<'a> {
    /// The state to hand to the next instance's `plugin.init` (hot reload), `None` for
    /// `null`.
    #[serde(default)]
    pub state: Option<Cow<'a, RawValue>>,
}

impl ShutdownResult<'static> {
    /// The state in a `plugin.shutdown` answer, if it has one (`None` as well when the
    /// answer does not have this shape).
    pub fn state_of(result: &RawValue) -> Option<Box<RawValue>> {
        serde_json::from_slice::<ShutdownResult<'static>>(result.get().as_bytes())
            .ok()
            .and_then(|r| r.state)
            .map(Cow::into_owned)
    }
}

#[cfg(test)]
mod tests;

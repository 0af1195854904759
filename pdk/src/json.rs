//! Raw JSON values: [`Json`] (an owned JSON text), [`Params`] (a request's params) and
//! [`Init`] (what `plugin.init` carries).

use std::borrow::Cow;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Error;
use crate::protocol::lifecycle::InitParams;

/// An owned piece of JSON text, passed through without being parsed into a tree.
///
/// It is the result type of [`Plugin::handle`](crate::Plugin::handle) and of
/// [`host::call_raw`](crate::host::call_raw), and it can be used as a typed method's
/// params or result to pass JSON through unchanged.
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// let json = Json::of(&[1, 2]).unwrap();
/// assert_eq!(json.get(), "[1,2]");
/// assert_eq!(json.parse::<Vec<i64>>().unwrap(), [1, 2]);
/// assert_eq!(Json::null().get(), "null");
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    /// Serializes `value`.
    ///
    /// # Errors
    ///
    /// An internal error when `value` does not serialize (e.g. a map with non-string keys).
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Json, Error> {
        serde_json::value::to_raw_value(value)
            .map(Json)
            .map_err(|e| Error::internal(format_args!("value did not serialize: {e}")))
    }

    /// JSON `null`.
    pub fn null() -> Json {
        Json(RawValue::NULL.to_owned())
    }

    /// Checks that `text` is one JSON value and keeps it. Text spread over several lines
    /// is put on one line (its line breaks dropped), so it can go on the wire as it is.
    ///
    /// ```
    /// use bevy_wasmi_plugins_pdk::Json;
    ///
    /// let json = Json::from_string("{\r\n  \"a\": \"x\\ny\"\n}".to_owned()).unwrap();
    /// assert_eq!(json.get(), r#"{  "a": "x\ny"}"#);
    /// assert!(Json::from_string("{\"a\":".to_owned()).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// An internal error when `text` is not valid JSON.
    pub fn from_string(text: String) -> Result<Json, Error> {
        let raw = RawValue::from_string(text)?;
        Ok(Json::from_raw(raw))
    }

    /// Wraps raw JSON, put on one line when it spans several: in valid JSON a line break
    /// can only be whitespace between tokens, so its `\n` and `\r` bytes are dropped.
    pub fn from_raw(raw: Box<RawValue>) -> Json {
        let one_line = match crate::protocol::one_line(raw.get()) {
            Cow::Owned(text) => RawValue::from_string(text).ok(),
            Cow::Borrowed(_) => None,
        };
        Json(one_line.unwrap_or(raw))
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Deserializes the JSON into `T`.
    ///
    /// # Errors
    ///
    /// An internal error saying what did not match.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, Error> {
        Ok(serde_json::from_slice(self.0.get().as_bytes())?)
    }

    /// The JSON as a [`RawValue`].
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// Unwraps the [`RawValue`].
    pub fn into_raw(self) -> Box<RawValue> {
        self.0
    }
}

impl From<Box<RawValue>> for Json {
    fn from(raw: Box<RawValue>) -> Self {
        Json::from_raw(raw)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Json({})", self.get())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// The params of a request or notification, as they were on the wire.
///
/// Absent params read as `null`, so `()` and `Option<T>` accept them.
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// let raw = serde_json::value::RawValue::from_string("[1,2]".into()).unwrap();
/// let params = Params::new("add", Some(&raw));
/// assert_eq!(params.parse::<(i64, i64)>().unwrap(), (1, 2));
///
/// let error = params.parse::<String>().unwrap_err();
/// assert_eq!(error.code(), -32602);
/// assert!(error.message().starts_with("Invalid params for add: "));
///
/// assert_eq!(Params::new("tick", None).parse::<()>().unwrap(), ());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    method: &'a str,
    raw: Option<&'a RawValue>,
}

impl<'a> Params<'a> {
    /// Params of `method` (the name is used in error messages).
    pub fn new(method: &'a str, raw: Option<&'a RawValue>) -> Self {
        Params { method, raw }
    }

    /// Deserializes the params into `T` (absent params deserialize from `null`).
    ///
    /// # Errors
    ///
    /// A `-32602` invalid-params error naming the method and what did not match.
    pub fn parse<T: Deserialize<'a>>(&self) -> Result<T, Error> {
        serde_json::from_slice(self.get().as_bytes())
            .map_err(|e| crate::protocol::ResponseError::invalid_params(self.method, e).into())
    }

    /// The method these params belong to.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// The params' JSON text, `null` when they were absent.
    pub fn get(&self) -> &'a str {
        self.raw.map_or("null", RawValue::get)
    }

    /// The params as they were on the wire; `None` when absent.
    pub fn raw(&self) -> Option<&'a RawValue> {
        self.raw
    }

    /// Whether the message had no params.
    pub fn is_absent(&self) -> bool {
        self.raw.is_none()
    }

    /// An owned copy of the params (`null` when absent).
    pub fn to_json(&self) -> Json {
        self.raw.map_or_else(Json::null, |raw| Json(raw.to_owned()))
    }
}

/// What the host sends in `plugin.init`: the host API version, the mod's configuration
/// and the state a previous instance returned from `plugin.shutdown` (hot reload).
///
/// ```
/// use bevy_wasmi_plugins_pdk::prelude::*;
///
/// # fn demo(init: &Init) -> Result<(), Error> {
/// #[derive(serde::Deserialize, Default)]
/// struct Config { speed: f32 }
///
/// let config: Config = init.config().unwrap_or_default();
/// let saved_count: u64 = init.state()?.unwrap_or(0);
/// # Ok(()) }
/// ```
///
/// Its wire shape is the protocol's
/// [`InitParams`](crate::protocol::lifecycle::InitParams), which it wraps.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct Init(InitParams<'static>);

impl Init {
    /// The host API version ([`HOST_API_VERSION`](crate::protocol::HOST_API_VERSION) when
    /// the host did not say).
    pub fn api_version(&self) -> u32 {
        self.0
            .api_version
            .unwrap_or(crate::protocol::HOST_API_VERSION)
    }

    /// Deserializes the configuration (absent or `null` configuration deserializes from
    /// `null`, so `Option<T>` accepts it).
    ///
    /// # Errors
    ///
    /// A `-32602` invalid-params error saying what did not match.
    pub fn config<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let json = self.0.config.as_deref().map_or("null", RawValue::get);
        serde_json::from_slice(json.as_bytes())
            .map_err(|e| Error::invalid_params(format_args!("Invalid config: {e}")))
    }

    /// Deserializes the carried-over state; `None` on a first start (absent or `null`).
    ///
    /// # Errors
    ///
    /// A `-32602` invalid-params error when there is state and it does not match `T`.
    pub fn state<T: DeserializeOwned>(&self) -> Result<Option<T>, Error> {
        match self.0.state.as_deref() {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(raw.get().as_bytes())
                .map(Some)
                .map_err(|e| Error::invalid_params(format_args!("Invalid state: {e}"))),
        }
    }

    /// The configuration as raw JSON, `None` when absent or `null`.
    pub fn raw_config(&self) -> Option<&RawValue> {
        self.0.config.as_deref()
    }

    /// The carried-over state as raw JSON, `None` when absent or `null`.
    pub fn raw_state(&self) -> Option<&RawValue> {
        self.0.state.as_deref()
    }
}

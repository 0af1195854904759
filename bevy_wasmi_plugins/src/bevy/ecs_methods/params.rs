//! The Bevy Remote Protocol's params of the `world.*` methods, as mods send them
//! (unknown members are refused, as in BRP).

use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryParams {
    #[serde(default)]
    pub(super) data: QueryData,
    #[serde(default)]
    pub(super) filter: QueryFilter,
    #[serde(default)]
    pub(super) strict: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryData {
    #[serde(default)]
    pub(super) components: Vec<String>,
    #[serde(default)]
    pub(super) option: Selector,
    #[serde(default)]
    pub(super) has: Vec<String>,
}

/// BRP's `option`: a list of type paths, or `"all"`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
pub(super) enum Selector {
    #[default]
    #[serde(skip)]
    None,
    All(AllKeyword),
    Paths(Vec<String>),
}

#[derive(Deserialize)]
pub(super) enum AllKeyword {
    #[serde(rename = "all")]
    All,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct QueryFilter {
    #[serde(default)]
    pub(super) with: Vec<String>,
    #[serde(default)]
    pub(super) without: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GetComponentsParams {
    pub(super) entity: u64,
    pub(super) components: Vec<String>,
    #[serde(default)]
    pub(super) strict: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpawnParams {
    pub(super) components: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InsertParams {
    pub(super) entity: u64,
    pub(super) components: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RemoveParams {
    pub(super) entity: u64,
    pub(super) components: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntityParams {
    pub(super) entity: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ResourceParams {
    pub(super) resource: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InsertResourceParams {
    pub(super) resource: String,
    pub(super) value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MutateParams {
    pub(super) entity: u64,
    pub(super) component: String,
    #[serde(default)]
    pub(super) path: String,
    pub(super) value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MessageParams {
    pub(super) message: String,
    #[serde(default)]
    pub(super) value: Option<Value>,
}

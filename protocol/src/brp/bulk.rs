//! The `bulk.*` methods: this project's extension for many entities in one call, where
//! BRP has one call per entity. Not BRP methods (BRP has no `bulk.` namespace), so a
//! BRP client cannot mistake them for its own.
//!
//! The shapes are compact, because on the mod's side JSON is the cost: one type path
//! per call (not per entity), and an entity's value next to its id in a two-element
//! array. Their params may be as long as the mod's message cap (not the smaller cap of a
//! `world.*` call); a longer write is split by the mod.
//!
//! ```
//! use bevy_wasmi_plugins_protocol::brp::BulkMutateComponentsParams;
//! use serde_json::json;
//!
//! let params = BulkMutateComponentsParams {
//!     component: "my_game::Velocity".into(),
//!     path: String::new(),
//!     entities: vec![(4294967298, json!({"x": 1.0, "y": 0.0}))],
//!     packed: None,
//!     attached: None,
//! };
//! assert_eq!(
//!     serde_json::to_string(&params).unwrap(),
//!     r#"{"component":"my_game::Velocity","path":"","entities":[[4294967298,{"x":1.0,"y":0.0}]]}"#
//! );
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BrpQueryFilter;
use crate::ResponseError;

/// `bulk.mutate_components`: one component type (or one field of it) set on many
/// entities. Params [`BulkMutateComponentsParams`], result [`BulkResponse`].
pub const BULK_MUTATE_COMPONENTS_METHOD: &str = "bulk.mutate_components";
/// `bulk.insert_components`: one component type inserted (or replaced) on many
/// entities. Params [`BulkInsertComponentsParams`], result [`BulkResponse`].
pub const BULK_INSERT_COMPONENTS_METHOD: &str = "bulk.insert_components";
/// `bulk.query`: `world.query` with rows as arrays. Params [`BulkQueryParams`], result
/// [`BulkQueryResponse`].
pub const BULK_QUERY_METHOD: &str = "bulk.query";

/// The params of `bulk.mutate_components`:
/// `{"component":P,"path":".x","entities":[[E,value],…]}`.
///
/// Each entity is done as `world.mutate_components` would do it, independently: one
/// that fails is reported and the others are still applied.
///
/// `V` is the type of the values: [`Value`] by default, or a mod's own type (the
/// component's, or the field's at `path`), which saves building a JSON tree per entity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkMutateComponentsParams<V = Value> {
    /// The component's type path.
    pub component: String,
    /// The reflection path of the field to set (`GetPath`); empty (or left out) for the
    /// whole component.
    #[serde(default)]
    pub path: String,
    /// The entities' bits, each with its new value (of the field at `path`). Empty
    /// (or left out) when the values are `packed`.
    #[serde(default = "Vec::new", skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<(u64, V)>,
    /// The entities and their values in the [packed form](super::packed), instead of
    /// `entities`: `Vec<(u64, V)>` in postcard's format, as base64.
    ///
    /// The values are read one by one as they are applied, straight into the
    /// components: a value that cannot be read fails the call after the entities before
    /// it were changed (the error says how many), and its own entity may keep the
    /// fields read before the break.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packed: Option<String>,
    /// The packed values are the request's [attachment](crate::attach) instead of
    /// base64 in `packed`: its length in bytes, which must be the attachment's. Taken
    /// as `packed` is, instead of `entities` and `packed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<u64>,
}

/// The params of `bulk.insert_components`: `{"component":P,"entities":[[E,value],…]}`
/// (`V` as in [`BulkMutateComponentsParams`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkInsertComponentsParams<V = Value> {
    /// The component's type path.
    pub component: String,
    /// The entities' bits, each with its component's value.
    pub entities: Vec<(u64, V)>,
}

/// The result of a `bulk.*` write: `null` when every entity was done, else
/// `[[E,{"code":…,"message":…}],…]`, the entities that were not, with BRP's error for
/// each. An error for the whole call (a wrong shape, a type the mod may not write, an
/// unknown type) is the call's error instead, and then no entity was changed.
pub type BulkResponse = Option<Vec<(u64, ResponseError)>>;

/// The params of `bulk.query`: `{"components":[P,…],"filter":{"with":[…],"without":[…]}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BulkQueryParams {
    /// The type paths of the components an entity must have, fetched in this order.
    pub components: Vec<String>,
    /// Which entities to include or exclude.
    #[serde(default)]
    pub filter: BrpQueryFilter,
    /// Rows to leave out first (paging: an answer must fit in the mod's message cap,
    /// 1 MiB by default, which holds about 8 000 rows of `Transform` + a small
    /// component). The order is the world's iteration order, stable while the matching
    /// entities do not change.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: usize,
    /// The most rows to answer with (all when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Whether to answer in the [packed form](super::packed): one string, the rows as
    /// `Vec<(u64, (C1, C2, …))>` in postcard's format, as base64, instead of a JSON
    /// list of rows.
    #[serde(default, skip_serializing_if = "is_false")]
    pub packed: bool,
    /// With `packed`: the rows come as the response's [attachment](crate::attach), raw
    /// postcard bytes without base64, and the result is their length in bytes. Only a
    /// request of its own line may ask for it (not one in a batch).
    #[serde(default, skip_serializing_if = "is_false")]
    pub attach: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One `bulk.query` row: `[E,[value,…]]`, the values in the order of
/// [`BulkQueryParams::components`]. `V` may be a mod's own tuple of the components'
/// types (`(u64, (Transform, Velocity))` reads `[E,[t,v]]`).
pub type BulkQueryRow<V = Vec<Value>> = (u64, V);

/// The result of `bulk.query` (without `packed`; with it, a string, or with `attach` the
/// attachment's length).
pub type BulkQueryResponse<V = Vec<Value>> = Vec<BulkQueryRow<V>>;

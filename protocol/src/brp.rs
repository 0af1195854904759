//! The requests and responses of the `world.*` methods: the Bevy Remote Protocol's
//! (`bevy_remote` 0.19) type names, member names and JSON shapes, without Bevy.
//!
//! Each `world.*` method has a params type (`Brp…Params`) and, where it answers with
//! more than `null`, a response type (`Brp…Response`). The host deserializes the params
//! and serializes the responses; a mod does the reverse. Entities are their `u64` bits
//! (`Entity::to_bits`, which is how BRP's `Entity` serializes); components, resources
//! and messages are named by their full type path (`my_game::Position`) and their values
//! are the JSON of Bevy's reflection serializer.
//!
//! Where this host differs from `bevy_remote` it accepts more, never less: unknown
//! members are refused as in BRP's handlers, but `world.query`'s `data` and
//! `world.mutate_components`' `path` may be left out (an empty selection, the whole
//! component).
//!
//! ```
//! use bevy_wasmi_plugins_protocol::brp::{BrpQuery, BrpQueryFilter, BrpQueryParams};
//!
//! let params = BrpQueryParams {
//!     data: BrpQuery {
//!         components: vec!["my_game::Position".into()],
//!         ..BrpQuery::default()
//!     },
//!     filter: BrpQueryFilter::default(),
//!     strict: false,
//! };
//! assert_eq!(
//!     serde_json::to_string(&params).unwrap(),
//!     r#"{"data":{"components":["my_game::Position"],"option":[],"has":[]},"filter":{"without":[],"with":[]},"strict":false}"#
//! );
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `world.query`: entities with the given components, and their values.
pub const BRP_QUERY_METHOD: &str = "world.query";
/// `world.get_components`: components of one entity.
pub const BRP_GET_COMPONENTS_METHOD: &str = "world.get_components";
/// `world.spawn_entity`: a new entity with components.
pub const BRP_SPAWN_ENTITY_METHOD: &str = "world.spawn_entity";
/// `world.insert_components`: components added to an entity.
pub const BRP_INSERT_COMPONENTS_METHOD: &str = "world.insert_components";
/// `world.remove_components`: components removed from an entity.
pub const BRP_REMOVE_COMPONENTS_METHOD: &str = "world.remove_components";
/// `world.despawn_entity`: an entity despawned.
pub const BRP_DESPAWN_ENTITY_METHOD: &str = "world.despawn_entity";
/// `world.get_resources`: the value of a resource.
pub const BRP_GET_RESOURCES_METHOD: &str = "world.get_resources";
/// `world.insert_resources`: a resource set to a value.
pub const BRP_INSERT_RESOURCES_METHOD: &str = "world.insert_resources";
/// `world.mutate_components`: one field of a component set.
pub const BRP_MUTATE_COMPONENTS_METHOD: &str = "world.mutate_components";
/// `world.write_message`: a Bevy message written.
pub const BRP_WRITE_MESSAGE_METHOD: &str = "world.write_message";
/// `world.list_components`: the registered component types, or an entity's.
pub const BRP_LIST_COMPONENTS_METHOD: &str = "world.list_components";
/// `world.reparent_entities`: entities given a new parent, or none.
pub const BRP_REPARENT_ENTITIES_METHOD: &str = "world.reparent_entities";
/// `world.list_resources`: the registered resource types.
pub const BRP_LIST_RESOURCES_METHOD: &str = "world.list_resources";
/// `world.remove_resources`: a resource removed.
pub const BRP_REMOVE_RESOURCES_METHOD: &str = "world.remove_resources";
/// `world.mutate_resources`: one field of a resource set.
pub const BRP_MUTATE_RESOURCES_METHOD: &str = "world.mutate_resources";
/// `world.trigger_event`: a Bevy event triggered (observers run).
pub const BRP_TRIGGER_EVENT_METHOD: &str = "world.trigger_event";

/// The params of `world.query`:
/// `{"data":{"components":[…],"option":[…] or "all","has":[…]},"filter":{"without":[…],"with":[…]},"strict":false}`.
///
/// The host answers with a [`BrpQueryResponse`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpQueryParams {
    /// The components to fetch (none when left out).
    #[serde(default)]
    pub data: BrpQuery,
    /// Which entities to include or exclude.
    #[serde(default)]
    pub filter: BrpQueryFilter,
    /// Whether a type the host does not know is an error (else a required one matches
    /// nothing, an optional or excluded one is ignored, and a `has` one is absent).
    #[serde(default)]
    pub strict: bool,
}

/// The data a `world.query` fetches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpQuery {
    /// The type paths of the components an entity must have, fetched.
    #[serde(default)]
    pub components: Vec<String>,
    /// The components fetched when an entity has them.
    #[serde(default)]
    pub option: ComponentSelector,
    /// The components whose presence is reported (in [`BrpQueryRow::has`]).
    #[serde(default)]
    pub has: Vec<String>,
}

/// BRP's `option`: a list of type paths, or `"all"` (every component of the entity
/// that the caller may read).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentSelector {
    /// `"all"`.
    All,
    /// `["my_game::Position", …]`.
    #[serde(untagged)]
    Paths(Vec<String>),
}

impl Default for ComponentSelector {
    /// No optional components: `[]`.
    fn default() -> Self {
        ComponentSelector::Paths(Vec::new())
    }
}

/// Which entities a `world.query` includes or excludes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpQueryFilter {
    /// Components an entity must not have.
    #[serde(default)]
    pub without: Vec<String>,
    /// Components an entity must have (not fetched).
    #[serde(default)]
    pub with: Vec<String>,
}

/// One entity a `world.query` matched: `{"entity":E,"components":{…},"has":{…}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrpQueryRow {
    /// The entity's bits.
    pub entity: u64,
    /// The values of the fetched components, by type path.
    pub components: Map<String, Value>,
    /// For each type path in [`BrpQuery::has`], whether the entity has it (`true` or
    /// `false`); left out when nothing was asked.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub has: Map<String, Value>,
}

/// The result of `world.query`: one row per matched entity.
pub type BrpQueryResponse = Vec<BrpQueryRow>;

/// The params of `world.get_components`: `{"entity":E,"components":[…],"strict":false}`.
///
/// The host answers with a [`BrpGetComponentsResponse`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpGetComponentsParams {
    /// The entity's bits.
    pub entity: u64,
    /// The type paths of the components to get.
    pub components: Vec<String>,
    /// Whether the first component that cannot be had fails the whole call (else it is
    /// reported in `errors`).
    #[serde(default)]
    pub strict: bool,
}

/// The result of `world.get_components`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BrpGetComponentsResponse {
    /// Without `strict`: `{"components":{…},"errors":{…}}`, the values got and, for each
    /// component that could not be had, its error object.
    Lenient {
        /// The values, by type path.
        components: Map<String, Value>,
        /// The errors (`{"code":…,"message":…}`), by type path.
        errors: Map<String, Value>,
    },
    /// With `strict`: the values by type path, `{…}`.
    Strict(Map<String, Value>),
}

/// The params of `world.spawn_entity`: `{"components":{P:value,…}}`.
///
/// The host answers with a [`BrpSpawnEntityResponse`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpSpawnEntityParams {
    /// The new entity's components: values by type path.
    pub components: Map<String, Value>,
}

/// The result of `world.spawn_entity`: `{"entity":E}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrpSpawnEntityResponse {
    /// The new entity's bits.
    pub entity: u64,
}

/// The params of `world.insert_components`: `{"entity":E,"components":{P:value,…}}`;
/// the result is `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpInsertComponentsParams {
    /// The entity's bits.
    pub entity: u64,
    /// The components to insert (or replace): values by type path.
    pub components: Map<String, Value>,
}

/// The params of `world.remove_components`: `{"entity":E,"components":[…]}`; the result
/// is `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpRemoveComponentsParams {
    /// The entity's bits.
    pub entity: u64,
    /// The type paths of the components to remove.
    pub components: Vec<String>,
}

/// The params of `world.despawn_entity`: `{"entity":E}`; the result is `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpDespawnEntityParams {
    /// The entity's bits.
    pub entity: u64,
}

/// The params of `world.mutate_components`:
/// `{"entity":E,"component":P,"path":".x","value":…}`; the result is `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpMutateComponentsParams {
    /// The entity's bits.
    pub entity: u64,
    /// The component's type path.
    pub component: String,
    /// The reflection path of the field to set (`GetPath`); empty (or left out) for the
    /// whole component.
    #[serde(default)]
    pub path: String,
    /// The field's new value.
    pub value: Value,
}

/// The params of `world.list_components` for one entity: `{"entity":E}` (without
/// params it lists every registered component type).
///
/// The host answers with a [`BrpListComponentsResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpListComponentsParams {
    /// The entity's bits.
    pub entity: u64,
}

/// The result of `world.list_components`: type paths, sorted.
pub type BrpListComponentsResponse = Vec<String>;

/// The params of `world.get_resources`: `{"resource":P}`.
///
/// The host answers with a [`BrpGetResourcesResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpGetResourcesParams {
    /// The resource's type path.
    pub resource: String,
}

/// The result of `world.get_resources`: `{"value":…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BrpGetResourcesResponse {
    /// The resource's value.
    pub value: Value,
}

/// The params of `world.insert_resources`: `{"resource":P,"value":…}`; the result is
/// `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpInsertResourcesParams {
    /// The resource's type path.
    pub resource: String,
    /// Its new value.
    pub value: Value,
}

/// The params of `world.write_message`: `{"message":P,"value":…}`; the result is
/// `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpWriteMessageParams {
    /// The message's type path.
    pub message: String,
    /// The message; `None` (`null` or left out) is `{}`, which fits a message without
    /// fields.
    #[serde(default)]
    pub value: Option<Value>,
}

/// The params of `world.reparent_entities`: `{"entities":[E,…],"parent":E}`, or without
/// `parent` (or `null`) to take the entities out of their parents; the result is `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpReparentEntitiesParams {
    /// The bits of the entities that become children of `parent`.
    pub entities: Vec<u64>,
    /// The new parent's bits; `None` removes the entities' `ChildOf`.
    #[serde(default)]
    pub parent: Option<u64>,
}

/// The result of `world.list_resources`: the type paths of the registered resources the
/// mod may read, sorted.
pub type BrpListResourcesResponse = Vec<String>;

/// The params of `world.remove_resources`: `{"resource":P}`; the result is `null`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpRemoveResourcesParams {
    /// The resource's type path.
    pub resource: String,
}

/// The params of `world.mutate_resources`: `{"resource":P,"path":".x","value":…}`; the
/// result is `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpMutateResourcesParams {
    /// The resource's type path.
    pub resource: String,
    /// The reflection path of the field to set (`GetPath`); empty (or left out) for the
    /// whole resource.
    #[serde(default)]
    pub path: String,
    /// The field's new value.
    pub value: Value,
}

/// The params of `world.trigger_event`: `{"event":P,"value":…}`; the result is `null`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpTriggerEventParams {
    /// The event's type path (a type with `#[reflect(Event)]`).
    pub event: String,
    /// The event; `None` (`null` or left out) is `{}`, which fits an event without
    /// fields.
    #[serde(default)]
    pub value: Option<Value>,
}

mod bulk;
mod inspect;
pub mod packed;
mod watch;

pub use bulk::*;
pub use inspect::*;
pub use packed::{PackedError, from_packed, to_packed};
pub use watch::*;

#[cfg(test)]
mod tests;

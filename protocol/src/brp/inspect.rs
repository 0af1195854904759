//! The read-only methods that describe the game rather than its world:
//! `registry.schema`, `schedule.list`, `schedule.graph` and `rpc.discover`, with
//! `bevy_remote` 0.19's shapes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `registry.schema`: JSON schemas of the reflected types the mod may read. Params
/// [`BrpJsonSchemaQueryFilter`] (or none), result [`BrpRegistrySchemaResponse`].
pub const BRP_REGISTRY_SCHEMA_METHOD: &str = "registry.schema";
/// `schedule.list`: the game's schedules. No params; result [`BrpScheduleListResponse`].
pub const BRP_SCHEDULE_LIST_METHOD: &str = "schedule.list";
/// `schedule.graph`: one schedule's systems, sets and orderings. Params
/// [`BrpScheduleGraphParams`], result [`BrpScheduleGraphResponse`].
pub const BRP_SCHEDULE_GRAPH_METHOD: &str = "schedule.graph";
/// `rpc.discover`: the methods a mod can call. No params; result [`OpenRpcDocument`].
pub const RPC_DISCOVER_METHOD: &str = "rpc.discover";

/// The params of `registry.schema`:
/// `{"with_crates":[…],"without_crates":[…],"type_limit":{"with":[…],"without":[…]}}`,
/// every member optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpJsonSchemaQueryFilter {
    /// Leave out types of these crates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without_crates: Vec<String>,
    /// Only types of these crates (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with_crates: Vec<String>,
    /// Which reflected traits a type must have or not have.
    #[serde(default)]
    pub type_limit: JsonSchemaTypeLimit,
}

/// A filter on the reflected traits (`"Component"`, `"Resource"`, …) of a type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSchemaTypeLimit {
    /// Leave out types with any of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub without: Vec<String>,
    /// Only types with one of these (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with: Vec<String>,
}

/// The result of `registry.schema`: a schema per type path.
pub type BrpRegistrySchemaResponse = BTreeMap<String, JsonSchemaBevyType>;

/// One type's JSON schema, with Bevy's extra members (`bevy_remote`'s
/// `JsonSchemaBevyType`). References to other types are `{"type":{"$ref":"#/$defs/P"}}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonSchemaBevyType {
    /// The type's short path (`Velocity`).
    pub short_path: String,
    /// The type's full path (`my_game::Velocity`).
    pub type_path: String,
    /// Its module path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_path: Option<String>,
    /// Its crate's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crate_name: Option<String>,
    /// The reflected traits registered for it (`"Component"`, `"Resource"`,
    /// `"Default"`, `"Serialize"`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reflect_types: Vec<String>,
    /// Its reflection kind.
    pub kind: SchemaKind,
    /// A map's key type (a `$ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_type: Option<Value>,
    /// A map's value type (a `$ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_type: Option<Value>,
    /// The JSON type of its values.
    #[serde(rename = "type")]
    pub schema_type: SchemaType,
    /// For a struct: `false` (no other members).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_properties: Option<bool>,
    /// A struct's fields (or an enum variant's): name → `$ref`, in the order the type
    /// declares them.
    #[serde(default, skip_serializing_if = "Properties::is_empty")]
    pub properties: Properties,
    /// The fields that are not `Option`s.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required: Vec<String>,
    /// An enum's variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Value>,
    /// A tuple's or tuple struct's fields, in order (`$ref`s).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefix_items: Vec<Value>,
    /// A list's, array's or set's item type (a `$ref`), or `false` for a tuple.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
}

/// A struct's fields in a schema: a JSON object of name → `$ref`, whose members are
/// written and read in the order the type declares its fields (a `serde_json::Map`
/// sorts them). The order is what a mod needs for the [packed form](super::packed),
/// which reads fields by position; `wasmi-mod types` keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties(pub Vec<(String, Value)>);

impl Properties {
    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `$ref` of field `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The fields' names and `$ref`s, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(n, v)| (n, v))
    }
}

impl FromIterator<(String, Value)> for Properties {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(fields: I) -> Self {
        Properties(fields.into_iter().collect())
    }
}

impl Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Properties {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Properties;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of field names and their types")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Properties, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Properties(fields))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// A type's reflection kind (`bevy_remote`'s `SchemaKind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchemaKind {
    /// A struct with named fields.
    #[default]
    Struct,
    /// An enum.
    Enum,
    /// A map.
    Map,
    /// A fixed-size array.
    Array,
    /// A list (`Vec`).
    List,
    /// A tuple.
    Tuple,
    /// A tuple struct.
    TupleStruct,
    /// A set.
    Set,
    /// An opaque value (`f32`, `String`, …).
    Value,
}

/// The JSON type of a type's values (`bevy_remote`'s `SchemaType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SchemaType {
    /// A string.
    String,
    /// A floating-point number.
    Float,
    /// An unsigned integer.
    Uint,
    /// A signed integer.
    Int,
    /// An object.
    Object,
    /// An array.
    Array,
    /// `true` or `false`.
    Boolean,
    /// A set (an array without duplicates).
    Set,
    /// `null`, or unknown.
    #[default]
    Null,
}

/// The result of `schedule.list`: schedule labels in their `Debug` form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrpScheduleListResponse {
    /// The schedules that `schedule.graph` can describe.
    pub schedule_labels: Vec<String>,
    /// The schedules running now (taken out of the world), which it cannot.
    pub unavailable_schedule_labels: Vec<String>,
    /// Labels without a schedule.
    pub empty_schedule_labels: Vec<String>,
}

/// The params of `schedule.graph`: `{"schedule_label":"Update"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpScheduleGraphParams {
    /// A label from [`BrpScheduleListResponse::schedule_labels`].
    pub schedule_label: String,
}

/// The result of `schedule.graph`: `{"schedule_data":{…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrpScheduleGraphResponse {
    /// The schedule.
    pub schedule_data: ScheduleData,
}

/// A schedule's systems and sets and how they are ordered (`bevy_dev_tools`'
/// `ScheduleData`, which `bevy_remote` answers with).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleData {
    /// The schedule's label.
    pub name: String,
    /// Its systems.
    pub systems: Vec<SystemData>,
    /// Its system sets.
    pub system_sets: Vec<SystemSetData>,
    /// (set, member): a system or set is in a set.
    pub hierarchy: Vec<(u32, ScheduleIndex)>,
    /// (first, second): one runs before the other.
    pub dependency: Vec<(ScheduleIndex, ScheduleIndex)>,
    /// The components the systems access (this host leaves it empty).
    pub components: Vec<Value>,
    /// Conflicts between systems (this host leaves it empty).
    pub conflicts: Vec<Value>,
}

/// One system of a [`ScheduleData`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemData {
    /// The system's name.
    pub name: String,
    /// Whether it is a sync point (`ApplyDeferred`).
    pub apply_deferred: bool,
    /// Whether it is exclusive.
    pub exclusive: bool,
    /// Whether it has deferred buffers to apply.
    pub deferred: bool,
}

/// One system set of a [`ScheduleData`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemSetData {
    /// The set's name.
    pub name: String,
    /// Its run conditions' names, as `{"name":…}`.
    pub conditions: Vec<Value>,
}

/// A system or a set, by its index in [`ScheduleData::systems`] or
/// [`ScheduleData::system_sets`]: `{"System":0}` or `{"SystemSet":3}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScheduleIndex {
    /// A system.
    System(u32),
    /// A system set.
    SystemSet(u32),
}

/// The result of `rpc.discover`: an OpenRPC document (`bevy_remote`'s trimmed one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenRpcDocument {
    /// The OpenRPC version, `"1.3.2"`.
    pub openrpc: String,
    /// The title and version of the API.
    pub info: InfoObject,
    /// The methods the mod can call.
    pub methods: Vec<MethodObject>,
    /// Always `null` here (a mod talks over its stdio, not to a server).
    pub servers: Option<Vec<Value>>,
}

/// [`OpenRpcDocument::info`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InfoObject {
    /// The API's title.
    pub title: String,
    /// Its version.
    pub version: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One method of an [`OpenRpcDocument`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MethodObject {
    /// Its name (`world.query`, `game.spawn_enemy`).
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Its params, where known (the params object is one parameter named `params`).
    #[serde(default)]
    pub params: Vec<Parameter>,
    /// Its result, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Parameter>,
}

/// A parameter (or result) of a [`MethodObject`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Its name.
    pub name: String,
    /// Its JSON schema.
    pub schema: Value,
}

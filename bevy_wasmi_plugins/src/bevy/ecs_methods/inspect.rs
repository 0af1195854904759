//! The read-only methods that describe the game: `registry.schema` (JSON schemas made
//! from the type registry by hand: `bevy_remote`'s exporter is not a dependency),
//! `schedule.list`, `schedule.graph` and `rpc.discover` (filled in by the driver's
//! `WorldHost`, which knows the host methods).

use crate::bevy::bevy_prelude::*;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
use bevy_ecs::schedule::Schedules;
use bevy_platform::collections::HashSet;
use bevy_reflect::{TypeInfo, TypeRegistration};
use bevy_wasmi_plugins_protocol::brp::{
    BrpJsonSchemaQueryFilter, BrpRegistrySchemaResponse, BrpScheduleGraphParams,
    BrpScheduleGraphResponse, BrpScheduleListResponse, JsonSchemaBevyType, ScheduleData,
    SchemaKind, SchemaType, SystemData,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, to_raw};
use serde_json::{Value, json};

use super::Ecs;
use super::reflect::error;

impl Ecs<'_> {
    /// A filter list as a set.
    fn set(names: &[String]) -> HashSet<&str> {
        names.iter().map(String::as_str).collect()
    }

    /// `registry.schema`: the types the mod may read (components and resources), and
    /// the types their fields name, which are plain data.
    pub(super) fn registry_schema(&self, p: Option<BrpJsonSchemaQueryFilter>) -> Outcome {
        to_raw(&self.schemas(p))
    }

    /// The schemas `registry.schema` answers with.
    pub(super) fn schemas(&self, p: Option<BrpJsonSchemaQueryFilter>) -> BrpRegistrySchemaResponse {
        let filter = p.unwrap_or_default();
        // Sets, so a long filter costs once, not once per registered type.
        let (with_crates, without_crates) = (
            Self::set(&filter.with_crates),
            Self::set(&filter.without_crates),
        );
        let (with_traits, without_traits) = (
            Self::set(&filter.type_limit.with),
            Self::set(&filter.type_limit.without),
        );
        let registry = self.registry.read();
        let mut schemas = BrpRegistrySchemaResponse::new();
        for registration in registry.iter() {
            // Each type looked at is paid for like an entity visited.
            self.visit();
            let path = registration.type_info().type_path();
            let table = registration.type_info().type_path_table();
            let is_ecs = registration.data::<ReflectComponent>().is_some()
                || registration.data::<ReflectResource>().is_some();
            if is_ecs && !self.permissions.may_read(path) {
                continue;
            }
            if let Some(krate) = table.crate_name() {
                if !with_crates.is_empty() && !with_crates.contains(krate) {
                    continue;
                }
                if without_crates.contains(krate) {
                    continue;
                }
            }
            // The traits filter first: the schema is made only for the types kept.
            let traits = reflect_types(registration);
            let has = |names: &HashSet<&str>| traits.iter().any(|t| names.contains(t.as_str()));
            if !with_traits.is_empty() && !has(&with_traits) {
                continue;
            }
            if has(&without_traits) {
                continue;
            }
            schemas.insert(path.to_owned(), schema_of(registration));
        }
        schemas
    }
}

/// A `$ref` to the type with this path.
fn reference(path: &str) -> Value {
    json!({ "type": { "$ref": format!("#/$defs/{path}") } })
}

/// The reflected traits this host knows how to name.
fn reflect_types(registration: &TypeRegistration) -> Vec<String> {
    let mut names = Vec::new();
    if registration.data::<ReflectComponent>().is_some() {
        names.push("Component".to_owned());
    }
    if registration.data::<ReflectResource>().is_some() {
        names.push("Resource".to_owned());
    }
    if registration
        .data::<bevy_ecs::reflect::ReflectMessage>()
        .is_some()
    {
        names.push("Message".to_owned());
    }
    if registration
        .data::<bevy_ecs::reflect::ReflectEvent>()
        .is_some()
    {
        names.push("Event".to_owned());
    }
    if registration
        .data::<bevy_reflect::std_traits::ReflectDefault>()
        .is_some()
    {
        names.push("Default".to_owned());
    }
    if registration
        .data::<bevy_reflect::ReflectSerialize>()
        .is_some()
    {
        names.push("Serialize".to_owned());
    }
    if registration
        .data::<bevy_reflect::ReflectDeserialize>()
        .is_some()
    {
        names.push("Deserialize".to_owned());
    }
    names
}

/// The JSON type of an opaque value, from its type path.
fn opaque_type(path: &str) -> SchemaType {
    match path {
        "bool" => SchemaType::Boolean,
        "f32" | "f64" => SchemaType::Float,
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => SchemaType::Uint,
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => SchemaType::Int,
        "char" | "alloc::string::String" | "alloc::borrow::Cow<str>" | "&str" => SchemaType::String,
        _ => SchemaType::Object,
    }
}

/// The schema of the type with `id`, if the game registered it for reflection (what
/// `rpc.discover` says of a host method's params and answer).
pub(crate) fn type_schema(
    registry: &bevy_reflect::TypeRegistry,
    id: std::any::TypeId,
) -> Option<Value> {
    serde_json::to_value(schema_of(registry.get(id)?)).ok()
}

/// One type's schema, in `bevy_remote`'s `JsonSchemaBevyType` form.
fn schema_of(registration: &TypeRegistration) -> JsonSchemaBevyType {
    let info = registration.type_info();
    let table = info.type_path_table();
    let mut schema = JsonSchemaBevyType {
        short_path: table.short_path().to_owned(),
        type_path: table.path().to_owned(),
        module_path: table.module_path().map(str::to_owned),
        crate_name: table.crate_name().map(str::to_owned),
        reflect_types: reflect_types(registration),
        ..JsonSchemaBevyType::default()
    };
    match info {
        TypeInfo::Struct(info) => {
            schema.kind = SchemaKind::Struct;
            schema.schema_type = SchemaType::Object;
            schema.additional_properties = Some(false);
            schema.properties = info
                .iter()
                .map(|f| (f.name().to_owned(), reference(f.type_path())))
                .collect();
            schema.required = info
                .iter()
                .filter(|f| !f.type_path().starts_with("core::option::Option"))
                .map(|f| f.name().to_owned())
                .collect();
        }
        TypeInfo::TupleStruct(info) => {
            schema.kind = SchemaKind::TupleStruct;
            schema.schema_type = SchemaType::Array;
            schema.prefix_items = info.iter().map(|f| reference(f.type_path())).collect();
            schema.items = Some(Value::Bool(false));
        }
        TypeInfo::Tuple(info) => {
            schema.kind = SchemaKind::Tuple;
            schema.schema_type = SchemaType::Array;
            schema.prefix_items = info.iter().map(|f| reference(f.type_path())).collect();
            schema.items = Some(Value::Bool(false));
        }
        TypeInfo::Enum(info) => {
            schema.kind = SchemaKind::Enum;
            schema.schema_type = SchemaType::Object;
            schema.one_of = info
                .iter()
                .map(|variant| json!({ "shortPath": variant.name() }))
                .collect();
        }
        TypeInfo::List(info) => {
            schema.kind = SchemaKind::List;
            schema.schema_type = SchemaType::Array;
            schema.items = Some(reference(info.item_ty().path()));
        }
        TypeInfo::Array(info) => {
            schema.kind = SchemaKind::Array;
            schema.schema_type = SchemaType::Array;
            schema.items = Some(reference(info.item_ty().path()));
        }
        TypeInfo::Set(info) => {
            schema.kind = SchemaKind::Set;
            schema.schema_type = SchemaType::Set;
            schema.items = Some(reference(info.value_ty().path()));
        }
        TypeInfo::Map(info) => {
            schema.kind = SchemaKind::Map;
            schema.schema_type = SchemaType::Object;
            schema.key_type = Some(reference(info.key_ty().path()));
            schema.value_type = Some(reference(info.value_ty().path()));
        }
        TypeInfo::Opaque(info) => {
            schema.kind = SchemaKind::Value;
            schema.schema_type = opaque_type(info.type_path());
        }
    }
    schema
}

/// `schedule.list`: the labels of the game's schedules (`Debug` form).
pub(super) fn schedule_list(world: &World) -> Outcome {
    let Some(schedules) = world.get_resource::<Schedules>() else {
        return to_raw(&BrpScheduleListResponse::default());
    };
    let labels = |it: &mut dyn Iterator<Item = String>| {
        let mut v: Vec<String> = it.collect();
        v.sort_unstable();
        v
    };
    to_raw(&BrpScheduleListResponse {
        schedule_labels: labels(&mut schedules.iter().map(|(l, _)| format!("{l:?}"))),
        unavailable_schedule_labels: Vec::new(),
        empty_schedule_labels: Vec::new(),
    })
}

/// `schedule.graph`: a schedule's systems, sets, hierarchy and orderings, as the
/// schedule's graph holds them; a schedule not in the world (unknown, or running now,
/// as the mods' own `Update` is) is BRP's `-23501`.
pub(super) fn schedule_graph(world: &World, p: BrpScheduleGraphParams) -> Outcome {
    let schedule = world.get_resource::<Schedules>().and_then(|schedules| {
        schedules
            .iter()
            .find(|(label, _)| format!("{label:?}") == p.schedule_label)
            .map(|(_, schedule)| schedule)
    });
    let Some(schedule) = schedule else {
        return Err(error(
            ErrorCode::ResourceError,
            format!(
                "Schedule with label={} not found. This may be because this schedule is \
                 currently running",
                p.schedule_label
            ),
        ));
    };
    let graph = schedule.graph();
    let systems = graph
        .systems
        .iter()
        .map(|(_, system, _)| SystemData {
            name: system.name().to_string(),
            apply_deferred: system.name().to_string().ends_with("ApplyDeferred"),
            exclusive: system.is_exclusive(),
            deferred: system.has_deferred(),
        })
        .collect();
    let system_sets = graph
        .system_sets
        .iter()
        .map(
            |(_, set, conditions)| bevy_wasmi_plugins_protocol::brp::SystemSetData {
                name: format!("{set:?}"),
                conditions: conditions
                    .iter()
                    .map(|c| json!({ "name": c.condition.name().to_string() }))
                    .collect(),
            },
        )
        .collect();
    to_raw(&BrpScheduleGraphResponse {
        schedule_data: ScheduleData {
            name: format!("{:?}", schedule.label()),
            systems,
            system_sets,
            ..ScheduleData::default()
        },
    })
}

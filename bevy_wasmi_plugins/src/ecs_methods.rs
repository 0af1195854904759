//! The `world.*` host methods: ECS access for mods with the Bevy Remote Protocol's method
//! names, params, JSON shapes and error codes, through Bevy's reflection, checked
//! against the calling mod's [`ModPermissions`].
//!
//! `bevy_remote` itself is not used: even without default features it depends on
//! `bevy_dev_tools`, which pulls in the renderer, PBR and UI, far too much for a
//! headless server or a lean web build. What is reused is Bevy's reflection
//! (`ReflectComponent`, `ReflectResource`, `ReflectMessage`,
//! `TypedReflectSerializer`/`TypedReflectDeserializer`, `GetPath`) and `QueryBuilder`,
//! which is what `bevy_remote`'s handlers are built on too.
//!
//! Entities are their `u64` bits (`Entity::to_bits`), as in BRP. Mods' own entities
//! and Bevy's resource entities are not the game's: `world.query` never lists them, and
//! the methods that change entities refuse them.

use bevy::ecs::component::ComponentId;
use bevy::ecs::query::QueryBuilder;
use bevy::ecs::reflect::{AppTypeRegistry, ReflectComponent, ReflectMessage, ReflectResource};
use bevy::ecs::resource::IsResource;
use bevy::ecs::world::FilteredEntityRef;
use bevy::prelude::*;
use bevy::reflect::serde::{TypedReflectDeserializer, TypedReflectSerializer};
use bevy::reflect::{PartialReflect, ReflectFromReflect, TypeRegistration, TypeRegistry};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::mods::WasmMod;
use crate::permissions::{ModPermissions, denied};

/// The `world.*` methods mods can call (with permission).
pub const ECS_METHODS: [&str; 11] = [
    "world.query",
    "world.get_components",
    "world.spawn_entity",
    "world.insert_components",
    "world.remove_components",
    "world.despawn_entity",
    "world.get_resources",
    "world.insert_resources",
    "world.mutate_components",
    "world.write_message",
    "world.list_components",
];

/// Serves `method` if it is one of the `world.*` methods.
pub(crate) fn serve(
    world: &mut World,
    permissions: &ModPermissions,
    mod_name: &str,
    method: &str,
    params: Option<&RawValue>,
) -> Option<Outcome> {
    let ecs = Ecs {
        permissions,
        mod_name,
        method,
    };
    Some(match method {
        "world.query" => ecs.parse(params).and_then(|p| ecs.query(world, p)),
        "world.get_components" => ecs.parse(params).and_then(|p| ecs.get_components(world, p)),
        "world.spawn_entity" => ecs.parse(params).and_then(|p| ecs.spawn_entity(world, p)),
        "world.insert_components" => ecs.parse(params).and_then(|p| ecs.insert(world, p)),
        "world.remove_components" => ecs.parse(params).and_then(|p| ecs.remove(world, p)),
        "world.despawn_entity" => ecs.parse(params).and_then(|p| ecs.despawn(world, p)),
        "world.get_resources" => ecs.parse(params).and_then(|p| ecs.get_resource(world, p)),
        "world.insert_resources" => ecs
            .parse(params)
            .and_then(|p| ecs.insert_resource(world, p)),
        "world.mutate_components" => ecs.parse(params).and_then(|p| ecs.mutate(world, p)),
        "world.write_message" => ecs.parse(params).and_then(|p| ecs.write_message(world, p)),
        "world.list_components" => ecs
            .parse::<Option<EntityParams>>(params)
            .and_then(|p| ecs.list_components(world, p)),
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryParams {
    #[serde(default)]
    data: QueryData,
    #[serde(default)]
    filter: QueryFilter,
    #[serde(default)]
    strict: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct QueryData {
    #[serde(default)]
    components: Vec<String>,
    #[serde(default)]
    option: Selector,
    #[serde(default)]
    has: Vec<String>,
}

/// BRP's `option`: a list of type paths, or `"all"`.
#[derive(Deserialize, Default)]
#[serde(untagged)]
enum Selector {
    #[default]
    #[serde(skip)]
    None,
    All(AllKeyword),
    Paths(Vec<String>),
}

#[derive(Deserialize)]
enum AllKeyword {
    #[serde(rename = "all")]
    All,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct QueryFilter {
    #[serde(default)]
    with: Vec<String>,
    #[serde(default)]
    without: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GetComponentsParams {
    entity: u64,
    components: Vec<String>,
    #[serde(default)]
    strict: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpawnParams {
    components: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertParams {
    entity: u64,
    components: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoveParams {
    entity: u64,
    components: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityParams {
    entity: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceParams {
    resource: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InsertResourceParams {
    resource: String,
    value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MutateParams {
    entity: u64,
    component: String,
    #[serde(default)]
    path: String,
    value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageParams {
    message: String,
    #[serde(default)]
    value: Option<Value>,
}

fn error(code: ErrorCode, message: impl Into<String>) -> ResponseError {
    ResponseError::new(code, message)
}

fn unknown_component(path: &str) -> ResponseError {
    error(
        ErrorCode::ComponentError,
        format!("Unknown component type: `{path}` (not registered for reflection)"),
    )
}

/// A type's registration and its `ReflectComponent`, or the BRP component error.
fn reflect_component<'r>(
    registry: &'r TypeRegistry,
    path: &str,
) -> Result<(&'r TypeRegistration, &'r ReflectComponent), ResponseError> {
    let registration = registry
        .get_with_type_path(path)
        .ok_or_else(|| unknown_component(path))?;
    let reflect = registration.data::<ReflectComponent>().ok_or_else(|| {
        error(
            ErrorCode::ComponentError,
            format!("`{path}` is not a reflectable component (add `#[reflect(Component)]`)"),
        )
    })?;
    Ok((registration, reflect))
}

/// Resources are components of their own entity; the component methods must not make
/// or remove them (only `world.insert_resources` does, through the world).
fn not_a_resource(registration: &TypeRegistration, path: &str) -> Result<(), ResponseError> {
    if registration.data::<ReflectResource>().is_some() {
        return Err(error(
            ErrorCode::ComponentError,
            format!("`{path}` is a resource: use world.get_resources / world.insert_resources"),
        ));
    }
    Ok(())
}

fn entity_from_bits(bits: u64) -> Result<Entity, ResponseError> {
    Entity::try_from_bits(bits).ok_or_else(|| {
        error(
            ErrorCode::EntityNotFound,
            format!("Entity {bits} not found"),
        )
    })
}

/// The serialized value of a reflected component or resource.
fn serialize(
    value: &dyn PartialReflect,
    registry: &TypeRegistry,
    path: &str,
) -> Result<Value, ResponseError> {
    serde_json::to_value(TypedReflectSerializer::new(value, registry)).map_err(|e| {
        error(
            ErrorCode::ComponentError,
            format!("`{path}` did not serialize: {e}"),
        )
    })
}

/// A value of the registered type, from JSON.
fn deserialize(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    value: &Value,
    code: ErrorCode,
) -> Result<Box<dyn PartialReflect>, ResponseError> {
    TypedReflectDeserializer::new(registration, registry)
        .deserialize(value)
        .map_err(|e| {
            error(
                code,
                format!("`{}` is invalid: {e}", registration.type_info().type_path()),
            )
        })
}

/// A concrete value of the registered type, from JSON, for Bevy's reflected inserts.
///
/// Bevy's `insert_reflect`, `insert_reflect_resource` and `ReflectMessage` panic when
/// they cannot turn the value into the type (no `FromReflect`, `Default` or
/// `FromWorld`), so the value is made concrete here first, and a value that cannot be is
/// an error for the mod instead of a panic in the game.
fn deserialize_concrete(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    value: &Value,
    code: ErrorCode,
) -> Result<Box<dyn PartialReflect>, ResponseError> {
    let dynamic = deserialize(registration, registry, value, code)?;
    let path = registration.type_info().type_path();
    let from_reflect = registration.data::<ReflectFromReflect>().ok_or_else(|| {
        error(
            code,
            format!("`{path}` cannot be built through reflection (it needs `FromReflect`)"),
        )
    })?;
    from_reflect
        .from_reflect(dynamic.as_ref())
        .map(|value| value.into_partial_reflect())
        .ok_or_else(|| error(code, format!("`{path}` could not be built from {value}")))
}

struct Ecs<'a> {
    permissions: &'a ModPermissions,
    mod_name: &'a str,
    method: &'a str,
}

impl Ecs<'_> {
    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        params: Option<&RawValue>,
    ) -> Result<T, ResponseError> {
        serde_json::from_str(params.map_or("null", RawValue::get))
            .map_err(|e| ResponseError::invalid_params(self.method, e))
    }

    fn check_read(&self, path: &str) -> Result<(), ResponseError> {
        if self.permissions.may_read(path) {
            Ok(())
        } else {
            Err(denied(
                self.mod_name,
                format_args!("read `{path}` ({})", self.method),
            ))
        }
    }

    fn check_write(&self, path: &str) -> Result<(), ResponseError> {
        if self.permissions.may_write(path) {
            Ok(())
        } else {
            Err(denied(
                self.mod_name,
                format_args!("write `{path}` ({})", self.method),
            ))
        }
    }

    /// The entity, if it exists; mods' own entities cannot be changed by mods.
    fn entity(&self, world: &World, bits: u64, changes: bool) -> Result<Entity, ResponseError> {
        let entity = entity_from_bits(bits)?;
        let entity_ref = world.get_entity(entity).map_err(|_| {
            error(
                ErrorCode::EntityNotFound,
                format!("Entity {entity} not found"),
            )
        })?;
        if changes && entity_ref.contains::<WasmMod>() {
            return Err(denied(
                self.mod_name,
                format_args!("change entity {entity}: it is a mod ({})", self.method),
            ));
        }
        if changes && entity_ref.contains::<IsResource>() {
            return Err(denied(
                self.mod_name,
                format_args!(
                    "change entity {entity}: it holds a resource; use world.insert_resources ({})",
                    self.method
                ),
            ));
        }
        Ok(entity)
    }

    fn query(&self, world: &mut World, p: QueryParams) -> Outcome {
        let QueryParams {
            data,
            filter,
            strict,
        } = p;
        let option_paths: &[String] = match &data.option {
            Selector::Paths(paths) => paths,
            _ => &[],
        };
        for path in data
            .components
            .iter()
            .chain(option_paths)
            .chain(&data.has)
            .chain(&filter.with)
            .chain(&filter.without)
        {
            self.check_read(path)?;
        }
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        // Unknown types: an error when strict; otherwise a required one matches nothing,
        // an optional or excluded one is ignored, and a `has` one is absent.
        let resolve = |world: &World,
                       path: &String|
         -> Result<Option<(ComponentId, &ReflectComponent)>, ResponseError> {
            match reflect_component(&registry, path) {
                Ok((registration, reflect)) => Ok(world
                    .components()
                    .get_id(registration.type_id())
                    .map(|id| (id, reflect))),
                Err(e) if strict => Err(e),
                Err(_) => Ok(None),
            }
        };
        let mut required = Vec::new();
        for path in &data.components {
            match resolve(world, path)? {
                Some((id, reflect)) => required.push((path.as_str(), id, reflect)),
                None => return to_raw(&[(); 0]),
            }
        }
        let mut with = Vec::new();
        for path in &filter.with {
            match resolve(world, path)? {
                Some((id, _)) => with.push(id),
                None => return to_raw(&[(); 0]),
            }
        }
        let mut optional = Vec::new();
        for path in option_paths {
            if let Some((id, reflect)) = resolve(world, path)? {
                optional.push((path.as_str(), id, reflect));
            }
        }
        let mut without = Vec::new();
        for path in &filter.without {
            if let Some((id, _)) = resolve(world, path)? {
                without.push(id);
            }
        }
        let mut has = Vec::new();
        for path in &data.has {
            has.push((path.as_str(), resolve(world, path)?.map(|(id, _)| id)));
        }

        let mut builder = QueryBuilder::<FilteredEntityRef>::new(world);
        for (_, id, _) in &required {
            builder.ref_id(*id);
        }
        for (_, id, _) in &optional {
            builder.optional(|b| {
                b.ref_id(*id);
            });
        }
        for id in &with {
            builder.with_id(*id);
        }
        for id in &without {
            builder.without_id(*id);
        }
        // Mods and Bevy's resource entities are not the game's entities: a query without
        // any type (`{}`) would otherwise list them all.
        builder.without::<WasmMod>().without::<IsResource>();
        let mut query = builder.build();
        let all = matches!(data.option, Selector::All(_));
        let mut rows = Vec::new();
        for row in query.iter(world) {
            let entity = row.id();
            let mut components = Map::new();
            for (path, _, reflect) in required.iter().chain(&optional) {
                if let Some(value) = reflect.reflect(row) {
                    components.insert(
                        (*path).to_owned(),
                        serialize(value.as_partial_reflect(), &registry, path)?,
                    );
                }
            }
            if all {
                self.all_readable(world, entity, &registry, &mut components)?;
            }
            let mut row_json = Map::new();
            row_json.insert("entity".into(), entity.to_bits().into());
            row_json.insert("components".into(), Value::Object(components));
            if !has.is_empty() {
                let entity_ref = world.entity(entity);
                let has_map: Map<String, Value> = has
                    .iter()
                    .map(|(path, id)| {
                        let present = id.is_some_and(|id| entity_ref.contains_id(id));
                        ((*path).to_owned(), Value::Bool(present))
                    })
                    .collect();
                row_json.insert("has".into(), Value::Object(has_map));
            }
            rows.push(Value::Object(row_json));
        }
        to_raw(&rows)
    }

    /// Adds every reflectable component of `entity` the mod may read.
    fn all_readable(
        &self,
        world: &World,
        entity: Entity,
        registry: &TypeRegistry,
        into: &mut Map<String, Value>,
    ) -> Result<(), ResponseError> {
        let entity_ref = world.entity(entity);
        for id in entity_ref.archetype().components() {
            let Some(type_id) = world.components().get_info(*id).and_then(|i| i.type_id()) else {
                continue;
            };
            let Some(registration) = registry.get(type_id) else {
                continue;
            };
            let path = registration.type_info().type_path();
            if into.contains_key(path) || !self.permissions.may_read(path) {
                continue;
            }
            let Some(reflect) = registration.data::<ReflectComponent>() else {
                continue;
            };
            if let Some(value) = reflect.reflect(entity_ref) {
                into.insert(
                    path.to_owned(),
                    serialize(value.as_partial_reflect(), registry, path)?,
                );
            }
        }
        Ok(())
    }

    fn get_components(&self, world: &mut World, p: GetComponentsParams) -> Outcome {
        for path in &p.components {
            self.check_read(path)?;
        }
        let entity = self.entity(world, p.entity, false)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let entity_ref = world.entity(entity);
        let mut components = Map::new();
        let mut errors = Map::new();
        for path in &p.components {
            let found = reflect_component(&registry, path).and_then(|(_, reflect)| {
                let value = reflect.reflect(entity_ref).ok_or_else(|| {
                    error(
                        ErrorCode::ComponentNotPresent,
                        format!("Component `{path}` not present in entity {entity}"),
                    )
                })?;
                serialize(value.as_partial_reflect(), &registry, path)
            });
            match found {
                Ok(value) => {
                    components.insert(path.clone(), value);
                }
                Err(e) if p.strict => return Err(e),
                Err(e) => {
                    errors.insert(
                        path.clone(),
                        serde_json::to_value(&e).unwrap_or(Value::Null),
                    );
                }
            }
        }
        if p.strict {
            to_raw(&components)
        } else {
            to_raw(&serde_json::json!({ "components": components, "errors": errors }))
        }
    }

    /// Deserializes components to insert, checking write permission for each.
    fn components_to_insert(
        &self,
        registry: &TypeRegistry,
        components: &Map<String, Value>,
    ) -> Result<Vec<Box<dyn PartialReflect>>, ResponseError> {
        for path in components.keys() {
            self.check_write(path)?;
        }
        components
            .iter()
            .map(|(path, value)| {
                let (registration, _) = reflect_component(registry, path)?;
                not_a_resource(registration, path)?;
                deserialize_concrete(registration, registry, value, ErrorCode::ComponentError)
            })
            .collect()
    }

    fn spawn_entity(&self, world: &mut World, p: SpawnParams) -> Outcome {
        let registry = world.resource::<AppTypeRegistry>().clone();
        let values = self.components_to_insert(&registry.read(), &p.components)?;
        let mut entity = world.spawn_empty();
        for value in values {
            entity.insert_reflect(value);
        }
        to_raw(&serde_json::json!({ "entity": entity.id().to_bits() }))
    }

    fn insert(&self, world: &mut World, p: InsertParams) -> Outcome {
        let registry = world.resource::<AppTypeRegistry>().clone();
        let values = self.components_to_insert(&registry.read(), &p.components)?;
        let entity = self.entity(world, p.entity, true)?;
        let mut entity = world.entity_mut(entity);
        for value in values {
            entity.insert_reflect(value);
        }
        to_raw(&())
    }

    fn remove(&self, world: &mut World, p: RemoveParams) -> Outcome {
        for path in &p.components {
            self.check_write(path)?;
        }
        let entity = self.entity(world, p.entity, true)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let reflects = p
            .components
            .iter()
            .map(|path| {
                let (registration, reflect) = reflect_component(&registry, path)?;
                not_a_resource(registration, path)?;
                Ok(reflect)
            })
            .collect::<Result<Vec<_>, ResponseError>>()?;
        let mut entity = world.entity_mut(entity);
        for reflect in reflects {
            reflect.remove(&mut entity);
        }
        to_raw(&())
    }

    fn despawn(&self, world: &mut World, p: EntityParams) -> Outcome {
        if !self.permissions.despawn {
            return Err(denied(
                self.mod_name,
                "despawn entities (world.despawn_entity)",
            ));
        }
        let entity = self.entity(world, p.entity, true)?;
        world.despawn(entity);
        to_raw(&())
    }

    /// A resource type's registration and the id its values are stored under.
    fn resource<'r>(
        &self,
        world: &World,
        registry: &'r TypeRegistry,
        path: &str,
    ) -> Result<(&'r TypeRegistration, Option<ComponentId>), ResponseError> {
        let registration = registry.get_with_type_path(path).ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Unknown resource type: `{path}` (not registered for reflection)"),
            )
        })?;
        if registration.data::<ReflectResource>().is_none() {
            return Err(error(
                ErrorCode::ResourceError,
                format!("`{path}` is not a reflectable resource (add `#[reflect(Resource)]`)"),
            ));
        }
        Ok((
            registration,
            world.components().get_id(registration.type_id()),
        ))
    }

    fn get_resource(&self, world: &mut World, p: ResourceParams) -> Outcome {
        self.check_read(&p.resource)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        let not_present = || {
            error(
                ErrorCode::ResourceNotPresent,
                format!("Resource `{}` not present in the world", p.resource),
            )
        };
        let entity = id
            .and_then(|id| world.resource_entities().get(id))
            .ok_or_else(not_present)?;
        let reflect = registration
            .data::<ReflectComponent>()
            .ok_or_else(not_present)?;
        let value = reflect
            .reflect(world.entity(entity))
            .ok_or_else(not_present)?;
        let value = serialize(value.as_partial_reflect(), &registry, &p.resource)?;
        to_raw(&serde_json::json!({ "value": value }))
    }

    fn insert_resource(&self, world: &mut World, p: InsertResourceParams) -> Outcome {
        self.check_write(&p.resource)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        if registration.data::<ReflectComponent>().is_none() {
            return Err(error(
                ErrorCode::ResourceError,
                format!("`{}` cannot be inserted through reflection", p.resource),
            ));
        }
        let value =
            deserialize_concrete(registration, &registry, &p.value, ErrorCode::ResourceError)?;
        let id = id.ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Resource `{}` is not registered in the world", p.resource),
            )
        })?;
        world.insert_reflect_resource(id, value);
        to_raw(&())
    }

    fn mutate(&self, world: &mut World, p: MutateParams) -> Outcome {
        self.check_write(&p.component)?;
        let entity = self.entity(world, p.entity, true)?;
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let (_, reflect) = reflect_component(&registry, &p.component)?;
        let mut component = reflect
            .reflect_mut(world.entity_mut(entity))
            .ok_or_else(|| {
                error(
                    ErrorCode::ComponentNotPresent,
                    format!("Component `{}` not present in entity {entity}", p.component),
                )
            })?;
        let path_error = |e: &dyn std::fmt::Display| {
            error(
                ErrorCode::ComponentError,
                format!("`{}` has no field at path `{}`: {e}", p.component, p.path),
            )
        };
        let field = component
            .reflect_path_mut(p.path.as_str())
            .map_err(|e| path_error(&e))?;
        let field_type = field
            .get_represented_type_info()
            .map(|info| info.type_path())
            .and_then(|path| registry.get_with_type_path(path))
            .ok_or_else(|| {
                error(
                    ErrorCode::ComponentError,
                    format!(
                        "the field at `{}` of `{}` has a type that is not registered",
                        p.path, p.component
                    ),
                )
            })?;
        let value = deserialize(field_type, &registry, &p.value, ErrorCode::ComponentError)?;
        field.try_apply(value.as_ref()).map_err(|e| {
            error(
                ErrorCode::ComponentError,
                format!("could not set `{}` of `{}`: {e}", p.path, p.component),
            )
        })?;
        to_raw(&())
    }

    fn write_message(&self, world: &mut World, p: MessageParams) -> Outcome {
        if !self.permissions.may_write_message(&p.message) {
            return Err(denied(
                self.mod_name,
                format_args!("write message `{}` ({})", p.message, self.method),
            ));
        }
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let registration = registry.get_with_type_path(&p.message).ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Unknown message type: `{}`", p.message),
            )
        })?;
        let reflect = registration.data::<ReflectMessage>().ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!(
                    "Message `{}` is not reflectable (add `#[reflect(Message)]`)",
                    p.message
                ),
            )
        })?;
        // No value: an empty object, which fits messages without fields.
        let empty = Value::Object(Map::new());
        let value = deserialize_concrete(
            registration,
            &registry,
            p.value.as_ref().unwrap_or(&empty),
            ErrorCode::ResourceError,
        )?;
        reflect.write_message(world, value.as_ref(), &registry);
        to_raw(&())
    }

    fn list_components(&self, world: &mut World, p: Option<EntityParams>) -> Outcome {
        let registry = world.resource::<AppTypeRegistry>().clone();
        let registry = registry.read();
        let readable = |path: &str| self.permissions.may_read(path);
        let mut paths: Vec<&str> = match p {
            None => registry
                .iter()
                .filter(|r| r.data::<ReflectComponent>().is_some())
                .map(|r| r.type_info().type_path())
                .filter(|path| readable(path))
                .collect(),
            Some(p) => {
                let entity = self.entity(world, p.entity, false)?;
                world
                    .entity(entity)
                    .archetype()
                    .components()
                    .iter()
                    .filter_map(|id| world.components().get_info(*id)?.type_id())
                    .filter_map(|type_id| registry.get(type_id))
                    .filter(|r| r.data::<ReflectComponent>().is_some())
                    .map(|r| r.type_info().type_path())
                    .filter(|path| readable(path))
                    .collect()
            }
        };
        paths.sort_unstable();
        to_raw(&paths)
    }
}

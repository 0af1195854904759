//! The `world.*` methods on entities and their components: get, spawn, insert,
//! remove, mutate, despawn, and list.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::reflect::ReflectComponent;
use bevy_reflect::{PartialReflect, TypeRegistry};
use bevy_wasmi_plugins_protocol::brp::{
    BrpDespawnEntityParams, BrpGetComponentsParams, BrpGetComponentsResponse,
    BrpInsertComponentsParams, BrpListComponentsParams, BrpMutateComponentsParams,
    BrpRemoveComponentsParams, BrpSpawnEntityParams, BrpSpawnEntityResponse,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::{Map, Value};

use super::Ecs;
use super::reflect::{
    deserialize, deserialize_concrete, error, not_a_resource, reflect_component, serialize,
};
use crate::bevy::permissions::denied;

impl Ecs<'_> {
    pub(super) fn get_components(&self, world: &mut World, p: BrpGetComponentsParams) -> Outcome {
        for path in &p.components {
            self.check_read(path)?;
        }
        let entity = self.entity(world, p.entity, false)?;
        let registry = self.registry.read();
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
        to_raw(&if p.strict {
            BrpGetComponentsResponse::Strict(components)
        } else {
            BrpGetComponentsResponse::Lenient { components, errors }
        })
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

    pub(super) fn spawn_entity(&self, world: &mut World, p: BrpSpawnEntityParams) -> Outcome {
        let quota = self.permissions.spawn;
        let alive = world
            .get_resource::<super::SpawnCounts>()
            .and_then(|counts| counts.0.get(&self.mod_entity).copied())
            .unwrap_or(0);
        if alive >= quota {
            return Err(denied(
                self.mod_name,
                format_args!(
                    "spawn more than {quota} entities (world.spawn_entity; it has {alive} alive)"
                ),
            ));
        }
        let values = self.components_to_insert(&self.registry.read(), &p.components)?;
        world.init_resource::<super::SpawnCounts>();
        let mut entity = world.spawn(super::ModSpawned(self.mod_entity));
        for value in values {
            entity.insert_reflect(value);
        }
        to_raw(&BrpSpawnEntityResponse {
            entity: entity.id().to_bits(),
        })
    }

    pub(super) fn insert(&self, world: &mut World, p: BrpInsertComponentsParams) -> Outcome {
        let values = self.components_to_insert(&self.registry.read(), &p.components)?;
        let entity = self.entity(world, p.entity, true)?;
        let mut entity = world.entity_mut(entity);
        for value in values {
            entity.insert_reflect(value);
        }
        to_raw(&())
    }

    pub(super) fn remove(&self, world: &mut World, p: BrpRemoveComponentsParams) -> Outcome {
        for path in &p.components {
            self.check_write(path)?;
        }
        let entity = self.entity(world, p.entity, true)?;
        let registry = self.registry.read();
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

    pub(super) fn despawn(&self, world: &mut World, p: BrpDespawnEntityParams) -> Outcome {
        if !self.permissions.despawn {
            return Err(denied(
                self.mod_name,
                "despawn entities (world.despawn_entity)",
            ));
        }
        let entity = self.entity(world, p.entity, true)?;
        // Only what the mod spawned, with nothing under it that it did not spawn (a
        // despawn takes the entity's descendants with it).
        let mut stack = vec![entity];
        while let Some(next) = stack.pop() {
            let entity_ref = world.entity(next);
            if entity_ref.get::<super::ModSpawned>() != Some(&super::ModSpawned(self.mod_entity)) {
                let what = if next == entity {
                    format!("despawn entity {entity}: it did not spawn it")
                } else {
                    format!("despawn entity {entity}: it did not spawn its descendant {next}")
                };
                return Err(denied(
                    self.mod_name,
                    format_args!("{what} (world.despawn_entity)"),
                ));
            }
            if let Some(children) = entity_ref.get::<Children>() {
                stack.extend(children.iter());
            }
        }
        world.despawn(entity);
        to_raw(&())
    }
    pub(super) fn mutate(&self, world: &mut World, p: BrpMutateComponentsParams) -> Outcome {
        self.check_write(&p.component)?;
        let entity = self.entity(world, p.entity, true)?;
        let registry = self.registry.read();
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
    pub(super) fn list_components(
        &self,
        world: &mut World,
        p: Option<BrpListComponentsParams>,
    ) -> Outcome {
        let registry = self.registry.read();
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

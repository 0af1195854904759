//! The `world.*` methods on entities and their components: get, spawn, insert,
//! remove, mutate, despawn, and list.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::reflect::ReflectComponent;
use bevy_reflect::{PartialReflect, TypePath, TypeRegistry};
use bevy_wasmi_plugins_protocol::brp::{
    BrpDespawnEntityParams, BrpGetComponentsParams, BrpGetComponentsResponse,
    BrpInsertComponentsParams, BrpListComponentsParams, BrpMutateComponentsParams,
    BrpRemoveComponentsParams, BrpReparentEntitiesParams, BrpSpawnEntityParams,
    BrpSpawnEntityResponse,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::{Map, Value};

use super::Ecs;
use super::reflect::{
    Json, component_to_change, deserialize_concrete, error, not_a_relationship, not_a_resource,
    not_present, parse_path, reflect_component, serialize, set_at_path,
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
    /// Deserializes components to insert, checking write permission for each;
    /// resources and relationships are refused.
    fn components_to_insert(
        &self,
        world: &mut World,
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
                not_a_relationship(world, registration, path)?;
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
        let values = self.components_to_insert(world, &self.registry.read(), &p.components)?;
        world.init_resource::<super::SpawnCounts>();
        let mut entity = world.spawn(super::ModSpawned(self.mod_entity));
        let id = entity.id();
        insert_all(&mut entity, values)?;
        to_raw(&BrpSpawnEntityResponse {
            entity: id.to_bits(),
        })
    }

    pub(super) fn insert(&self, world: &mut World, p: BrpInsertComponentsParams) -> Outcome {
        let values = self.components_to_insert(world, &self.registry.read(), &p.components)?;
        let entity = self.entity(world, p.entity, true)?;
        let mut entity = world.entity_mut(entity);
        insert_all(&mut entity, values)?;
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
                not_a_relationship(world, registration, path)?;
                Ok(reflect)
            })
            .collect::<Result<Vec<_>, ResponseError>>()?;
        let mut entity = world.entity_mut(entity);
        for reflect in reflects {
            // Each removal runs the game's hooks and observers, which may despawn it.
            if entity.is_despawned() {
                return Err(error(
                    ErrorCode::EntityNotFound,
                    "the entity was despawned by the game while its components were removed",
                ));
            }
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
        // A hierarchy is a tree, but nothing here relies on it: each entity is looked
        // at once.
        let mut seen = bevy_platform::collections::HashSet::new();
        while let Some(next) = stack.pop() {
            if !seen.insert(next) {
                continue;
            }
            self.visit();
            let Ok(entity_ref) = world.get_entity(next) else {
                return Err(error(
                    ErrorCode::EntityNotFound,
                    format!("Entity {next}, a child of entity {entity}, not found"),
                ));
            };
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
        let path = parse_path(&p.component, &p.path, ErrorCode::ComponentError)?;
        let entity = self.entity(world, p.entity, true)?;
        let registry = self.registry.read();
        let (reflect, id) = component_to_change(world, &registry, &p.component)?;
        if id.is_none() {
            return Err(not_present(&p.component, entity));
        }
        let mut component = reflect
            .reflect_mut(world.entity_mut(entity))
            .ok_or_else(|| not_present(&p.component, entity))?;
        set_at_path(
            &mut *component,
            &registry,
            &p.component,
            (&p.path, &path),
            Json::Tree(&p.value),
            ErrorCode::ComponentError,
        )?;
        to_raw(&())
    }
    /// `world.reparent_entities`: needs write access to `ChildOf`; mods' and resources'
    /// entities are refused, and so is a parent that is one of the entities or one of
    /// their descendants (`-23404`), as a cycle would hang whatever walks the hierarchy.
    pub(super) fn reparent(&self, world: &mut World, p: BrpReparentEntitiesParams) -> Outcome {
        self.check_write(ChildOf::type_path())?;
        let mut children = Vec::with_capacity(p.entities.len());
        for bits in &p.entities {
            children.push(self.entity(world, *bits, true)?);
        }
        let Some(parent) = p.parent else {
            for child in children {
                // Each change runs the game's hooks and observers, which may despawn
                // entities the call names.
                alive(world, child)?.remove::<ChildOf>();
            }
            return to_raw(&());
        };
        let parent = self.entity(world, parent, true)?;
        // The parent and its ancestors must not be among the new children.
        let mut next = Some(parent);
        let mut seen = bevy_platform::collections::HashSet::new();
        while let Some(ancestor) = next {
            if !seen.insert(ancestor) {
                // A cycle the game made: no new child can be placed under it safely.
                return Err(error(
                    ErrorCode::SelfReparent,
                    format!("Cannot reparent under entity {parent}: its ancestors form a cycle"),
                ));
            }
            if children.contains(&ancestor) {
                let what = if ancestor == parent {
                    format!("Cannot make entity {parent} its own parent")
                } else {
                    format!(
                        "Cannot make entity {ancestor} an ancestor of itself: {parent} is its \
                         descendant"
                    )
                };
                return Err(error(ErrorCode::SelfReparent, what));
            }
            self.visit();
            next = world.get::<ChildOf>(ancestor).map(ChildOf::parent);
        }
        for child in children {
            alive(world, child)?;
            alive(world, parent)?.add_child(child);
        }
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

/// `entity`, unless the game's hooks or observers despawned it during this call
/// (`-23401`, not a panic).
fn alive(
    world: &mut World,
    entity: Entity,
) -> Result<bevy_ecs::world::EntityWorldMut<'_>, ResponseError> {
    world.get_entity_mut(entity).map_err(|_| {
        error(
            ErrorCode::EntityNotFound,
            format!("entity {entity} was despawned by the game during this call"),
        )
    })
}

/// Inserts `values` one by one: each insert runs the game's hooks and observers, which
/// may despawn the entity; the rest is then an error, not a panic.
fn insert_all(
    entity: &mut bevy_ecs::world::EntityWorldMut<'_>,
    values: Vec<Box<dyn PartialReflect>>,
) -> Result<(), ResponseError> {
    for value in values {
        if entity.is_despawned() {
            return Err(error(
                ErrorCode::EntityNotFound,
                "the entity was despawned by the game while its components were inserted",
            ));
        }
        entity.insert_reflect(value);
    }
    Ok(())
}

//! `world.query`: entities by the component types they have, with the values of the
//! ones the mod may read; mods and resource entities are never listed.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::component::ComponentId;
use bevy_ecs::query::QueryBuilder;
use bevy_ecs::reflect::ReflectComponent;
use bevy_ecs::resource::IsResource;
use bevy_ecs::world::FilteredEntityRef;
use bevy_reflect::TypeRegistry;
use bevy_wasmi_plugins_protocol::brp::{BrpQueryParams, BrpQueryRow, ComponentSelector};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::Ecs;
use super::reflect::{reflect_component, serialize};
use crate::bevy::mods::WasmMod;

impl Ecs<'_> {
    pub(super) fn query(&self, world: &mut World, p: BrpQueryParams) -> Outcome {
        let BrpQueryParams {
            data,
            filter,
            strict,
        } = p;
        let option_paths: &[String] = match &data.option {
            ComponentSelector::Paths(paths) => paths,
            ComponentSelector::All => &[],
        };
        // A mod sees only entities its grants cover: the query must require a component
        // type (which it must then be allowed to read).
        if data.components.is_empty() && filter.with.is_empty() {
            return Err(super::denied(
                self.mod_name,
                "query entities without requiring a component type it may read (world.query)",
            ));
        }
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
        let registry = self.registry.read();
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
        let all = data.option == ComponentSelector::All;
        // The answer is written row by row and given up once it is longer than the mod
        // takes: no more entities are visited for an answer that cannot be sent.
        let mut answer = vec![b'['];
        let mut rows = 0usize;
        for row in query.iter(world) {
            self.visit();
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
            let entity_ref = world.entity(entity);
            let has = has
                .iter()
                .map(|(path, id)| {
                    let present = id.is_some_and(|id| entity_ref.contains_id(id));
                    ((*path).to_owned(), Value::Bool(present))
                })
                .collect();
            if rows > 0 {
                answer.push(b',');
            }
            rows += 1;
            let row = BrpQueryRow {
                entity: entity.to_bits(),
                components,
                has,
            };
            serde_json::to_writer(&mut answer, &row)
                .map_err(|e| ResponseError::internal(format!("a row did not serialize: {e}")))?;
            if answer.len() >= self.max_answer {
                return Err(ResponseError::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "the answer to world.query is longer than the message cap of mod \
                         `{}` ({} bytes); it was given up after {rows} entities: require \
                         more component types, filter, or ask for fewer components",
                        self.mod_name, self.max_answer
                    ),
                ));
            }
        }
        answer.push(b']');
        let answer = String::from_utf8(answer)
            .map_err(|e| ResponseError::internal(format!("an answer is not UTF-8: {e}")))?;
        RawValue::from_string(answer)
            .map_err(|e| ResponseError::internal(format!("an answer is not JSON: {e}")))
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
}

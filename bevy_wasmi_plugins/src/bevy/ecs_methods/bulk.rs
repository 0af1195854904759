//! The `bulk.*` methods, this project's extension of BRP for many entities in one call
//! (shapes: [`bevy_wasmi_plugins_protocol::brp::bulk`]): one type path and one set of
//! checks per call, then one reflection step per entity.

use std::io::Write as _;

use crate::bevy::bevy_prelude::*;
use bevy_ecs::query::{QueryBuilder, QueryState};
use bevy_ecs::resource::IsResource;
use bevy_ecs::world::FilteredEntityRef;
use bevy_wasmi_plugins_protocol::brp::{
    BulkInsertComponentsParams, BulkMutateComponentsParams, BulkQueryParams,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::value::RawValue;

use super::Ecs;
use super::reflect::{
    Json, Reflected, component_to_change, deserialize_concrete, error, not_a_relationship,
    not_a_resource, not_present, parse_path, reflect_component, set_at_path,
};
use crate::bevy::mods::WasmMod;

/// The most entities a `bulk.*` write's answer lists as failed; the others that failed
/// are left out (the answer must stay under the mod's message cap).
pub const MAX_BULK_ERRORS: usize = 256;

impl Ecs<'_> {
    /// `bulk.mutate_components`: each entity as `world.mutate_components` would do it;
    /// the ones that fail are listed, the others applied.
    ///
    /// The values stay JSON text until each is read into its field (no JSON tree per
    /// entity); packed values are read by `packed.rs`.
    pub(super) fn bulk_mutate(
        &self,
        world: &mut World,
        p: BulkMutateComponentsParams<Box<RawValue>>,
    ) -> Outcome {
        if self.attachment.is_some() && p.attached.is_none() {
            return Err(error(
                ErrorCode::InvalidParams,
                "bulk.mutate_components came with an attachment and without `attached` to \
                 say its length; it was not run",
            ));
        }
        self.check_write(&p.component)?;
        // The path is parsed once for all entities, and a bad one fails the call.
        let path = parse_path(&p.component, &p.path, ErrorCode::ComponentError)?;
        let registry = self.registry.read();
        let (reflect, id) = component_to_change(world, &registry, &p.component)?;
        if p.packed.is_some() || p.attached.is_some() {
            let errors = self.bulk_mutate_packed(world, &registry, (reflect, id), (&p, &path))?;
            return answer(errors);
        }
        let mut errors = Vec::new();
        for (bits, value) in &p.entities {
            let done = self.entity(world, *bits, true).and_then(|entity| {
                // A type no entity ever had (no component id yet) is on none of them.
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
                    Json::Text(value),
                    ErrorCode::ComponentError,
                )
            });
            if let Err(e) = done
                && errors.len() < MAX_BULK_ERRORS
            {
                errors.push((*bits, e));
            }
        }
        answer(errors)
    }

    /// `bulk.insert_components`: each entity as `world.insert_components` would do it
    /// with this one component.
    pub(super) fn bulk_insert(&self, world: &mut World, p: BulkInsertComponentsParams) -> Outcome {
        self.check_write(&p.component)?;
        let mut errors = Vec::new();
        // Every value is built first, under one read of the registry, which is let go
        // before the inserts (Bevy's `insert_reflect` reads it again).
        let mut values = Vec::with_capacity(p.entities.len());
        {
            let registry = self.registry.read();
            let (registration, _) = reflect_component(&registry, &p.component)?;
            not_a_resource(registration, &p.component)?;
            not_a_relationship(world, registration, &p.component)?;
            for (bits, value) in &p.entities {
                let built = self.entity(world, *bits, true).and_then(|entity| {
                    let value = deserialize_concrete(
                        registration,
                        &registry,
                        value,
                        ErrorCode::ComponentError,
                    )?;
                    Ok((entity, value))
                });
                match built {
                    Ok(value) => values.push(value),
                    Err(e) if errors.len() < MAX_BULK_ERRORS => errors.push((*bits, e)),
                    Err(_) => {}
                }
            }
        }
        for (entity, value) in values {
            // An earlier insert's hooks or observers may have despawned it.
            match world.get_entity_mut(entity) {
                Ok(mut entity) => {
                    entity.insert_reflect(value);
                }
                Err(_) if errors.len() < MAX_BULK_ERRORS => errors.push((
                    entity.to_bits(),
                    error(
                        ErrorCode::EntityNotFound,
                        format!("Entity {entity} not found"),
                    ),
                )),
                Err(_) => {}
            }
        }
        answer(errors)
    }

    /// `bulk.query`: like `world.query` with required components and filters, each row
    /// `[E,[value,…]]`, written straight from reflection.
    pub(super) fn bulk_query(&self, world: &mut World, p: BulkQueryParams) -> Outcome {
        if p.attach && !(p.packed && self.may_attach) {
            return Err(error(
                ErrorCode::InvalidParams,
                if p.packed {
                    "bulk.query with `attach` must be a request alone on its line (the \
                     answers to a batch have no attachments)"
                } else {
                    "bulk.query's `attach` goes with `packed`"
                },
            ));
        }
        if p.components.is_empty() {
            return Err(super::denied(
                self.mod_name,
                "query entities without requiring a component type it may read (bulk.query)",
            ));
        }
        for path in p
            .components
            .iter()
            .chain(&p.filter.with)
            .chain(&p.filter.without)
        {
            self.check_read(path)?;
        }
        let registry = self.registry.read();
        let mut required = Vec::with_capacity(p.components.len());
        for path in &p.components {
            let (registration, reflect) = reflect_component(&registry, path)?;
            let Some(id) = world.components().get_id(registration.type_id()) else {
                return self.no_rows(&p);
            };
            required.push((id, reflect));
        }
        let mut builder = QueryBuilder::<FilteredEntityRef>::new(world);
        for (id, _) in &required {
            builder.ref_id(*id);
        }
        for (path, with) in p
            .filter
            .with
            .iter()
            .map(|p| (p, true))
            .chain(p.filter.without.iter().map(|p| (p, false)))
        {
            let (registration, _) = reflect_component(&registry, path)?;
            match (
                builder.world().components().get_id(registration.type_id()),
                with,
            ) {
                (Some(id), true) => {
                    builder.with_id(id);
                }
                (Some(id), false) => {
                    builder.without_id(id);
                }
                (None, true) => return self.no_rows(&p),
                (None, false) => {}
            }
        }
        builder.without::<WasmMod>().without::<IsResource>();
        let mut query = builder.build();
        if p.packed {
            return self.packed_rows(world, &mut query, &required, &registry, &p);
        }
        let mut answer = Vec::with_capacity(4096);
        answer.push(b'[');
        let mut rows = 0usize;
        for row in self.page(&mut query, world, &p) {
            if rows > 0 {
                answer.push(b',');
            }
            rows += 1;
            write!(answer, "[{},[", row.id().to_bits())
                .map_err(|e| ResponseError::internal(e.to_string()))?;
            for (i, (_, reflect)) in required.iter().enumerate() {
                if i > 0 {
                    answer.push(b',');
                }
                let value = reflect
                    .reflect(row)
                    .ok_or_else(|| ResponseError::internal("a queried component is missing"))?;
                serde_json::to_writer(
                    &mut answer,
                    &Reflected {
                        value: value.as_partial_reflect(),
                        registry: &registry,
                    },
                )
                .map_err(|e| {
                    error(
                        ErrorCode::ComponentError,
                        format!("`{}` did not serialize: {e}", p.components[i]),
                    )
                })?;
            }
            answer.extend_from_slice(b"]]");
            if answer.len() >= self.max_answer {
                return Err(ResponseError::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "the answer to bulk.query is longer than the message cap of mod `{}` \
                         ({} bytes); it was given up after {rows} entities: filter, or ask for \
                         fewer components",
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
}

impl Ecs<'_> {
    /// The rows of `bulk.query`'s page: `p.skip` rows left out, then at most `p.limit`,
    /// each row scanned (skipped ones too) counted as visited.
    pub(super) fn page<'w, 's>(
        &self,
        query: &'s mut QueryState<FilteredEntityRef<'static, 'static>>,
        world: &'w World,
        p: &BulkQueryParams,
    ) -> impl Iterator<Item = FilteredEntityRef<'w, 's>> {
        let (skip, limit) = (p.skip, p.limit.unwrap_or(usize::MAX));
        query
            .iter(world)
            .take(skip.saturating_add(limit))
            .enumerate()
            .filter_map(move |(i, row)| {
                self.visit();
                (i >= skip).then_some(row)
            })
    }
}

/// `null` when every entity was done, else the failed ones with their errors.
fn answer(errors: Vec<(u64, ResponseError)>) -> Outcome {
    if errors.is_empty() {
        return to_raw(&());
    }
    to_raw(&errors)
}

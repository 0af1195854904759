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
//!
//! One file per kind of thing: `query.rs` (`world.query`), `components.rs` (entities
//! and their components), `resources.rs` (resources and messages); `reflect.rs` holds
//! the reflection helpers they share. The BRP's request and response shapes are the
//! protocol crate's ([`bevy_wasmi_plugins_protocol::brp`]), which mods use too.

mod bulk;
mod components;
mod inspect;
mod packed;
pub(crate) use inspect::type_schema;
mod query;
mod reflect;
mod resources;
mod watch;

pub use bulk::MAX_BULK_ERRORS;

use std::any::TypeId;
use std::cell::Cell;

use crate::bevy::bevy_prelude::*;
use bevy_ecs::component::ComponentId;
use bevy_ecs::reflect::AppTypeRegistry;
use bevy_ecs::resource::IsResource;
use bevy_wasmi_plugins_protocol::brp::{
    BRP_DESPAWN_ENTITY_METHOD, BRP_GET_COMPONENTS_METHOD, BRP_GET_RESOURCES_METHOD,
    BRP_INSERT_COMPONENTS_METHOD, BRP_INSERT_RESOURCES_METHOD, BRP_LIST_COMPONENTS_METHOD,
    BRP_LIST_RESOURCES_METHOD, BRP_MUTATE_COMPONENTS_METHOD, BRP_MUTATE_RESOURCES_METHOD,
    BRP_QUERY_METHOD, BRP_REMOVE_COMPONENTS_METHOD, BRP_REMOVE_RESOURCES_METHOD,
    BRP_REPARENT_ENTITIES_METHOD, BRP_SPAWN_ENTITY_METHOD, BRP_TRIGGER_EVENT_METHOD,
    BRP_WRITE_MESSAGE_METHOD, BULK_INSERT_COMPONENTS_METHOD, BULK_MUTATE_COMPONENTS_METHOD,
    BULK_QUERY_METHOD, BrpListComponentsParams,
};
use bevy_wasmi_plugins_protocol::brp::{
    BRP_GET_COMPONENTS_AND_WATCH_METHOD, BRP_LIST_COMPONENTS_AND_WATCH_METHOD, BRP_OBSERVE_METHOD,
    WATCH_CANCEL_METHOD,
};
use bevy_wasmi_plugins_protocol::brp::{
    BRP_REGISTRY_SCHEMA_METHOD, BRP_SCHEDULE_GRAPH_METHOD, BRP_SCHEDULE_LIST_METHOD,
    RPC_DISCOVER_METHOD,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::bevy::mods::WasmMod;
use crate::bevy::permissions::{ModPermissions, denied};
use reflect::{entity_from_bits, error};

/// The `world.*` methods mods can call (with permission), this project's `bulk.*` and
/// `watch.cancel`, and the read-only inspection methods.
pub const ECS_METHODS: [&str; 26] = [
    BRP_QUERY_METHOD,
    BRP_GET_COMPONENTS_METHOD,
    BRP_SPAWN_ENTITY_METHOD,
    BRP_INSERT_COMPONENTS_METHOD,
    BRP_REMOVE_COMPONENTS_METHOD,
    BRP_DESPAWN_ENTITY_METHOD,
    BRP_GET_RESOURCES_METHOD,
    BRP_INSERT_RESOURCES_METHOD,
    BRP_MUTATE_COMPONENTS_METHOD,
    BRP_WRITE_MESSAGE_METHOD,
    BRP_LIST_COMPONENTS_METHOD,
    BRP_REPARENT_ENTITIES_METHOD,
    BRP_LIST_RESOURCES_METHOD,
    BRP_REMOVE_RESOURCES_METHOD,
    BRP_MUTATE_RESOURCES_METHOD,
    BRP_TRIGGER_EVENT_METHOD,
    BULK_MUTATE_COMPONENTS_METHOD,
    BULK_INSERT_COMPONENTS_METHOD,
    BULK_QUERY_METHOD,
    BRP_GET_COMPONENTS_AND_WATCH_METHOD,
    BRP_LIST_COMPONENTS_AND_WATCH_METHOD,
    BRP_OBSERVE_METHOD,
    WATCH_CANCEL_METHOD,
    BRP_REGISTRY_SCHEMA_METHOD,
    BRP_SCHEDULE_LIST_METHOD,
    BRP_SCHEDULE_GRAPH_METHOD,
];

/// The methods outside `world.*` and `bulk.*` that this module serves too (read-only,
/// or about the mod's own watches). `rpc.discover` is answered by the driver, which
/// knows the host methods.
pub(crate) const INSPECTION: [&str; 5] = [
    BRP_REGISTRY_SCHEMA_METHOD,
    BRP_SCHEDULE_LIST_METHOD,
    BRP_SCHEDULE_GRAPH_METHOD,
    RPC_DISCOVER_METHOD,
    WATCH_CANCEL_METHOD,
];

/// Whether this module serves `method` (a `world.*` or `bulk.*` name, or one of
/// [`INSPECTION`]): the driver sends such calls here, and no host method may take the
/// name.
pub(crate) fn serves(method: &str) -> bool {
    method.starts_with("world.") || method.starts_with("bulk.") || INSPECTION.contains(&method)
}

/// Marks an entity a mod spawned with `world.spawn_entity`: `0` is the mod's entity.
/// Only such entities count against the mod's spawn quota and may be despawned by it.
/// Not reflected, so no mod can add or change it.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
#[component(immutable, on_add = count_spawned, on_remove = uncount_spawned)]
pub struct ModSpawned(pub Entity);

/// Live entities each mod spawned, kept by [`ModSpawned`]'s hooks.
#[derive(Resource, Default, Debug)]
pub(crate) struct SpawnCounts(bevy_platform::collections::HashMap<Entity, u32>);

fn count_spawned(mut world: bevy_ecs::world::DeferredWorld, ctx: bevy_ecs::lifecycle::HookContext) {
    let Some(&ModSpawned(by)) = world.get::<ModSpawned>(ctx.entity) else {
        return;
    };
    if let Some(mut counts) = world.get_resource_mut::<SpawnCounts>() {
        *counts.0.entry(by).or_default() += 1;
    }
}

fn uncount_spawned(
    mut world: bevy_ecs::world::DeferredWorld,
    ctx: bevy_ecs::lifecycle::HookContext,
) {
    let Some(&ModSpawned(by)) = world.get::<ModSpawned>(ctx.entity) else {
        return;
    };
    if let Some(mut counts) = world.get_resource_mut::<SpawnCounts>()
        && let Some(count) = counts.0.get_mut(&by)
    {
        *count = count.saturating_sub(1);
        if *count == 0 {
            counts.0.remove(&by);
        }
    }
}

/// What serving a `world.*` call may cost and did cost: the longest answer the mod
/// takes (its message cap; an answer that would be longer stops being computed), and
/// the entities the call visited, which the mod pays fuel for; and the request's
/// [attachment](bevy_wasmi_plugins_protocol::attach) and the answer's.
#[derive(Debug)]
pub(crate) struct Work<'a> {
    pub(crate) max_answer: usize,
    pub(crate) entities: u64,
    /// The bytes that came with the request, if any.
    pub(crate) attachment: Option<&'a [u8]>,
    /// Where bytes to send with the answer go; `None` when the request may not have
    /// them (it is in a batch).
    pub(crate) answer: Option<&'a mut Option<Vec<u8>>>,
}

/// What every `world.*` call of one mod in one run slice shares, looked up once per
/// slice (not per call): who asks, what it may do, and the type registry.
pub(crate) struct Caller<'a> {
    pub(crate) permissions: &'a ModPermissions,
    pub(crate) mod_entity: Entity,
    pub(crate) mod_name: &'a str,
    pub(crate) registry: AppTypeRegistry,
}

impl<'a> Caller<'a> {
    /// The caller for a mod's run slice.
    pub(crate) fn new(
        world: &World,
        permissions: &'a ModPermissions,
        mod_entity: Entity,
        mod_name: &'a str,
    ) -> Self {
        Caller {
            permissions,
            mod_entity,
            mod_name,
            // A cheap handle on the registry (an `Arc`).
            registry: world
                .get_resource::<AppTypeRegistry>()
                .cloned()
                .unwrap_or_default(),
        }
    }
}

/// Serves `method` if it is one of the `world.*` or `bulk.*` methods, for `caller`.
pub(crate) fn serve(
    world: &mut World,
    caller: &Caller<'_>,
    method: &str,
    params: Option<&RawValue>,
    work: &mut Work<'_>,
) -> Option<Outcome> {
    let ecs = Ecs {
        permissions: caller.permissions,
        mod_entity: caller.mod_entity,
        mod_name: caller.mod_name,
        method,
        max_answer: work.max_answer,
        entities: Cell::new(0),
        registry: &caller.registry,
        attachment: work.attachment,
        may_attach: work.answer.is_some(),
        answer: Cell::new(None),
        guarded: Cell::new(None),
    };
    let outcome = match method {
        BRP_QUERY_METHOD => ecs.parse(params).and_then(|p| ecs.query(world, p)),
        BRP_GET_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.get_components(world, p)),
        BRP_SPAWN_ENTITY_METHOD => ecs.parse(params).and_then(|p| ecs.spawn_entity(world, p)),
        BRP_INSERT_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.insert(world, p)),
        BRP_REMOVE_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.remove(world, p)),
        BRP_DESPAWN_ENTITY_METHOD => ecs.parse(params).and_then(|p| ecs.despawn(world, p)),
        BRP_GET_RESOURCES_METHOD => ecs.parse(params).and_then(|p| ecs.get_resource(world, p)),
        BRP_INSERT_RESOURCES_METHOD => ecs
            .parse(params)
            .and_then(|p| ecs.insert_resource(world, p)),
        BRP_MUTATE_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.mutate(world, p)),
        BRP_WRITE_MESSAGE_METHOD => ecs.parse(params).and_then(|p| ecs.write_message(world, p)),
        BRP_LIST_COMPONENTS_METHOD => ecs
            .parse::<Option<BrpListComponentsParams>>(params)
            .and_then(|p| ecs.list_components(world, p)),
        BRP_REPARENT_ENTITIES_METHOD => ecs.parse(params).and_then(|p| ecs.reparent(world, p)),
        BRP_LIST_RESOURCES_METHOD => ecs
            .parse::<Option<Value>>(params)
            .and_then(|_| ecs.list_resources()),
        BRP_REMOVE_RESOURCES_METHOD => ecs
            .parse(params)
            .and_then(|p| ecs.remove_resource(world, p)),
        BRP_MUTATE_RESOURCES_METHOD => ecs
            .parse(params)
            .and_then(|p| ecs.mutate_resource(world, p)),
        BRP_TRIGGER_EVENT_METHOD => ecs.parse(params).and_then(|p| ecs.trigger_event(world, p)),
        BULK_MUTATE_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.bulk_mutate(world, p)),
        BULK_INSERT_COMPONENTS_METHOD => ecs.parse(params).and_then(|p| ecs.bulk_insert(world, p)),
        BULK_QUERY_METHOD => ecs.parse(params).and_then(|p| ecs.bulk_query(world, p)),
        BRP_GET_COMPONENTS_AND_WATCH_METHOD => ecs
            .parse(params)
            .and_then(|p| ecs.watch_components(world, p)),
        BRP_LIST_COMPONENTS_AND_WATCH_METHOD => {
            ecs.parse(params).and_then(|p| ecs.watch_list(world, p))
        }
        BRP_OBSERVE_METHOD => ecs.parse(params).and_then(|p| ecs.watch_event(world, p)),
        WATCH_CANCEL_METHOD => ecs.parse(params).and_then(|p| ecs.cancel_watch(world, p)),
        BRP_REGISTRY_SCHEMA_METHOD => ecs.parse(params).and_then(|p| ecs.registry_schema(p)),
        BRP_SCHEDULE_LIST_METHOD => ecs
            .parse::<Option<Value>>(params)
            .and_then(|_| inspect::schedule_list(world)),
        BRP_SCHEDULE_GRAPH_METHOD => ecs
            .parse(params)
            .and_then(|p| inspect::schedule_graph(world, p)),
        _ => return None,
    };
    work.entities = work.entities.saturating_add(ecs.entities.get());
    if let Some(answer) = work.answer.as_deref_mut() {
        *answer = ecs.answer.take();
    }
    Some(outcome)
}

/// The answer a mod with `permissions` gets to `registry.schema` with `filter`: the
/// component and resource types it may read and the plain types, as JSON schemas
/// (`{type path: schema}`). A game can write it to a file for its mod authors, who turn
/// it into Rust types with `wasmi-mod types FILE` (as the `modding` example's
/// `--schema FILE` does).
///
/// ```
/// use bevy::prelude::*;
/// use bevy_wasmi_plugins::bevy::ecs_methods::registry_schema;
/// use bevy_wasmi_plugins::prelude::*;
/// use bevy_wasmi_plugins::protocol::brp::BrpJsonSchemaQueryFilter;
///
/// #[derive(Component, Reflect)]
/// #[reflect(Component)]
/// #[type_path = "my_game"]
/// struct Hp(u32);
///
/// let mut app = App::new();
/// app.register_type::<Hp>();
/// let filter = BrpJsonSchemaQueryFilter {
///     with_crates: vec!["my_game".into()],
///     ..Default::default()
/// };
/// let schema = registry_schema(app.world(), &ModPermissions::trusted(), Some(filter));
/// assert_eq!(schema["my_game::Hp"].reflect_types, ["Component"]);
/// // A mod that may not read it does not see it.
/// assert!(registry_schema(app.world(), &ModPermissions::none(), None)
///     .get("my_game::Hp")
///     .is_none());
/// ```
#[must_use]
pub fn registry_schema(
    world: &World,
    permissions: &ModPermissions,
    filter: Option<bevy_wasmi_plugins_protocol::brp::BrpJsonSchemaQueryFilter>,
) -> bevy_wasmi_plugins_protocol::brp::BrpRegistrySchemaResponse {
    let registry = world
        .get_resource::<AppTypeRegistry>()
        .cloned()
        .unwrap_or_default();
    let ecs = Ecs {
        permissions,
        mod_entity: Entity::PLACEHOLDER,
        mod_name: "",
        method: BRP_REGISTRY_SCHEMA_METHOD,
        max_answer: usize::MAX,
        entities: Cell::new(0),
        registry: &registry,
        attachment: None,
        may_attach: false,
        answer: Cell::new(None),
        guarded: Cell::new(None),
    };
    ecs.schemas(filter)
}

/// One `world.*` request: who asks, what they may do, and the type registry.
struct Ecs<'a> {
    permissions: &'a ModPermissions,
    mod_entity: Entity,
    mod_name: &'a str,
    method: &'a str,
    registry: &'a AppTypeRegistry,
    /// The longest answer the mod takes, in bytes.
    max_answer: usize,
    /// Entities visited so far.
    entities: Cell<u64>,
    /// The request's attachment, if it came with one.
    attachment: Option<&'a [u8]>,
    /// Whether the answer may come with an attachment.
    may_attach: bool,
    /// Bytes to send with a successful answer (`bulk.query`'s `attach`).
    answer: Cell<Option<Vec<u8>>>,
    /// The ids of the components that mark entities a mod may not change (`None`: not
    /// registered), with the number of component types registered when they were
    /// looked up: looked up again only when that changed, not per entity.
    guarded: Cell<Option<(usize, [Option<ComponentId>; 4])>>,
}

impl Ecs<'_> {
    /// Counts one entity visited, for the fuel the mod pays.
    fn visit(&self) {
        self.entities.set(self.entities.get().saturating_add(1));
    }

    fn parse<T: for<'de> Deserialize<'de>>(
        &self,
        params: Option<&RawValue>,
    ) -> Result<T, ResponseError> {
        serde_json::from_str(params.map_or("null", RawValue::get))
            .map_err(|e| ResponseError::invalid_params(self.method, e))
    }

    fn check_read(&self, path: &str) -> Result<(), ResponseError> {
        self.check(self.permissions.may_read(path), "read", path)
    }

    fn check_write(&self, path: &str) -> Result<(), ResponseError> {
        self.check(self.permissions.may_write(path), "write", path)
    }

    /// `Ok` if `allowed`, else the `-32006` error for `what`ing the type at `path`.
    fn check(&self, allowed: bool, what: &str, path: &str) -> Result<(), ResponseError> {
        if allowed {
            return Ok(());
        }
        Err(denied(
            self.mod_name,
            format_args!("{what} `{path}` ({})", self.method),
        ))
    }

    /// The entity, if it exists; mods' own entities cannot be changed by mods.
    fn entity(&self, world: &World, bits: u64, changes: bool) -> Result<Entity, ResponseError> {
        self.visit();
        let entity = entity_from_bits(bits)?;
        let entity_ref = world.get_entity(entity).map_err(|_| {
            error(
                ErrorCode::EntityNotFound,
                format!("Entity {entity} not found"),
            )
        })?;
        if !changes {
            return Ok(entity);
        }
        let components = world.components();
        let ids = match self.guarded.get() {
            Some((registered, ids)) if registered == components.len() => ids,
            _ => {
                let ids = [
                    TypeId::of::<WasmMod>(),
                    TypeId::of::<bevy_ecs::system::SystemIdMarker>(),
                    TypeId::of::<bevy_ecs::observer::Observer>(),
                    TypeId::of::<IsResource>(),
                ]
                .map(|type_id| components.get_id(type_id));
                self.guarded.set(Some((components.len(), ids)));
                ids
            }
        };
        let [is_mod, is_system, is_observer, is_resource] =
            ids.map(|id| id.is_some_and(|id| entity_ref.contains_id(id)));
        if is_mod {
            return Err(denied(
                self.mod_name,
                format_args!("change entity {entity}: it is a mod ({})", self.method),
            ));
        }
        // Registered systems (host methods among them) and observers (the game's, and
        // the ones behind mods' watches) are the game's machinery: a mod that could
        // change them, or hang them under an entity that is later despawned, would
        // break host methods or other mods' watches.
        if is_system || is_observer {
            return Err(denied(
                self.mod_name,
                format_args!(
                    "change entity {entity}: it is a system or an observer of the game's ({})",
                    self.method
                ),
            ));
        }
        if is_resource {
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
}

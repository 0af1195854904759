//! The game's world, typed: queries, components, resources, messages and events through
//! the host's `world.*` methods (the Bevy Remote Protocol's), with the types a game
//! declares as [`Component`], [`Resource`], [`Message`] and [`Trigger`].
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Velocity { x: f32, y: f32 }
//! #[derive(Serialize, Deserialize)]
//! struct Critter {}
//! bevy_wasmi_plugins_pdk::type_paths! {
//!     Component for Velocity = "game::Velocity";
//!     Component for Critter = "game::Critter";
//! }
//!
//! async fn stop_all() -> Result<(), Error> {
//!     let mut writes = world::Commands::new();
//!     for (entity, velocity) in world::query::<(Entity, Velocity), With<Critter>>().await? {
//!         if velocity.x != 0.0 || velocity.y != 0.0 {
//!             writes.mutate(entity, &Velocity { x: 0.0, y: 0.0 })?;
//!         }
//!     }
//!     writes.flush().await?; // one message for all the writes
//!     Ok(())
//! }
//! ```
//!
//! Every call is strict: a type the game does not know is an error, as is a value that
//! does not fit its Rust type (`-32603`, naming the type and the field).

use std::cell::Cell;
use std::marker::PhantomData;

use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use super::bundle::Entries;
use super::query::{BulkRows, QueryData, QueryFilter, Rows};
use super::{Bundle, Component, Entity, Message, Resource, Trigger, misfit};
use crate::protocol::ErrorCode;
use crate::protocol::brp::packed::left_over;
use crate::protocol::brp::{
    BRP_DESPAWN_ENTITY_METHOD, BRP_GET_COMPONENTS_METHOD, BRP_GET_RESOURCES_METHOD,
    BRP_INSERT_COMPONENTS_METHOD, BRP_INSERT_RESOURCES_METHOD, BRP_LIST_COMPONENTS_METHOD,
    BRP_MUTATE_COMPONENTS_METHOD, BRP_MUTATE_RESOURCES_METHOD, BRP_QUERY_METHOD,
    BRP_REMOVE_COMPONENTS_METHOD, BRP_REMOVE_RESOURCES_METHOD, BRP_REPARENT_ENTITIES_METHOD,
    BRP_SPAWN_ENTITY_METHOD, BRP_TRIGGER_EVENT_METHOD, BRP_WRITE_MESSAGE_METHOD, BULK_QUERY_METHOD,
    BrpDespawnEntityParams, BrpGetComponentsParams, BrpListComponentsParams,
    BrpListComponentsResponse, BrpQueryParams, BrpRemoveComponentsParams, BrpRemoveResourcesParams,
    BrpReparentEntitiesParams, BrpSpawnEntityResponse, BulkQueryParams,
};
use crate::protocol::brp::{
    BRP_GET_COMPONENTS_AND_WATCH_METHOD, BRP_LIST_COMPONENTS_AND_WATCH_METHOD, BRP_OBSERVE_METHOD,
    BrpObserveParams, BrpWatchResponse,
};
use crate::{Error, Json, host};

pub use super::commands::Commands;
pub use super::watch::{Changed, Observed, Watch, WatchChange, WatchChanged};

/// Every entity that matches filter `F`, with the data `D` fetches, through
/// `world.query`.
///
/// `D` is a [`QueryData`]: a component (its value), `Option<T>`, [`Has<T>`](super::Has),
/// [`Entity`], or a tuple of them; `F` is a [`QueryFilter`]: `()`,
/// [`With<T>`](super::With), [`Without<T>`](super::Without) or a tuple of them.
///
/// ```no_run
/// # use bevy_wasmi_plugins_pdk::prelude::*;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Position { x: f32 }
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Frozen;
/// # bevy_wasmi_plugins_pdk::type_paths! {
/// #     Component for Position = "game::Position";
/// #     Component for Frozen = "game::Frozen";
/// # }
/// # async fn demo() -> Result<(), Error> {
/// let moving: Vec<(Entity, Position, bool)> =
///     world::query::<(Entity, Position, Has<Frozen>), ()>().await?;
/// let thawed: Vec<Position> = world::query::<Position, Without<Frozen>>().await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The host's error (e.g. `-32006` when the mod may not read a type), or `-32603` when
/// the answer does not fit `D`.
pub async fn query<D: QueryData, F: QueryFilter>() -> Result<Vec<D::Item>, Error> {
    if !NO_BULK_QUERY.get() {
        let mut params = BulkQueryParams::default();
        if D::columns(&mut params.components) {
            F::describe(&mut params.filter);
            return match host::call::<Bulk<D>>(BULK_QUERY_METHOD, &params).await {
                Err(error) if error.error_code() == Some(ErrorCode::MethodNotFound) => {
                    NO_BULK_QUERY.set(true);
                    brp_query::<D, F>().await
                }
                answer => answer.map(|rows| rows.0),
            };
        }
    }
    brp_query::<D, F>().await
}

/// [`query`] answered in the [packed form](crate::protocol::brp::packed): the same
/// rows, sent by the game in postcard's binary format as the answer's
/// [attachment](crate::protocol::attach), which the mod reads many times faster than
/// JSON: for a mod that reads thousands of entities a frame.
///
/// postcard writes no field names: each component is read field by field in the order
/// the game's type declares its fields, so each component type in `D` must declare the
/// same fields, of the same types, in the same order (a `Vec3` may be `[f32; 3]`, a
/// `Quat` `[f32; 4]`). `D` may hold components and [`Entity`]; with `Option<T>` or
/// [`Has<T>`](super::Has), or from a host without `bulk.query`, this is [`query`].
/// Many rows come in pages of 8192 (each a call; the pages are read in the world's
/// iteration order, so a page may miss or repeat an entity spawned or despawned
/// between them).
///
/// ```no_run
/// # use bevy_wasmi_plugins_pdk::prelude::*;
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Transform { translation: [f32; 3], rotation: [f32; 4], scale: [f32; 3] }
/// # bevy_wasmi_plugins_pdk::type_paths! {
/// #     Component for Transform = "bevy_transform::components::transform::Transform";
/// # }
/// # async fn demo() -> Result<(), Error> {
/// let placed: Vec<(Entity, Transform)> = world::query_packed::<(Entity, Transform), ()>().await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// As [`query`]; `-32603` also when a component's bytes do not fit its Rust type.
pub async fn query_packed<D: QueryData, F: QueryFilter>() -> Result<Vec<D::Item>, Error> {
    let mut params = BulkQueryParams {
        packed: true,
        attach: true,
        ..BulkQueryParams::default()
    };
    if NO_BULK_QUERY.get() || !D::columns(&mut params.components) {
        return query::<D, F>().await;
    }
    F::describe(&mut params.filter);
    // Pages of rows, so that many entities stay under the message cap.
    params.limit = Some(PACKED_PAGE);
    let mut items = Vec::new();
    loop {
        let answer = host::call::<u64>(BULK_QUERY_METHOD, &params)
            .with_attachment()
            .await;
        match answer.and_then(|(len, bytes)| packed_rows::<D>(len, bytes)) {
            Err(error) if error.error_code() == Some(ErrorCode::MethodNotFound) => {
                NO_BULK_QUERY.set(true);
                return brp_query::<D, F>().await;
            }
            Err(error) => return Err(error),
            Ok(page) => {
                let last = page.len() < PACKED_PAGE;
                items.extend(page);
                if last {
                    return Ok(items);
                }
                params.skip = items.len();
            }
        }
    }
}

/// Rows in one packed `bulk.query` call of [`query_packed`]: 8192 rows of a
/// `Transform` and a small component are about 0.45 MB, under the 1 MiB a message may
/// have by default.
const PACKED_PAGE: usize = 8192;

/// A packed `bulk.query` answer, `len` bytes of postcard in the answer's attachment,
/// read as `D`'s items.
fn packed_rows<D: QueryData>(len: u64, bytes: Option<Vec<u8>>) -> Result<Vec<D::Item>, Error> {
    use serde::de::DeserializeSeed;
    let unreadable = |why: &dyn std::fmt::Display| {
        Error::internal(format_args!(
            "the host's packed rows did not have the expected types: {why}"
        ))
    };
    let Some(bytes) = bytes.filter(|bytes| bytes.len() as u64 == len) else {
        return Err(Error::internal(format_args!(
            "the host's packed answer did not come with its attachment of {len} bytes"
        )));
    };
    let mut columns = Vec::new();
    D::columns(&mut columns);
    let seed = BulkRows::<D> {
        columns: &columns,
        packed: true,
        items: PhantomData,
    };
    let mut reader = postcard::Deserializer::from_bytes(&bytes);
    let rows = seed.deserialize(&mut reader).map_err(|e| unreadable(&e))?;
    let rest = reader.finalize().map_err(|e| unreadable(&e))?;
    if !rest.is_empty() {
        return Err(unreadable(&left_over(rest.len())));
    }
    // The buffer goes back to be reused for the next answer.
    crate::runtime::state::recycle(bytes);
    Ok(rows)
}

/// A `bulk.query` answer read as `D`'s items (the columns are `D`'s).
struct Bulk<D: QueryData>(Vec<D::Item>);

impl<'de, D: QueryData> serde::Deserialize<'de> for Bulk<D> {
    fn deserialize<De: serde::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        let mut columns = Vec::new();
        D::columns(&mut columns);
        let seed = BulkRows::<D> {
            columns: &columns,
            packed: false,
            items: PhantomData,
        };
        serde::de::DeserializeSeed::deserialize(seed, deserializer).map(Bulk)
    }
}

thread_local! {
    /// Whether the host answered `bulk.query` with "method not found".
    static NO_BULK_QUERY: Cell<bool> = const { Cell::new(false) };
}

/// Forgets that the host had no `bulk.query` (a new run on this thread).
pub(crate) fn reset_bulk_query() {
    NO_BULK_QUERY.set(false);
}

/// [`query`] with BRP's `world.query`.
async fn brp_query<D: QueryData, F: QueryFilter>() -> Result<Vec<D::Item>, Error> {
    let mut params = BrpQueryParams {
        strict: true,
        ..BrpQueryParams::default()
    };
    D::describe(&mut params.data);
    F::describe(&mut params.filter);
    let rows: Rows<D> = host::call(BRP_QUERY_METHOD, &params).await?;
    Ok(rows.0)
}

/// Component `T` of `entity`, through `world.get_components`.
///
/// # Errors
///
/// The host's error (`-23401` for a missing entity, `-23402`/`-23403` for a component
/// it cannot read or the entity lacks), or `-32603` when the value does not fit `T`.
pub async fn get<T: Component>(entity: Entity) -> Result<T, Error> {
    let params = BrpGetComponentsParams {
        entity: entity.0,
        components: vec![T::TYPE_PATH.into()],
        strict: true,
    };
    let answer: Json = host::call_raw(BRP_GET_COMPONENTS_METHOD, &params).await?;
    let mut values: Vec<(&str, &serde_json::value::RawValue)> = Vec::new();
    serde_json::from_slice::<Object<'_>>(answer.get().as_bytes())
        .map(|object| values = object.0)
        .map_err(|e| misfit(BRP_GET_COMPONENTS_METHOD, T::TYPE_PATH, e))?;
    let (_, raw) = values
        .iter()
        .find(|(path, _)| *path == T::TYPE_PATH)
        .ok_or_else(|| misfit(BRP_GET_COMPONENTS_METHOD, T::TYPE_PATH, "it is missing"))?;
    serde_json::from_slice(raw.get().as_bytes())
        .map_err(|e| misfit(BRP_GET_COMPONENTS_METHOD, T::TYPE_PATH, e))
}

/// A new entity with the components of `bundle`, through `world.spawn_entity`.
///
/// # Errors
///
/// The host's error, e.g. `-32006` when the mod may not write a component.
pub async fn spawn<B: Bundle>(bundle: &B) -> Result<Entity, Error> {
    let params = Components {
        entity: None,
        components: Entries(bundle),
    };
    let answer: BrpSpawnEntityResponse = host::call(BRP_SPAWN_ENTITY_METHOD, &params).await?;
    Ok(Entity(answer.entity))
}

/// Inserts (or replaces) the components of `bundle` on `entity`, through
/// `world.insert_components`.
///
/// # Errors
///
/// The host's error.
pub async fn insert<B: Bundle>(entity: Entity, bundle: &B) -> Result<(), Error> {
    let params = Components {
        entity: Some(entity.0),
        components: Entries(bundle),
    };
    host::call(BRP_INSERT_COMPONENTS_METHOD, &params).await
}

/// Removes the components of bundle `B` from `entity`, through
/// `world.remove_components`.
///
/// ```no_run
/// # use bevy_wasmi_plugins_pdk::prelude::*;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Frozen;
/// # bevy_wasmi_plugins_pdk::type_paths! { Component for Frozen = "game::Frozen"; }
/// # async fn demo(entity: Entity) -> Result<(), Error> {
/// world::remove::<Frozen>(entity).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The host's error.
pub async fn remove<B: Bundle>(entity: Entity) -> Result<(), Error> {
    let mut components = Vec::new();
    B::paths(&mut components);
    let params = BrpRemoveComponentsParams {
        entity: entity.0,
        components,
    };
    host::call(BRP_REMOVE_COMPONENTS_METHOD, &params).await
}

/// Replaces component `T` of `entity` with `value`, through `world.mutate_components`
/// with an empty path.
///
/// # Errors
///
/// The host's error.
pub async fn mutate<T: Component>(entity: Entity, value: &T) -> Result<(), Error> {
    mutate_field::<T>(entity, "", value).await
}

/// Sets the field at reflection path `path` (`".x"`, `".translation.y"`) of component `T`
/// of `entity` to `value`, through `world.mutate_components`.
///
/// # Errors
///
/// The host's error (`-23402` for a path the component does not have, or a value that
/// does not fit the field).
pub async fn mutate_field<T: Component>(
    entity: Entity,
    path: &str,
    value: &(impl Serialize + ?Sized),
) -> Result<(), Error> {
    let params = Mutate {
        entity: entity.0,
        component: T::TYPE_PATH,
        path,
        value,
    };
    host::call(BRP_MUTATE_COMPONENTS_METHOD, &params).await
}

/// Despawns `entity` (and its descendants), through `world.despawn_entity`.
///
/// # Errors
///
/// The host's error (`-23401` for an entity that does not exist or the mod may not
/// despawn).
pub async fn despawn(entity: Entity) -> Result<(), Error> {
    host::call(
        BRP_DESPAWN_ENTITY_METHOD,
        &BrpDespawnEntityParams { entity: entity.0 },
    )
    .await
}

/// Makes `entities` children of `parent`, or takes them out of their parents with
/// `None`, through `world.reparent_entities`.
///
/// # Errors
///
/// The host's error (`-23404` for an entity made its own parent).
pub async fn reparent(entities: &[Entity], parent: Option<Entity>) -> Result<(), Error> {
    let params = BrpReparentEntitiesParams {
        entities: entities.iter().map(|e| e.0).collect(),
        parent: parent.map(|e| e.0),
    };
    host::call(BRP_REPARENT_ENTITIES_METHOD, &params).await
}

/// The type paths of the components `entity` has that the mod may read, through
/// `world.list_components`.
///
/// # Errors
///
/// The host's error.
pub async fn list_components(entity: Entity) -> Result<BrpListComponentsResponse, Error> {
    host::call(
        BRP_LIST_COMPONENTS_METHOD,
        &BrpListComponentsParams { entity: entity.0 },
    )
    .await
}

/// Watches component `T` of `entity`, through `world.get_components+watch` (strict):
/// in each frame in which `T` is added, changed or removed, the mod gets a
/// [`WatchChanged`] notification that [`Watch::read`] turns into a [`Changed<T>`].
///
/// # Errors
///
/// The host's error: `-32006` when the mod may not read `T`, `-23401` for a missing
/// entity, `-23402` for a type the game does not know, `-32602` when the mod holds 64
/// watches already.
pub async fn watch<T: Component>(entity: Entity) -> Result<Watch<Changed<T>>, Error> {
    let params = BrpGetComponentsParams {
        entity: entity.0,
        components: vec![T::TYPE_PATH.into()],
        strict: true,
    };
    let answer: BrpWatchResponse = host::call(BRP_GET_COMPONENTS_AND_WATCH_METHOD, &params).await?;
    Ok(Watch::from_id(answer.watch))
}

/// Watches which components `entity` has, through `world.list_components+watch`: a
/// notification in each frame in which the mod may read a component that was added to
/// the entity or removed from it, read as the added and removed type paths.
///
/// # Errors
///
/// The host's error (`-23401` for a missing entity, `-32602` at 64 watches).
pub async fn watch_list(
    entity: Entity,
) -> Result<Watch<crate::protocol::brp::BrpListComponentsWatchingResponse>, Error> {
    let answer: BrpWatchResponse = host::call(
        BRP_LIST_COMPONENTS_AND_WATCH_METHOD,
        &BrpListComponentsParams { entity: entity.0 },
    )
    .await?;
    Ok(Watch::from_id(answer.watch))
}

/// Watches the triggers of observer event `E` (those that target `entity`, if given),
/// through `world.observe+watch`: a notification in each frame in which some were
/// triggered, read as an [`Observed<E>`].
///
/// # Errors
///
/// The host's error (`-32006` when the mod may not read `E`, `-32602` at 64 watches).
pub async fn observe<E: Trigger + serde::de::DeserializeOwned>(
    entity: Option<Entity>,
) -> Result<Watch<Observed<E>>, Error> {
    let params = BrpObserveParams {
        event: E::TYPE_PATH.into(),
        entity: entity.map(|e| e.0),
    };
    let answer: BrpWatchResponse = host::call(BRP_OBSERVE_METHOD, &params).await?;
    Ok(Watch::from_id(answer.watch))
}

/// The value of resource `R`, through `world.get_resources`.
///
/// # Errors
///
/// The host's error (`-23502` when the game has no such resource), or `-32603` when the
/// value does not fit `R`.
pub async fn resource<R: Resource>() -> Result<R, Error> {
    let params = Named {
        member: "resource",
        path: R::TYPE_PATH,
    };
    let answer: Json = host::call_raw(BRP_GET_RESOURCES_METHOD, &params).await?;
    #[derive(serde::Deserialize)]
    struct Value<T> {
        value: T,
    }
    serde_json::from_slice::<Value<R>>(answer.get().as_bytes())
        .map(|v| v.value)
        .map_err(|e| misfit(BRP_GET_RESOURCES_METHOD, R::TYPE_PATH, e))
}

/// Sets resource `R` to `value` (inserting it), through `world.insert_resources`.
///
/// # Errors
///
/// The host's error.
pub async fn insert_resource<R: Resource>(value: &R) -> Result<(), Error> {
    let params = Valued {
        member: "resource",
        path: R::TYPE_PATH,
        value,
    };
    host::call(BRP_INSERT_RESOURCES_METHOD, &params).await
}

/// Sets the field at reflection path `path` of resource `R` to `value` (`""`: the whole
/// resource), through `world.mutate_resources`.
///
/// # Errors
///
/// The host's error.
pub async fn mutate_resource<R: Resource>(
    path: &str,
    value: &(impl Serialize + ?Sized),
) -> Result<(), Error> {
    let params = MutateResource {
        resource: R::TYPE_PATH,
        path,
        value,
    };
    host::call(BRP_MUTATE_RESOURCES_METHOD, &params).await
}

/// Removes resource `R`, through `world.remove_resources`.
///
/// # Errors
///
/// The host's error.
pub async fn remove_resource<R: Resource>() -> Result<(), Error> {
    let params = BrpRemoveResourcesParams {
        resource: R::TYPE_PATH.into(),
    };
    host::call(BRP_REMOVE_RESOURCES_METHOD, &params).await
}

/// Writes Bevy message `message`, through `world.write_message`.
///
/// # Errors
///
/// The host's error.
pub async fn write_message<M: Message>(message: &M) -> Result<(), Error> {
    let params = Valued {
        member: "message",
        path: M::TYPE_PATH,
        value: message,
    };
    host::call(BRP_WRITE_MESSAGE_METHOD, &params).await
}

/// Triggers observer event `event`, through `world.trigger_event`.
///
/// # Errors
///
/// The host's error.
pub async fn trigger_event<E: Trigger>(event: &E) -> Result<(), Error> {
    let params = Valued {
        member: "event",
        path: E::TYPE_PATH,
        value: event,
    };
    host::call(BRP_TRIGGER_EVENT_METHOD, &params).await
}

/// A JSON object as `(key, raw value)` pairs.
pub(crate) struct Object<'a>(pub(crate) Vec<(&'a str, &'a serde_json::value::RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Object<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut pairs: Vec<(&'de str, &'de serde_json::value::RawValue)> = Vec::new();
        serde::de::DeserializeSeed::deserialize(super::query::Pairs(&mut pairs), deserializer)?;
        Ok(Object(pairs))
    }
}

/// `world.spawn_entity`'s and `world.insert_components`' params,
/// `{"entity":E,"components":{…}}` (no `entity` for a spawn): the shapes of
/// `BrpSpawnEntityParams` and `BrpInsertComponentsParams`, written without a JSON tree.
struct Components<'a, B> {
    entity: Option<u64>,
    components: Entries<'a, B>,
}

impl<B: Bundle> Serialize for Components<'_, B> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Components", 2)?;
        if let Some(entity) = self.entity {
            s.serialize_field("entity", &entity)?;
        }
        s.serialize_field("components", &self.components)?;
        s.end()
    }
}

/// `world.mutate_components`' params, the shape of `BrpMutateComponentsParams`.
#[derive(Serialize)]
pub(crate) struct Mutate<'a, V: ?Sized> {
    pub(crate) entity: u64,
    pub(crate) component: &'a str,
    pub(crate) path: &'a str,
    pub(crate) value: &'a V,
}

/// `world.mutate_resources`' params, the shape of `BrpMutateResourcesParams`.
#[derive(Serialize)]
struct MutateResource<'a, V: ?Sized> {
    resource: &'a str,
    path: &'a str,
    value: &'a V,
}

/// `{"<member>":P}`.
struct Named<'a> {
    member: &'static str,
    path: &'a str,
}

impl Serialize for Named<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Named", 1)?;
        s.serialize_field(self.member, self.path)?;
        s.end()
    }
}

/// `{"<member>":P,"value":…}`: the params of `world.insert_resources`,
/// `world.write_message` and `world.trigger_event`.
struct Valued<'a, V: ?Sized> {
    member: &'static str,
    path: &'a str,
    value: &'a V,
}

impl<V: Serialize + ?Sized> Serialize for Valued<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Valued", 2)?;
        s.serialize_field(self.member, self.path)?;
        s.serialize_field("value", self.value)?;
        s.end()
    }
}

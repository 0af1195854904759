//! [`Commands`]: writes collected in the mod and sent together, as one message.

use std::cell::Cell;
use std::ops::Range;

use serde::Serialize;

use super::bundle::Entries;
use super::{Bundle, Component, Entity};
use crate::protocol::ErrorCode;
use crate::protocol::brp::{
    BRP_DESPAWN_ENTITY_METHOD, BRP_INSERT_COMPONENTS_METHOD, BRP_MUTATE_COMPONENTS_METHOD,
    BRP_REMOVE_COMPONENTS_METHOD, BULK_MUTATE_COMPONENTS_METHOD, BrpDespawnEntityParams,
    BrpRemoveComponentsParams, BulkResponse,
};
use crate::{Error, Json, host};

/// Most entities in one `bulk.mutate_components` call, which keeps a call well under
/// the message cap for small components.
const BULK_CHUNK: usize = 1024;

thread_local! {
    /// Whether the host answered `bulk.mutate_components` with "method not found": then
    /// mutations go out as a batch of `world.mutate_components` instead.
    static NO_BULK: Cell<bool> = const { Cell::new(false) };
}

/// Forgets that the host had no bulk calls (a new run on this thread).
pub(crate) fn reset_bulk() {
    NO_BULK.set(false);
}

/// Writes to the world collected in the mod, then sent with [`Commands::flush`]: the
/// mutations of one component type (and field path) as one `bulk.mutate_components`
/// call (this project's many-entity extension of BRP), the rest as `world.*` calls, all
/// in one JSON-RPC batch line; packed mutations go first, each component's on a line of
/// its own with its values as the request's [attachment](crate::protocol::attach).
///
/// Each write's value is serialized when it is added, so the buffer holds no borrows.
///
/// ```no_run
/// # use bevy_wasmi_plugins_pdk::prelude::*;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Velocity { x: f32, y: f32 }
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Frozen;
/// # bevy_wasmi_plugins_pdk::type_paths! {
/// #     Component for Velocity = "game::Velocity";
/// #     Component for Frozen = "game::Frozen";
/// # }
/// # async fn demo(a: Entity, b: Entity) -> Result<(), Error> {
/// let mut commands = world::Commands::new();
/// commands.mutate(a, &Velocity { x: 1.0, y: 0.0 })?;
/// commands.mutate_field::<Velocity>(b, ".y", &2.0)?;
/// commands.remove::<Frozen>(b);
/// assert_eq!(commands.flush().await?, 3);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct Commands {
    /// Mutations by component and path.
    groups: Vec<Group>,
    /// Other writes: a method and its params.
    calls: Vec<(&'static str, Json)>,
}

/// The mutations of one component at one path.
struct Group {
    component: &'static str,
    path: String,
    /// Whether the values are in the packed form (postcard) rather than JSON.
    packed: bool,
    /// The values' JSON text one after the other; packed, the rows of
    /// `bulk.mutate_components`' values (each entity's varint, then its value's
    /// postcard bytes).
    bytes: Vec<u8>,
    /// Each entity with where its value (packed: its row) is in `bytes`.
    values: Vec<(u64, Range<usize>)>,
}

impl Commands {
    /// No writes yet.
    #[must_use]
    pub fn new() -> Self {
        Commands::default()
    }

    /// Writes waiting for [`Commands::flush`].
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.values.len()).sum::<usize>() + self.calls.len()
    }

    /// Whether no write waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces component `T` of `entity` with `value`.
    ///
    /// # Errors
    ///
    /// When `value` does not serialize.
    pub fn mutate<T: Component>(&mut self, entity: Entity, value: &T) -> Result<(), Error> {
        self.mutate_field::<T>(entity, "", value)
    }

    /// Sets the field at reflection path `path` of component `T` of `entity` to `value`.
    ///
    /// # Errors
    ///
    /// When `value` does not serialize.
    pub fn mutate_field<T: Component>(
        &mut self,
        entity: Entity,
        path: &str,
        value: &(impl Serialize + ?Sized),
    ) -> Result<(), Error> {
        self.add::<T>(entity, path, false, value)
    }

    /// Replaces component `T` of `entity` with `value`, sent in the
    /// [packed form](crate::protocol::brp::packed): postcard's binary format, as the
    /// request's [attachment](crate::protocol::attach), which a mod writes (and the game
    /// reads) many times faster than JSON.
    ///
    /// postcard writes no field names: the game reads `T`'s fields in the order its own
    /// type declares them, so `T` must declare the same fields, of the same types, in
    /// the same order (a `Vec3` may be `[f32; 3]`). Needs a host with
    /// `bulk.mutate_components`; [`Commands::flush`] fails otherwise.
    ///
    /// # Errors
    ///
    /// When `value` does not serialize.
    pub fn mutate_packed<T: Component>(&mut self, entity: Entity, value: &T) -> Result<(), Error> {
        self.add::<T>(entity, "", true, value)
    }

    /// Sets the field at reflection path `path` of component `T` of `entity` to `value`,
    /// in the packed form, as [`Commands::mutate_packed`] does.
    ///
    /// # Errors
    ///
    /// When `value` does not serialize.
    pub fn mutate_field_packed<T: Component>(
        &mut self,
        entity: Entity,
        path: &str,
        value: &(impl Serialize + ?Sized),
    ) -> Result<(), Error> {
        self.add::<T>(entity, path, true, value)
    }

    /// Adds a mutation to its group, its value serialized.
    fn add<T: Component>(
        &mut self,
        entity: Entity,
        path: &str,
        packed: bool,
        value: &(impl Serialize + ?Sized),
    ) -> Result<(), Error> {
        let group = match self
            .groups
            .iter()
            .position(|g| g.component == T::TYPE_PATH && g.path == path && g.packed == packed)
        {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(Group {
                    component: T::TYPE_PATH,
                    path: path.into(),
                    packed,
                    bytes: Vec::new(),
                    values: Vec::new(),
                });
                let last = self.groups.len() - 1;
                &mut self.groups[last]
            }
        };
        let start = group.bytes.len();
        let written = if packed {
            // Integers always serialize.
            let _ = postcard::to_extend(&entity.0, Append(&mut group.bytes));
            postcard::to_extend(value, Append(&mut group.bytes))
                .map(drop)
                .map_err(|e| e.to_string())
        } else {
            serde_json::to_writer(&mut group.bytes, value).map_err(|e| e.to_string())
        };
        if let Err(e) = written {
            group.bytes.truncate(start);
            return Err(Error::invalid_params(format_args!(
                "{} did not serialize: {e}",
                T::TYPE_PATH
            )));
        }
        group.values.push((entity.0, start..group.bytes.len()));
        Ok(())
    }

    /// Inserts (or replaces) the components of `bundle` on `entity`.
    ///
    /// # Errors
    ///
    /// When a component does not serialize.
    pub fn insert<B: Bundle>(&mut self, entity: Entity, bundle: &B) -> Result<(), Error> {
        #[derive(Serialize)]
        #[serde(bound = "")]
        struct Insert<'a, B: Bundle> {
            entity: u64,
            components: Entries<'a, B>,
        }
        let params = Json::of(&Insert {
            entity: entity.0,
            components: Entries(bundle),
        })?;
        self.calls.push((BRP_INSERT_COMPONENTS_METHOD, params));
        Ok(())
    }

    /// Removes the components of bundle `B` from `entity`.
    pub fn remove<B: Bundle>(&mut self, entity: Entity) {
        let mut components = Vec::new();
        B::paths(&mut components);
        let params = BrpRemoveComponentsParams {
            entity: entity.0,
            components,
        };
        if let Ok(params) = Json::of(&params) {
            self.calls.push((BRP_REMOVE_COMPONENTS_METHOD, params));
        }
    }

    /// Despawns `entity` (and its descendants).
    pub fn despawn(&mut self, entity: Entity) {
        if let Ok(params) = Json::of(&BrpDespawnEntityParams { entity: entity.0 }) {
            self.calls.push((BRP_DESPAWN_ENTITY_METHOD, params));
        }
    }

    /// Sends every waiting write in one message and waits for the answers; returns how
    /// many writes were sent. The buffer is empty afterwards, whatever the outcome.
    ///
    /// # Errors
    ///
    /// The first error the host answered, for a whole call or, in a bulk call, for one
    /// entity (the other writes were still done).
    pub async fn flush(&mut self) -> Result<usize, Error> {
        let groups = std::mem::take(&mut self.groups);
        let calls = std::mem::take(&mut self.calls);
        let written = groups.iter().map(|g| g.values.len()).sum::<usize>() + calls.len();
        let bulk = !NO_BULK.get();
        // Packed values go first, as attachments, each call on a line of its own.
        let mut bulk_calls = Vec::new();
        for group in groups.iter().filter(|g| g.packed) {
            for chunk in packed_chunks(&group.values) {
                bulk_calls.push((packed_call(group, chunk), group, chunk));
            }
        }
        let single_calls = host::batch(|| {
            let mut single_calls = Vec::new();
            for group in groups.iter().filter(|g| !g.packed) {
                if bulk {
                    let mut params = Vec::new();
                    for chunk in group.values.chunks(BULK_CHUNK) {
                        bulk_params(&mut params, group, chunk);
                        let call =
                            host::call_json::<BulkResponse>(BULK_MUTATE_COMPONENTS_METHOD, &params);
                        bulk_calls.push((call, group, chunk));
                    }
                } else {
                    single_calls.extend(mutate_one_by_one(group, &group.values));
                }
            }
            for (method, params) in &calls {
                single_calls.push(host::call::<Json>(method, params));
            }
            single_calls
        });
        let mut first_error = None;
        let mut note = |result: Result<(), Error>| {
            if let Err(error) = result
                && first_error.is_none()
            {
                first_error = Some(error);
            }
        };
        let mut retry = Vec::new();
        for (call, group, chunk) in bulk_calls {
            match call.await {
                Ok(None) => {}
                Ok(Some(failed)) => {
                    if let Some((entity, error)) = failed.into_iter().next() {
                        note(Err(Error::new(
                            error.code,
                            format!(
                                "{BULK_MUTATE_COMPONENTS_METHOD} of {} on entity {entity}: {}",
                                group.component, error.message
                            ),
                        )));
                    }
                }
                Err(error)
                    if error.error_code() == Some(ErrorCode::MethodNotFound) && !group.packed =>
                {
                    NO_BULK.set(true);
                    retry.push((group, chunk));
                }
                Err(error) => note(Err(error)),
            }
        }
        let retried = host::batch(|| {
            retry
                .iter()
                .flat_map(|&(group, chunk)| mutate_one_by_one(group, chunk))
                .collect::<Vec<_>>()
        });
        for call in single_calls.into_iter().chain(retried) {
            note(call.await.map(drop));
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(written),
        }
    }
}

/// One `world.mutate_components` call per entity of `chunk`, a part of `group`.
fn mutate_one_by_one<'a>(
    group: &'a Group,
    chunk: &'a [(u64, Range<usize>)],
) -> impl Iterator<Item = host::Call<Json>> + 'a {
    let mut params = Vec::new();
    chunk.iter().map(move |(entity, value)| {
        // The shape of `BrpMutateComponentsParams`.
        params.clear();
        params.extend_from_slice(b"{\"entity\":");
        params.extend_from_slice(itoa::Buffer::new().format(*entity).as_bytes());
        params.extend_from_slice(b",\"component\":");
        let _ = serde_json::to_writer(&mut params, group.component);
        params.extend_from_slice(b",\"path\":");
        let _ = serde_json::to_writer(&mut params, &group.path);
        params.extend_from_slice(b",\"value\":");
        params.extend_from_slice(&group.bytes[value.clone()]);
        params.push(b'}');
        host::call_json::<Json>(BRP_MUTATE_COMPONENTS_METHOD, &params)
    })
}

/// Most bytes of packed rows in one `bulk.mutate_components` call, which keeps a call
/// well under the 1 MiB message cap.
const PACKED_CHUNK_BYTES: usize = 256 * 1024;

/// The rows of a packed group cut into calls of at most [`BULK_CHUNK`] × 8 entities and
/// [`PACKED_CHUNK_BYTES`] bytes (and at least one row each).
fn packed_chunks(
    values: &[(u64, Range<usize>)],
) -> impl Iterator<Item = &[(u64, Range<usize>)]> + '_ {
    let mut rest = values;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let end = rest
            .iter()
            .take(8 * BULK_CHUNK)
            .position(|(_, row)| row.end - first.1.start > PACKED_CHUNK_BYTES)
            .unwrap_or(rest.len().min(8 * BULK_CHUNK))
            .max(1);
        let (chunk, after) = rest.split_at(end);
        rest = after;
        Some(chunk)
    })
}

/// `bulk.mutate_components` of `chunk`, rows of a packed `group`, with the rows as the
/// request's attachment: `Vec<(u64, V)>` in postcard's format, the count and then the
/// rows as they were written when added.
fn packed_call(group: &Group, chunk: &[(u64, Range<usize>)]) -> host::Call<BulkResponse> {
    let rows = match (chunk.first(), chunk.last()) {
        (Some(first), Some(last)) => &group.bytes[first.1.start..last.1.end],
        _ => &[][..],
    };
    let mut count = Vec::with_capacity(10);
    let _ = postcard::to_extend(&chunk.len(), Append(&mut count));
    // The shape of `BulkMutateComponentsParams`: `{"component":P,"path":"","attached":N}`.
    let mut params = Vec::with_capacity(64 + group.component.len() + group.path.len());
    params.extend_from_slice(b"{\"component\":");
    let _ = serde_json::to_writer(&mut params, group.component);
    params.extend_from_slice(b",\"path\":");
    let _ = serde_json::to_writer(&mut params, &group.path);
    params.extend_from_slice(b",\"attached\":");
    params.extend_from_slice(
        itoa::Buffer::new()
            .format(count.len() + rows.len())
            .as_bytes(),
    );
    params.push(b'}');
    host::call_json_attached(
        BULK_MUTATE_COMPONENTS_METHOD,
        &params,
        Some(&[&count, rows]),
    )
}

/// Writes `bulk.mutate_components`' params for `chunk`, a part of `group`, over
/// `params`: the shape of `BulkMutateComponentsParams`,
/// `{"component":P,"path":"","entities":[[E,value],…]}`.
fn bulk_params(params: &mut Vec<u8>, group: &Group, chunk: &[(u64, Range<usize>)]) {
    params.clear();
    params.extend_from_slice(b"{\"component\":");
    let _ = serde_json::to_writer(&mut *params, group.component);
    params.extend_from_slice(b",\"path\":");
    let _ = serde_json::to_writer(&mut *params, &group.path);
    params.extend_from_slice(b",\"entities\":[");
    let mut digits = itoa::Buffer::new();
    for (i, (entity, value)) in chunk.iter().enumerate() {
        if i > 0 {
            params.push(b',');
        }
        params.push(b'[');
        params.extend_from_slice(digits.format(*entity).as_bytes());
        params.push(b',');
        params.extend_from_slice(&group.bytes[value.clone()]);
        params.push(b']');
    }
    params.extend_from_slice(b"]}");
}

/// Appends postcard's output to a buffer it borrows (postcard's `to_extend` takes its
/// output by value, which would lose the buffer on an error).
struct Append<'a>(&'a mut Vec<u8>);

impl Extend<u8> for Append<'_> {
    fn extend<I: IntoIterator<Item = u8>>(&mut self, bytes: I) {
        self.0.extend(bytes);
    }
}

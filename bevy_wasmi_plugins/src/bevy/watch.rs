//! Subscriptions (BRP's `+watch` methods): what each mod watches, and what changed.
//!
//! `ecs_methods` adds a [`Watch`] when a mod calls `world.get_components+watch`,
//! `world.list_components+watch` or `world.observe+watch`, and removes it on
//! `watch.cancel`. Once per frame, after the mods ran, the driver asks
//! [`Watches::changes`] for each mod's notifications (`watch.changed`, at most one per
//! watch) and writes them to the mod's stdin; the driver drops a mod's watches when its
//! instance is gone (stopped, crashed, reloading or despawned).
//!
//! Changes are found with Bevy's change ticks since the watch's last check, and
//! removals by comparing with the components present then; an observed event is
//! serialized by its observer into a buffer capped at
//! [`MAX_OBSERVED_PER_FRAME`] events.

use std::sync::{Arc, Mutex};

use crate::bevy::bevy_prelude::*;
use bevy_ecs::change_detection::Tick;
use bevy_ecs::component::ComponentId;
use bevy_ecs::reflect::{AppTypeRegistry, ReflectComponent};
use bevy_platform::collections::HashMap;
use bevy_reflect::serde::TypedReflectSerializer;
use bevy_wasmi_plugins_protocol::brp::{
    BrpGetComponentsWatchingResponse, BrpListComponentsWatchingResponse, MAX_OBSERVED_PER_FRAME,
    WatchNotification,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde_json::{Map, Value};

use crate::bevy::permissions::{ModPermissions, denied};

/// Every mod's watches, by the mod's entity.
#[derive(Resource, Default)]
pub(crate) struct Watches {
    pub(crate) by_mod: HashMap<Entity, ModWatches>,
}

/// One mod's watches.
#[derive(Default)]
pub(crate) struct ModWatches {
    pub(crate) next_id: u64,
    pub(crate) watches: Vec<Watch>,
    /// The last notifications of watches ended since the last frame's check (their
    /// permission was taken back), sent with the next ones.
    pub(crate) ended: Vec<WatchNotification>,
}

/// One subscription.
pub(crate) struct Watch {
    pub(crate) id: u64,
    /// The tick of its last check: changes after it are new.
    pub(crate) last_run: Tick,
    pub(crate) kind: WatchKind,
}

/// What a [`Watch`] watches.
pub(crate) enum WatchKind {
    /// Components of one entity: (type path, id, reflection); those present at the last
    /// check.
    Components {
        entity: Entity,
        components: Vec<(String, ComponentId, ReflectComponent)>,
        present: Vec<bool>,
        strict: bool,
    },
    /// The component set of one entity, as of the last check (readable types only).
    List {
        entity: Entity,
        present: Vec<(ComponentId, String)>,
        /// The mod's permissions when it subscribed: only types it may read are listed.
        permissions: ModPermissions,
    },
    /// An event's triggers, buffered by the observer entity; `target` is the entity
    /// observed, if one was named (the watch ends when it is despawned).
    Observe {
        event: String,
        observer: Entity,
        target: Option<Entity>,
        buffer: Arc<Mutex<Observed>>,
    },
}

/// Events an observer saw since the last notification, at most
/// [`MAX_OBSERVED_PER_FRAME`], and how many more there were.
#[derive(Default)]
pub(crate) struct Observed {
    pub(crate) events: Vec<Value>,
    pub(crate) dropped: u64,
}

impl Observed {
    /// Keeps the event `serialize` makes, or counts it as dropped once the buffer is
    /// full (without serializing it).
    pub(crate) fn push(&mut self, serialize: impl FnOnce() -> Value) {
        if self.events.len() < MAX_OBSERVED_PER_FRAME {
            self.events.push(serialize());
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

impl Watches {
    /// Ends every watch of the mod at `entity` (its observers are despawned).
    pub(crate) fn end_all(world: &mut World, entity: Entity) {
        let Some(mut watches) = world.get_resource_mut::<Watches>() else {
            return;
        };
        let Some(ended) = watches.by_mod.remove(&entity) else {
            return;
        };
        for watch in ended.watches {
            watch.end(world);
        }
    }

    /// Ends the watches of the mod at `entity` on types `permissions` no longer let it
    /// read; each one's last notification (`-32006`) goes out with the next frame's.
    pub(crate) fn revalidate(
        world: &mut World,
        entity: Entity,
        mod_name: &str,
        permissions: &ModPermissions,
    ) {
        let Some(mut mod_watches) = world
            .get_resource_mut::<Watches>()
            .and_then(|mut w| w.by_mod.remove(&entity))
        else {
            return;
        };
        let mut revoked = Vec::new();
        let ended: Vec<Watch> = mod_watches
            .watches
            .extract_if(.., |watch| {
                let unreadable = match &mut watch.kind {
                    WatchKind::Components { components, .. } => components
                        .iter()
                        .find(|(path, ..)| !permissions.may_read(path))
                        .map(|(path, ..)| path.clone()),
                    WatchKind::List {
                        permissions: held,
                        present,
                        ..
                    } => {
                        // It lists only what the mod may read: from now on, by the new
                        // grant (a type it may no longer read is not reported removed).
                        *held = permissions.clone();
                        present.retain(|(_, path)| permissions.may_read(path));
                        None
                    }
                    WatchKind::Observe { event, .. } => {
                        (!permissions.may_read(event)).then(|| event.clone())
                    }
                };
                let Some(path) = unreadable else {
                    return false;
                };
                revoked.push((watch.id, path));
                true
            })
            .collect();
        for watch in ended {
            watch.end(world);
        }
        for (id, path) in revoked {
            mod_watches.ended.push(WatchNotification {
                watch: id,
                result: None,
                error: Some(denied(
                    mod_name,
                    format_args!("read `{path}` any more: the watch {id} ended"),
                )),
                dropped: 0,
            });
        }
        world
            .get_resource_or_init::<Watches>()
            .by_mod
            .insert(entity, mod_watches);
    }

    /// Ends the watch `id` of the mod at `entity`; false if it has no such watch.
    pub(crate) fn end(world: &mut World, entity: Entity, id: u64) -> bool {
        let watch = world.get_resource_mut::<Watches>().and_then(|mut watches| {
            let mine = watches.by_mod.get_mut(&entity)?;
            let at = mine.watches.iter().position(|w| w.id == id)?;
            Some(mine.watches.swap_remove(at))
        });
        let Some(watch) = watch else {
            return false;
        };
        watch.end(world);
        true
    }

    /// The notifications of the mod at `entity` for this frame, ending the watches
    /// whose entity is gone (their last notification carries the error).
    pub(crate) fn changes(world: &mut World, entity: Entity) -> Vec<WatchNotification> {
        let Some(mut mod_watches) = world
            .get_resource_mut::<Watches>()
            .and_then(|mut w| w.by_mod.remove(&entity))
        else {
            return Vec::new();
        };
        let registry = world
            .get_resource::<AppTypeRegistry>()
            .cloned()
            .unwrap_or_default();
        let this_run = world.change_tick();
        let mut notes = std::mem::take(&mut mod_watches.ended);
        let mut ended = Vec::new();
        mod_watches.watches.retain_mut(|watch| {
            let note = watch.check(world, &registry, this_run);
            watch.last_run = this_run;
            let Some(note) = note else {
                return true;
            };
            let last = note.error.is_some();
            notes.push(note);
            if last {
                ended.push(watch.id);
            }
            !last
        });
        // Later changes (in this frame's rest) get a newer tick than the checked one.
        world.increment_change_tick();
        world
            .get_resource_or_init::<Watches>()
            .by_mod
            .insert(entity, mod_watches);
        notes
    }
}

impl Watch {
    /// Despawns what the watch holds in the world.
    pub(crate) fn end(self, world: &mut World) {
        if let WatchKind::Observe { observer, .. } = self.kind
            && let Ok(observer) = world.get_entity_mut(observer)
        {
            observer.despawn();
        }
    }

    /// What changed since `last_run`, if anything.
    fn check(
        &mut self,
        world: &World,
        registry: &AppTypeRegistry,
        this_run: Tick,
    ) -> Option<WatchNotification> {
        let last_run = self.last_run;
        let id = self.id;
        match &mut self.kind {
            WatchKind::Components {
                entity,
                components,
                present,
                strict,
            } => {
                let Ok(entity_ref) = world.get_entity(*entity) else {
                    return Some(gone(id, *entity));
                };
                let registry = registry.read();
                let mut values = Map::new();
                let mut errors = Map::new();
                let mut removed = Vec::new();
                for ((path, component, reflect), was) in components.iter().zip(present.iter_mut()) {
                    let ticks = entity_ref.get_change_ticks_by_id(*component);
                    let now = ticks.is_some();
                    if !now && *was {
                        removed.push(path.clone());
                    }
                    *was = now;
                    if !ticks.is_some_and(|t| t.is_changed(last_run, this_run)) {
                        continue;
                    }
                    let Some(value) = reflect.reflect(entity_ref) else {
                        continue;
                    };
                    match serde_json::to_value(TypedReflectSerializer::new(
                        value.as_partial_reflect(),
                        &registry,
                    )) {
                        Ok(value) => {
                            values.insert(path.clone(), value);
                        }
                        Err(e) => {
                            let e = ResponseError::new(
                                ErrorCode::ComponentError,
                                format!("`{path}` did not serialize: {e}"),
                            );
                            errors
                                .insert(path.clone(), serde_json::to_value(&e).unwrap_or_default());
                        }
                    }
                }
                if values.is_empty() && removed.is_empty() && errors.is_empty() {
                    return None;
                }
                let result = if *strict {
                    BrpGetComponentsWatchingResponse::Strict {
                        components: values,
                        removed,
                    }
                } else {
                    BrpGetComponentsWatchingResponse::Lenient {
                        components: values,
                        removed,
                        errors,
                    }
                };
                Some(WatchNotification {
                    watch: id,
                    result: serde_json::to_value(result).ok(),
                    error: None,
                    dropped: 0,
                })
            }
            WatchKind::List {
                entity,
                present,
                permissions,
            } => {
                let Ok(entity_ref) = world.get_entity(*entity) else {
                    return Some(gone(id, *entity));
                };
                let mut response = BrpListComponentsWatchingResponse::default();
                present.retain(|(component, path)| {
                    let kept = entity_ref.contains_id(*component);
                    if !kept {
                        response.removed.push(path.clone());
                    }
                    kept
                });
                let registry = registry.read();
                for component in entity_ref.archetype().components() {
                    let Some(ticks) = entity_ref.get_change_ticks_by_id(*component) else {
                        continue;
                    };
                    if !ticks.is_added(last_run, this_run)
                        && present.iter().any(|(c, _)| c == component)
                    {
                        continue;
                    }
                    let readable = |path: &str| permissions.may_read(path);
                    let Some(path) = readable_path(world, &registry, *component, Some(&readable))
                    else {
                        continue;
                    };
                    if !present.iter().any(|(c, _)| c == component) {
                        present.push((*component, path.clone()));
                    }
                    response.added.push(path);
                }
                if response.added.is_empty() && response.removed.is_empty() {
                    return None;
                }
                response.added.sort_unstable();
                response.removed.sort_unstable();
                Some(WatchNotification {
                    watch: id,
                    result: serde_json::to_value(response).ok(),
                    error: None,
                    dropped: 0,
                })
            }
            WatchKind::Observe {
                observer,
                target,
                buffer,
                ..
            } => {
                let mut observed = buffer.lock().ok()?;
                if observed.events.is_empty() && observed.dropped == 0 {
                    // Bevy despawns an entity's observers with it. (Events seen before,
                    // say one that came just before the despawn, went out first.)
                    if let Some(target) = *target
                        && world.get_entity(target).is_err()
                    {
                        return Some(gone(id, target));
                    }
                    if world.get_entity(*observer).is_err() {
                        return Some(gone(id, *observer));
                    }
                    return None;
                }
                let events = std::mem::take(&mut observed.events);
                let dropped = std::mem::take(&mut observed.dropped);
                Some(WatchNotification {
                    watch: id,
                    result: Some(Value::Array(events)),
                    error: None,
                    dropped,
                })
            }
        }
    }
}

/// The last notification of a watch whose entity is gone.
fn gone(id: u64, entity: Entity) -> WatchNotification {
    WatchNotification {
        watch: id,
        result: None,
        error: Some(ResponseError::new(
            ErrorCode::EntityNotFound,
            format!("Entity {entity} not found: the watch {id} ended"),
        )),
        dropped: 0,
    }
}

/// The type path of a reflected component (that `readable` allows, when given).
pub(crate) fn readable_path(
    world: &World,
    registry: &bevy_reflect::TypeRegistry,
    component: ComponentId,
    readable: Option<&dyn Fn(&str) -> bool>,
) -> Option<String> {
    let type_id = world.components().get_info(component)?.type_id()?;
    let registration = registry.get(type_id)?;
    registration.data::<ReflectComponent>()?;
    let path = registration.type_info().type_path();
    readable.is_none_or(|r| r(path)).then(|| path.to_owned())
}

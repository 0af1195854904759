//! The `+watch` methods and `watch.cancel`: subscribing checks what the equivalent
//! read would check (permissions, the entity, the types) and answers with the watch's
//! id; [`crate::bevy::watch`] finds the changes each frame.

use std::sync::{Arc, Mutex};

use crate::bevy::bevy_prelude::*;
use bevy_ecs::reflect::AppTypeRegistry;
use bevy_wasmi_plugins_protocol::brp::{
    BrpGetComponentsParams, BrpListComponentsParams, BrpObserveParams, BrpWatchResponse,
    MAX_WATCHES_PER_MOD, WatchCancelParams,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};

use super::Ecs;
use super::reflect::{Reflected, error, reflect_component};
use super::resources::reflect_event;
use crate::bevy::watch::{Observed, Watch, WatchKind, Watches, readable_path};

impl Ecs<'_> {
    /// Adds a watch for the calling mod; its first check is in this frame's end.
    fn subscribe(&self, world: &mut World, kind: WatchKind) -> Outcome {
        let last_run = world.change_tick();
        // Changes later in this run get a newer tick, so the first check sees them.
        world.increment_change_tick();
        let mut watches = world.get_resource_or_init::<Watches>();
        let mine = watches.by_mod.entry(self.mod_entity).or_default();
        if mine.watches.len() >= MAX_WATCHES_PER_MOD {
            let watch = Watch {
                id: 0,
                last_run,
                kind,
            };
            watch.end(world);
            return Err(ResponseError::invalid_params(
                self.method,
                format_args!(
                    "mod `{}` holds {MAX_WATCHES_PER_MOD} watches, the most it may; cancel one \
                     with watch.cancel",
                    self.mod_name
                ),
            ));
        }
        mine.next_id += 1;
        let id = mine.next_id;
        mine.watches.push(Watch { id, last_run, kind });
        to_raw(&BrpWatchResponse { watch: id })
    }

    /// `world.get_components+watch`: needs read access to every component.
    pub(super) fn watch_components(&self, world: &mut World, p: BrpGetComponentsParams) -> Outcome {
        for path in &p.components {
            self.check_read(path)?;
        }
        let entity = self.entity(world, p.entity, false)?;
        let registry = self.registry.read();
        let mut components = Vec::with_capacity(p.components.len());
        // A type named twice is watched once (each is checked every frame).
        let mut named = bevy_platform::collections::HashSet::new();
        for path in p.components {
            if !named.insert(path.clone()) {
                continue;
            }
            let (registration, reflect) = reflect_component(&registry, &path)?;
            // As in BRP: a type no entity ever had cannot be watched.
            let id = world
                .components()
                .get_id(registration.type_id())
                .ok_or_else(|| {
                    error(
                        ErrorCode::ComponentError,
                        format!("Unknown component: `{path}` (no entity has had it)"),
                    )
                })?;
            components.push((path, id, reflect.clone()));
        }
        drop(registry);
        let entity_ref = world.entity(entity);
        let present = components
            .iter()
            .map(|(_, id, _)| entity_ref.contains_id(*id))
            .collect();
        self.subscribe(
            world,
            WatchKind::Components {
                entity,
                components,
                present,
                strict: p.strict,
            },
        )
    }

    /// `world.list_components+watch`: lists only the types the mod may read.
    pub(super) fn watch_list(&self, world: &mut World, p: BrpListComponentsParams) -> Outcome {
        let entity = self.entity(world, p.entity, false)?;
        let registry = self.registry.read();
        let readable = |path: &str| self.permissions.may_read(path);
        let entity_ref = world.entity(entity);
        let present = entity_ref
            .archetype()
            .components()
            .iter()
            .filter_map(|id| Some((*id, readable_path(world, &registry, *id, Some(&readable))?)))
            .collect();
        drop(registry);
        self.subscribe(
            world,
            WatchKind::List {
                entity,
                present,
                permissions: self.permissions.clone(),
            },
        )
    }

    /// `world.observe+watch`: needs read access to the event type.
    pub(super) fn watch_event(&self, world: &mut World, p: BrpObserveParams) -> Outcome {
        self.check_read(&p.event)?;
        let target = match p.entity {
            Some(bits) => Some(self.entity(world, bits, false)?),
            None => None,
        };
        let reflect = {
            let registry = self.registry.read();
            reflect_event(&registry, &p.event)?.1.clone()
        };
        let buffer = Arc::new(Mutex::new(Observed::default()));
        let sink = buffer.clone();
        let registry: AppTypeRegistry = self.registry.clone();
        let observer = reflect.create_observer(Box::new(move |event, _world| {
            if let Ok(mut observed) = sink.lock() {
                observed.push(|| {
                    let registry = registry.read();
                    serde_json::to_value(Reflected {
                        value: event.as_partial_reflect(),
                        registry: &registry,
                    })
                    .unwrap_or_default()
                });
            }
        }));
        let observer = match target {
            Some(target) => observer.with_entity(target),
            None => observer,
        };
        let observer = world.spawn(observer).id();
        self.subscribe(
            world,
            WatchKind::Observe {
                event: p.event,
                observer,
                target,
                buffer,
            },
        )
    }

    /// `watch.cancel`: ends one of the mod's watches; an id it does not hold is `-32602`.
    pub(super) fn cancel_watch(&self, world: &mut World, p: WatchCancelParams) -> Outcome {
        if !Watches::end(world, self.mod_entity, p.watch) {
            return Err(ResponseError::invalid_params(
                self.method,
                format_args!("mod `{}` has no watch {}", self.mod_name, p.watch),
            ));
        }
        to_raw(&())
    }
}

//! Which entities are mods, kept from the components themselves: observers of
//! [`WasmMod`] and [`ModPermissions`] note every insert and removal in [`ModChanges`],
//! and at the start of each frame the driver applies them in order:
//!
//! - `WasmMod` inserted on an entity that is not a mod: a new slot, named after its
//!   file and published in the directory;
//! - `WasmMod` inserted over another (a new handle or config): the old mod is unloaded
//!   and the new one starts;
//! - `WasmMod` removed, or its entity despawned: the mod is unloaded
//!   (`plugin.shutdown`, its calls failed, unpublished);
//! - `ModPermissions` inserted, replaced or removed on a started mod: its permissions
//!   are read again, and hold from its next request on.
//!
//! Nothing scans the mods each frame.

use std::sync::Arc;

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};

use super::ModDriver;
use super::instantiate::permissions_of;
use super::lifecycle::{Phase, Slot, unique_name};
use crate::bevy::asset::{WasmModAsset, mod_name};
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mods::WasmMod;
use crate::bevy::permissions::ModPermissions;
use crate::bevy::settings::with_settings;
use crate::bevy::watch::Watches;

/// What happened to mod entities since the driver last ran, in order.
#[derive(Resource, Default)]
pub(crate) struct ModChanges(Vec<Change>);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// `WasmMod` inserted (new, or replacing another).
    Inserted(Entity),
    /// `WasmMod` removed, or its entity despawned.
    Removed(Entity),
    /// `ModPermissions` inserted, replaced or removed.
    Permissions(Entity),
}

impl ModChanges {
    /// Notes the mod entities that exist already (spawned before the plugin was added).
    pub(crate) fn existing(world: &mut World) -> Self {
        let mut mods = world.query_filtered::<Entity, With<WasmMod>>();
        ModChanges(mods.iter(world).map(Change::Inserted).collect())
    }
}

/// Observer: a [`WasmMod`] was inserted.
pub(crate) fn mod_inserted(insert: On<Insert, WasmMod>, mut changes: ResMut<ModChanges>) {
    changes.0.push(Change::Inserted(insert.entity));
}

/// Observer: a [`WasmMod`] was removed (also when its entity is despawned).
pub(crate) fn mod_removed(remove: On<Remove, WasmMod>, mut changes: ResMut<ModChanges>) {
    changes.0.push(Change::Removed(remove.entity));
}

/// Observer: a [`ModPermissions`] was inserted or replaced.
pub(crate) fn permissions_inserted(
    insert: On<Insert, ModPermissions>,
    mut changes: ResMut<ModChanges>,
) {
    changes.0.push(Change::Permissions(insert.entity));
}

/// Observer: a [`ModPermissions`] was removed.
pub(crate) fn permissions_removed(
    remove: On<Remove, ModPermissions>,
    mut changes: ResMut<ModChanges>,
) {
    changes.0.push(Change::Permissions(remove.entity));
}

impl ModDriver {
    /// Applies what happened to mod entities since the last frame.
    pub(super) fn track_entities(&mut self, world: &mut World, methods: &HostMethods) {
        let Some(mut changes) = world
            .get_resource_mut::<ModChanges>()
            .map(|mut changes| std::mem::take(&mut changes.0))
        else {
            return;
        };
        // The same insert twice in a row (say, a bundle and then the component) is one.
        changes.dedup();
        for change in changes {
            match change {
                Change::Inserted(entity) => {
                    let replaced = self.unload(world, methods, entity);
                    let Some(handle) = world.get::<WasmMod>(entity).map(|m| m.handle.clone())
                    else {
                        continue;
                    };
                    self.track(world, entity, handle, replaced);
                }
                Change::Removed(entity) => {
                    self.unload(world, methods, entity);
                }
                Change::Permissions(entity) => self.reread_permissions(world, entity),
            }
        }
    }

    /// Adds a slot for the mod entity `entity`, which was the mod `replaced` until now
    /// if its `WasmMod` was replaced.
    fn track(
        &mut self,
        world: &mut World,
        entity: Entity,
        handle: Handle<WasmModAsset>,
        replaced: Option<Arc<str>>,
    ) {
        let base = handle
            .path()
            .map(|path| mod_name(&path.path().to_string_lossy()))
            .unwrap_or_else(|| format!("mod-{entity}"));
        // A replaced mod keeps its name if it can.
        let name: Arc<str> = match &replaced {
            Some(old)
                if old.split('#').next() == Some(base.as_str())
                    && !self.slots.values().any(|slot| slot.name == *old) =>
            {
                old.clone()
            }
            _ => unique_name(&self.slots, entity, &base),
        };
        let mut entity_mut = world.entity_mut(entity);
        // For inspectors and logs; the game's own name wins. The name the driver gave
        // a replaced mod follows the new file.
        let ours = |old: &Name| {
            replaced
                .as_ref()
                .is_some_and(|replaced| old.as_str() == format!("mod {replaced}"))
        };
        if entity_mut.get::<Name>().is_none_or(ours) {
            entity_mut.insert(Name::new(format!("mod {name}")));
        }
        let (permissions, fuel_per_frame) =
            with_settings(world, |s| (s.default_permissions.clone(), s.fuel_per_frame));
        self.order.push(entity);
        self.slots.insert(
            entity,
            Slot::new(
                name,
                handle.id(),
                permissions,
                fuel_per_frame,
                self.directory.clone(),
            ),
        );
        self.publish(entity);
    }

    /// Unloads the mod of `entity`, if it is one: `plugin.shutdown` if it runs, its
    /// calls failed, its name unpublished. Returns its name.
    fn unload(
        &mut self,
        world: &mut World,
        methods: &HostMethods,
        entity: Entity,
    ) -> Option<Arc<str>> {
        let mut slot = self.slots.remove(&entity)?;
        slot.shut_down(world, methods, entity);
        let error = ResponseError::new(
            ErrorCode::ModUnavailable,
            format!("mod `{}` was unloaded", slot.name),
        );
        slot.fail_calls(world, entity, &error);
        info!("mod `{}` unloaded", slot.name);
        self.order.retain(|&e| e != entity);
        // The name now means the next mod of that name, if there is one.
        self.directory
            .unpublish(entity, |name| self.first_named(name));
        Some(slot.name)
    }

    /// Unloads every mod (the app exits).
    pub(super) fn unload_all(&mut self, world: &mut World, methods: &HostMethods) {
        let entities: Vec<Entity> = self.order.clone();
        for entity in entities {
            self.unload(world, methods, entity);
        }
    }

    /// Reads a started mod's permissions again (a mod that has not started reads them
    /// when it does).
    /// Watches on types the mod may no longer read end.
    fn reread_permissions(&mut self, world: &mut World, entity: Entity) {
        let Some(slot) = self.slots.get_mut(&entity) else {
            return;
        };
        if matches!(slot.phase, Phase::Loading) {
            return;
        }
        let asset = world.resource::<Assets<WasmModAsset>>().get(slot.asset);
        slot.permissions = permissions_of(world, entity, asset.map(WasmModAsset::settings));
        Watches::revalidate(world, entity, &slot.name, &slot.permissions);
    }
}

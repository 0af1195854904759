//! Which entities are mods: a slot for each new [`WasmMod`] entity (named after its
//! file, published in the directory), and the unloading of mods whose entity or
//! [`WasmMod`] is gone (`plugin.shutdown`, their calls failed, unpublished).

use std::sync::Arc;

use bevy::prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};

use super::lifecycle::Slot;
use super::{ModDriver, with_settings};
use crate::bevy::asset::{WasmModAsset, mod_name};
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mods::WasmMod;

/// Marks entities the driver has seen.
#[derive(Component)]
pub(crate) struct Tracked;

impl ModDriver {
    /// Adds slots for new mod entities and drops those whose entity is gone.
    pub(super) fn track_entities(&mut self, world: &mut World, methods: &HostMethods) {
        let untracked = self
            .untracked
            .get_or_insert_with(|| world.query_filtered::<(Entity, &WasmMod), Without<Tracked>>());
        let found: Vec<(Entity, Handle<WasmModAsset>)> = untracked
            .iter(world)
            .map(|(entity, m)| (entity, m.handle.clone()))
            .collect();
        for (entity, handle) in found {
            let name: Arc<str> = handle
                .path()
                .map(|path| mod_name(&path.path().to_string_lossy()))
                .unwrap_or_else(|| format!("mod-{entity}"))
                .into();
            let mut entity_mut = world.entity_mut(entity);
            entity_mut.insert(Tracked);
            if !entity_mut.contains::<Name>() {
                // For inspectors and logs; the game's own name wins.
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
        let gone: Vec<Entity> = self
            .order
            .iter()
            .copied()
            .filter(|&entity| world.get::<WasmMod>(entity).is_none())
            .collect();
        for entity in gone {
            if let Ok(mut entity_mut) = world.get_entity_mut(entity) {
                entity_mut.remove::<Tracked>();
            }
            if let Some(mut slot) = self.slots.remove(&entity) {
                slot.shut_down(world, methods, entity);
                let error = ResponseError::new(
                    ErrorCode::ModUnavailable,
                    format!("mod `{}` was unloaded", slot.name),
                );
                slot.fail_calls(world, entity, &error);
                info!("mod `{}` unloaded", slot.name);
            }
            self.order.retain(|&e| e != entity);
            // The name now means the next mod of that name, if there is one.
            self.directory
                .unpublish(entity, |name| self.first_named(name));
        }
    }
}

//! Starting a mod: once its asset has loaded (or a restart's backoff has passed), a new
//! instance with the limits, fuel and permissions from the plugin's settings, the
//! asset's `.meta` and the entity, sent `plugin.init` and the calls that waited for it;
//! a file that failed to load crashes only its own mod.

use crate::bevy::bevy_prelude::*;
use bevy_asset::LoadState;
use bevy_platform::time::Instant;
use bevy_wasmi_plugins_protocol::lifecycle::{INIT_METHOD, InitParams};

use super::ModDriver;
use super::lifecycle::{Phase, unique_name};
use crate::bevy::asset::{WasmModAsset, WasmModSettings};
use crate::bevy::mods::{ModStatus, WasmMod};
use crate::bevy::permissions::ModPermissions;
use crate::bevy::settings::with_settings;
use crate::runtime::{ModConfig, ModErrorKind, ModInstance};

impl ModDriver {
    /// Instantiates mods whose asset is ready; marks failed loads. Instantiating is
    /// spread over frames: once a frame's wall-time budget is spent on it (after at
    /// least one mod), the rest start next frame, so hundreds of mods loading at once
    /// do not freeze the game.
    pub(super) fn start(&mut self, world: &mut World) {
        let now = Instant::now();
        let budget = with_settings(world, |s| s.frame_budget);
        let mut started_any = false;
        for &entity in &self.order {
            if started_any && now.elapsed() >= budget {
                return;
            }
            let Some(slot) = self.slots.get_mut(&entity) else {
                continue;
            };
            if let Phase::Down = slot.phase
                && slot.retry_at.is_some_and(|at| now >= at)
            {
                slot.retry_at = None;
                slot.restarts += 1;
                slot.phase = Phase::Loading;
                info!("restarting mod `{}` (restart policy)", slot.name);
            }
            if !matches!(slot.phase, Phase::Loading) {
                continue;
            }
            let asset = world
                .resource::<Assets<WasmModAsset>>()
                .get(slot.asset)
                .cloned();
            let Some(asset) = asset else {
                let failed = match world.resource::<AssetServer>().load_state(slot.asset) {
                    LoadState::Failed(error) => Some(error.to_string()),
                    _ => None,
                };
                if let Some(message) = failed {
                    let error = ModErrorKind::LoadFailed { message }.named(slot.name.clone());
                    error!("{error}");
                    slot.go_down(world, entity, ModStatus::Crashed(error));
                }
                continue;
            };
            // The name the slot got from the file (`name#2` for a second mod of one
            // file), unless the module is named otherwise (an asset without a path,
            // which the game compiled): then the module's name, made unique the same way,
            // and the entity's `Name` with it if the driver gave that.
            let base = asset.module().name();
            if slot.name.split('#').next() != Some(base) {
                let name = unique_name(&self.slots, entity, base);
                let Some(slot) = self.slots.get_mut(&entity) else {
                    continue;
                };
                if let Some(mut entity_name) = world.get_mut::<Name>(entity)
                    && entity_name.as_str() == format!("mod {}", slot.name)
                {
                    entity_name.set(format!("mod {name}"));
                }
                slot.name = name;
                // Calls by name find it under its new name, also if it fails to start.
                self.publish(entity);
            }
            let Some(slot) = self.slots.get_mut(&entity) else {
                continue;
            };
            let asset_settings = asset.settings();
            slot.permissions = permissions_of(world, entity, Some(asset_settings));
            let limits = with_settings(world, |settings| {
                slot.fuel_per_frame = asset_settings
                    .fuel_per_frame
                    .unwrap_or(settings.fuel_per_frame);
                let mut limits = settings.limits.clone();
                if let Some(memory) = asset_settings.max_memory {
                    limits.max_memory = memory;
                }
                if let Some(fuel) = asset_settings.max_fuel_per_activation {
                    limits.max_fuel_per_activation = fuel;
                }
                if let Some(fuel) = asset_settings.max_fuel_per_call {
                    limits.max_fuel_per_call = fuel;
                }
                limits
            });
            slot.call_deadline_frames = asset_settings.call_deadline_frames;
            let config = ModConfig::default()
                .with_limits(limits)
                .with_name(&*slot.name);
            let mut instance = match ModInstance::new(asset.module(), &config) {
                Ok(instance) => instance,
                Err(error) => {
                    error!("{error}");
                    slot.crashed(world, entity, error);
                    continue;
                }
            };
            let mod_config = world.get::<WasmMod>(entity).and_then(|m| m.config.clone());
            let init = instance.call(
                INIT_METHOD,
                &InitParams::new(mod_config.as_deref(), slot.state.as_deref()),
            );
            // A new instance (a restart or a reload) holds none of the old one's watches.
            crate::bevy::watch::Watches::end_all(world, entity);
            slot.instance = Some(instance);
            for waiting in std::mem::take(&mut slot.waiting) {
                slot.send_call(
                    world,
                    entity,
                    waiting.caller,
                    &waiting.params,
                    waiting.expiry,
                );
            }
            // Events follow the new instance's manifest, once `plugin.init` answers (a
            // reloaded version may want other events, and should not get any first).
            slot.events.clear();
            slot.phase = Phase::Starting(init);
            started_any = true;
            slot.set_status(world, entity, ModStatus::Starting);
            self.publish(entity);
        }
    }
}

/// A mod's permissions: its entity's [`ModPermissions`], else its `.meta` file's, else the
/// plugin's default.
pub(super) fn permissions_of(
    world: &World,
    entity: Entity,
    asset: Option<&WasmModSettings>,
) -> ModPermissions {
    if let Some(permissions) = world.get::<ModPermissions>(entity) {
        return permissions.clone();
    }
    asset
        .and_then(|settings| settings.permissions.clone())
        .unwrap_or_else(|| with_settings(world, |s| s.default_permissions.clone()))
}

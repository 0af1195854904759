//! Hot reload: a mod whose `.wasm` changed is asked for its state (`plugin.shutdown`)
//! and restarted with it; a mod whose file failed to load starts once it loads.

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::lifecycle::SHUTDOWN_METHOD;

use super::ModDriver;
use super::lifecycle::Phase;
use crate::bevy::asset::WasmModAsset;
use crate::bevy::mods::ModStatus;

impl ModDriver {
    /// Restarts mods whose `.wasm` changed, handing their state over, and starts mods
    /// whose file failed to load and now loads (`Added`: it had no value before).
    pub(super) fn hot_reload(&mut self, world: &mut World) {
        let Some(messages) = world.get_resource::<Messages<AssetEvent<WasmModAsset>>>() else {
            return;
        };
        let (mut modified, mut added) = (Vec::new(), Vec::new());
        for event in self.asset_events.read(messages) {
            match event {
                AssetEvent::Modified { id } => modified.push(*id),
                AssetEvent::Added { id } => added.push(*id),
                _ => {}
            }
        }
        if modified.is_empty() && added.is_empty() {
            return;
        }
        for (&entity, slot) in &mut self.slots {
            let fixed = added.contains(&slot.asset) && matches!(slot.phase, Phase::Down);
            if !fixed && !modified.contains(&slot.asset) {
                continue;
            }
            info!("mod `{}` changed on disk: restarting it", slot.name);
            match (&mut slot.instance, &slot.phase) {
                (Some(instance), Phase::Ready) => {
                    let handle = instance.call(SHUTDOWN_METHOD, &());
                    slot.phase = Phase::Reloading(handle, 0);
                }
                _ => {
                    slot.instance = None;
                    slot.phase = Phase::Loading;
                    slot.retry_at = None;
                    slot.restarts += 1;
                    slot.set_status(world, entity, ModStatus::Loading);
                }
            }
        }
    }
}

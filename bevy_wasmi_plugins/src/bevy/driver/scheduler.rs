//! The round-robin: every mod with work runs with its fuel slice, starting each frame
//! where the last one ran out of wall time, so every mod gets its turn; idle mods are
//! skipped at the cost of one check. Fuel used is counted into [`ModFuel`].

use crate::bevy::bevy_prelude::*;
use bevy_platform::time::Instant;

use super::ModDriver;
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mods::ModFuel;
use crate::bevy::settings::with_settings;
use crate::runtime::RunStatus;

impl ModDriver {
    /// Runs every mod with work, round-robin from where the last frame stopped, until
    /// the frame's wall-time budget is spent.
    pub(super) fn run(&mut self, world: &mut World, methods: &HostMethods) {
        let count = self.order.len();
        if count == 0 {
            return;
        }
        for (&entity, slot) in &mut self.slots {
            if slot.fuel_frame != 0 {
                slot.fuel_frame = 0;
                if let Some(mut fuel) = world.get_mut::<ModFuel>(entity) {
                    fuel.last_frame = 0;
                }
            }
        }
        let frame_budget = with_settings(world, |s| s.frame_budget);
        let started = Instant::now();
        let first = self.next % count;
        let mut ran_any = false;
        for k in 0..count {
            let index = (first + k) % count;
            let entity = self.order[index];
            let Some(slot) = self.slots.get_mut(&entity) else {
                continue;
            };
            let Some(fuel_before) = slot
                .instance
                .as_ref()
                .filter(|instance| instance.is_runnable())
                .map(|instance| instance.total_fuel())
            else {
                // A mod that waits, idle, instead of answering `plugin.shutdown` for a
                // reload still uses up the frames it has to answer.
                if slot.is_reloading() && slot.instance.is_some() {
                    slot.after_run(world, entity, Ok(RunStatus::Idle));
                }
                continue;
            };
            if ran_any && started.elapsed() >= frame_budget {
                // Out of time: this mod goes first next frame.
                self.next = index;
                return;
            }
            ran_any = true;
            let deadline = started.checked_add(frame_budget);
            let Some(result) = slot.run_slice(world, methods, entity, deadline) else {
                continue;
            };
            let fuel_after = slot
                .instance
                .as_ref()
                .map_or(fuel_before, |i| i.total_fuel());
            let used = fuel_after - fuel_before;
            slot.fuel_frame = used;
            if let Some(mut fuel) = world.get_mut::<ModFuel>(entity) {
                fuel.last_frame = used;
                fuel.total = fuel.total.saturating_add(used);
            }
            slot.after_run(world, entity, result);
        }
        self.next = (first + 1) % count;
    }
}

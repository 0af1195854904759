//! Deadlines in frames of game → mod calls: a call the mod has not answered within its
//! deadline ([`CallDeadline`](crate::bevy::calls::CallDeadline), the mod's `.meta`, or
//! the plugin's setting) fails with `-32007`, waiting or in flight, and the mod carries
//! on. (The fuel deadline is the runtime's, `Limits::max_fuel_per_call`.)

use crate::bevy::bevy_prelude::*;

use super::ModDriver;

impl ModDriver {
    /// Ends this frame for the deadlines: fails the calls that reached theirs.
    pub(super) fn expire_calls(&mut self, world: &mut World) {
        let frame = self.frame;
        self.frame = frame.saturating_add(1);
        for (&entity, slot) in &mut self.slots {
            slot.expire_calls(world, entity, frame);
        }
    }
}

//! Once a frame, after the mods ran: each live mod's watch notifications
//! (`watch.changed`) go to its stdin; the watches of a mod without an instance (stopped,
//! crashed, reloading, despawned) end.

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::ResponseError;
use bevy_wasmi_plugins_protocol::brp::{WATCH_CHANGED_NOTIFICATION, WatchNotification};

use super::ModDriver;
use crate::bevy::watch::Watches;

impl ModDriver {
    pub(super) fn deliver_watches(&mut self, world: &mut World) {
        let Some(watching) = world
            .get_resource::<Watches>()
            .map(|w| w.by_mod.keys().copied().collect::<Vec<_>>())
        else {
            return;
        };
        for entity in watching {
            let live = self
                .slots
                .get(&entity)
                .is_some_and(|slot| slot.instance.is_some());
            if !live {
                Watches::end_all(world, entity);
                continue;
            }
            let notes = Watches::changes(world, entity);
            let Some(slot) = self.slots.get_mut(&entity) else {
                continue;
            };
            let Some(instance) = slot.instance.as_mut() else {
                continue;
            };
            // A notification the mod cannot take (over its message cap, or its input
            // is full) ends its watch: its changes are lost, and the mod would not
            // learn of the next ones either. The mod is told with a last, short
            // notification carrying the error, when that one fits.
            let mut undelivered = Vec::new();
            for note in notes {
                if let Err(error) = instance.notify(WATCH_CHANGED_NOTIFICATION, &note) {
                    let id = note.watch;
                    let last = WatchNotification::<()> {
                        watch: id,
                        result: None,
                        error: Some(ResponseError {
                            message: format!("{}: the watch {id} ended", error.message),
                            ..error.clone()
                        }),
                        dropped: 0,
                    };
                    let told = instance.notify(WATCH_CHANGED_NOTIFICATION, &last).is_ok();
                    warn!(
                        "watch {id} of mod `{}` ended: its notification was not delivered \
                         ({error}); the mod was {}told",
                        slot.name,
                        if told { "" } else { "not " }
                    );
                    undelivered.push(id);
                }
            }
            for id in undelivered {
                // (A watch whose last notification this was has ended already.)
                Watches::end(world, entity, id);
            }
        }
    }
}

//! Delivery of what the game sent through [`ModRpc`](crate::bevy::rpc::ModRpc): a call
//! goes to its mod's instance (or waits for the mod to start, or fails at once if the
//! mod is down or gone), notifications and subscribed events are queued on the mods'
//! stdin.

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};

use super::ModDriver;
use super::lifecycle::{InFlight, Phase, Waiting};
use crate::bevy::mailbox::{Outbound, report};

impl ModDriver {
    /// Hands the game's calls, notifications and events to the mods.
    pub(super) fn deliver(&mut self, world: &mut World) {
        while let Ok(outbound) = self.inbox.try_recv() {
            match outbound {
                Outbound::Call {
                    caller,
                    target,
                    params,
                } => {
                    let Some(entity) = self.resolve(&target) else {
                        let error = ResponseError::new(
                            ErrorCode::ModUnavailable,
                            format!("{target} is not loaded"),
                        );
                        caller.answer(world, None, Err(error));
                        continue;
                    };
                    let Some(slot) = self.slots.get_mut(&entity) else {
                        continue;
                    };
                    match (&mut slot.instance, &slot.phase) {
                        (_, Phase::Down) => {
                            let error = slot.down_error();
                            caller.answer(world, Some(entity), Err(error));
                        }
                        (Some(instance), _) => {
                            let handle = instance.call(&caller.method, &params);
                            // Refused before it was sent (too large, input queue full):
                            // answered now, as the mod may not run again soon.
                            if let Some(outcome) = handle.try_result() {
                                caller.answer(world, Some(entity), outcome);
                                continue;
                            }
                            slot.in_flight.push(InFlight { caller, handle });
                        }
                        (None, _) => slot.waiting.push(Waiting { caller, params }),
                    }
                }
                Outbound::Failed {
                    id,
                    target,
                    method,
                    error,
                } => {
                    // The caller has its error already; the message is still owed.
                    report(world, id, self.resolve(&target), method, Err(error));
                }
                Outbound::Notify {
                    target,
                    method,
                    params,
                } => {
                    let instance = self
                        .resolve(&target)
                        .and_then(|entity| self.slots.get_mut(&entity))
                        .and_then(|slot| slot.instance.as_mut());
                    if let Some(instance) = instance
                        && let Err(error) = instance.notify(&method, &params)
                    {
                        warn!("notification `{method}` to {target} not delivered: {error}");
                    }
                }
                Outbound::Broadcast { event, params } => {
                    for slot in self.slots.values_mut() {
                        if !slot.events.contains(&event) {
                            continue;
                        }
                        if let Some(instance) = &mut slot.instance
                            && let Err(error) = instance.notify(&event, &params)
                        {
                            warn!(
                                "event `{event}` to mod `{}` not delivered: {error}",
                                slot.name
                            );
                        }
                    }
                }
            }
        }
    }
}

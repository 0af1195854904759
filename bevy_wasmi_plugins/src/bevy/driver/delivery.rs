//! Delivery of what the game sent through [`ModRpc`](crate::bevy::rpc::ModRpc): a call
//! goes to its mod's instance (or waits for the mod to start, or fails at once if the
//! mod is down or gone), notifications and subscribed events are queued on the mods'
//! stdin.

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};

use super::ModDriver;
use super::lifecycle::{Expiry, Phase};
use crate::bevy::mailbox::{Outbound, report};
use crate::bevy::mods::WasmMod;
use crate::bevy::settings::with_settings;

impl ModDriver {
    /// Hands the game's calls, notifications and events to the mods.
    pub(super) fn deliver(&mut self, world: &mut World) {
        while let Ok(outbound) = self.inbox.try_recv() {
            match outbound {
                Outbound::Call {
                    mut caller,
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
                    let default_frames = with_settings(world, |s| s.call_deadline_frames);
                    let Some(slot) = self.slots.get_mut(&entity) else {
                        continue;
                    };
                    if matches!(slot.phase, Phase::Down) {
                        let error = slot.down_error(world, entity);
                        caller.answer(world, Some(entity), Err(error));
                        continue;
                    }
                    // The call's own deadline, else its mod's (the entity's, then the
                    // `.meta` file's), else the plugin's.
                    if let Some(own) = world.get::<WasmMod>(entity).map(|m| m.call_deadline) {
                        caller.deadline.frames = caller.deadline.frames.or(own.frames);
                        caller.deadline.fuel = caller.deadline.fuel.or(own.fuel);
                    }
                    let frames = caller
                        .deadline
                        .frames
                        .or(slot.call_deadline_frames)
                        .unwrap_or(default_frames);
                    // `frames` runs of the driver, this one included (at least one).
                    let expiry = Expiry {
                        frame: self.frame + u64::from(frames.max(1)) - 1,
                        frames,
                    };
                    slot.send_call(world, entity, caller, &params, expiry);
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

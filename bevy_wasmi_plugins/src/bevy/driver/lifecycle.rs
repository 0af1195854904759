//! One mod's life: its [`Slot`] (instance, calls, status) and the state machine that
//! moves it through [`Phase`]s, keeping the [`ModStatus`] component, the directory and
//! the [`ModStatusChanged`] messages in step.
//!
//! ```text
//! Loading ──asset loaded──> Starting ──plugin.init answered──> Ready
//!    ^                         │                                 │
//!    │                         └──error / exit──> Down <─────────┤ error / exit
//!    ├──restart policy / fixed file────────────────┘             │
//!    └──plugin.shutdown answered (or timed out)── Reloading <────┘ .wasm changed
//! ```

use std::sync::Arc;

use bevy_ecs::entity::EntityHashMap;

use crate::bevy::bevy_prelude::*;
use bevy_platform::time::Instant;
use bevy_wasmi_plugins_protocol::lifecycle::{Manifest, SHUTDOWN_METHOD, ShutdownResult};
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde_json::value::RawValue;

use crate::bevy::asset::WasmModAsset;
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mailbox::{Caller, Directory};
use crate::bevy::mods::{ModFuel, ModInfo, ModStatus, ModStatusChanged};
use crate::bevy::permissions::ModPermissions;
use crate::bevy::settings::with_settings;
use crate::runtime::{CallHandle, ModError, ModErrorKind, ModInstance, RunStatus};

/// Frames a mod gets to answer `plugin.shutdown` before a reload goes on without its
/// state.
const SHUTDOWN_FRAMES: u32 = 120;

/// A game → mod call delivered to the mod and not answered yet.
pub(super) struct InFlight {
    pub(super) caller: Caller,
    pub(super) handle: CallHandle,
    pub(super) expiry: Expiry,
}

/// A game → mod call waiting for the mod to start.
pub(super) struct Waiting {
    pub(super) caller: Caller,
    pub(super) params: Box<RawValue>,
    pub(super) expiry: Expiry,
}

/// When a game → mod call fails unanswered: in the driver's frame `frame`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Expiry {
    pub(super) frame: u64,
    /// Its deadline in frames, for the error message.
    pub(super) frames: u32,
}

impl Expiry {
    /// The error of a call to `name` that reached this expiry.
    pub(super) fn error(self, name: &str, method: &str) -> ResponseError {
        ResponseError::new(
            ErrorCode::DeadlineExceeded,
            format!(
                "mod `{name}` did not answer `{method}` within its deadline of {} frames",
                self.frames
            ),
        )
    }
}

/// Where a mod is, as the driver sees it (the game sees [`ModStatus`]).
pub(super) enum Phase {
    /// Waiting for the asset (or for a restart's backoff to pass).
    Loading,
    /// `plugin.init` sent.
    Starting(CallHandle),
    /// Answering calls.
    Ready,
    /// `plugin.shutdown` sent for a hot reload; restart when it answers.
    Reloading(CallHandle, u32),
    /// Crashed or exited; stays down unless the restart policy brings it back.
    Down,
}

/// One mod entity, as the driver keeps it.
pub(super) struct Slot {
    pub(super) name: Arc<str>,
    pub(super) asset: AssetId<WasmModAsset>,
    pub(super) instance: Option<ModInstance>,
    pub(super) phase: Phase,
    pub(super) in_flight: Vec<InFlight>,
    pub(super) waiting: Vec<Waiting>,
    pub(super) events: Vec<String>,
    pub(super) permissions: ModPermissions,
    pub(super) fuel_per_frame: u64,
    pub(super) state: Option<Box<RawValue>>,
    pub(super) restarts: u32,
    pub(super) crashes: u32,
    pub(super) retry_at: Option<Instant>,
    pub(super) fuel_frame: u64,
    /// Its `.meta` file's deadline in frames for game → mod calls, if it sets one.
    pub(super) call_deadline_frames: Option<u32>,
    /// Where its status is published for [`ModRpc`](crate::bevy::rpc::ModRpc).
    pub(super) directory: Directory,
}

impl Slot {
    /// A mod found on `asset`, loading.
    pub(super) fn new(
        name: Arc<str>,
        asset: AssetId<WasmModAsset>,
        permissions: ModPermissions,
        fuel_per_frame: u64,
        directory: Directory,
    ) -> Self {
        Slot {
            name,
            asset,
            instance: None,
            phase: Phase::Loading,
            in_flight: Vec::new(),
            waiting: Vec::new(),
            events: Vec::new(),
            permissions,
            fuel_per_frame,
            state: None,
            restarts: 0,
            crashes: 0,
            retry_at: None,
            fuel_frame: 0,
            call_deadline_frames: None,
            directory,
        }
    }

    /// Sends a running mod `plugin.shutdown` and gives it one fuel slice and one frame's
    /// wall-time budget to answer, before it is dropped (what it sends is served as in
    /// a frame: a mod cannot hold the game by writing much before it ends).
    pub(super) fn shut_down(&mut self, world: &mut World, methods: &HostMethods, entity: Entity) {
        let (Some(instance), Phase::Ready) = (&mut self.instance, &self.phase) else {
            return;
        };
        let shutdown = instance.call(SHUTDOWN_METHOD, &());
        // No deadline where the budget is past any instant (`Duration::MAX`: no limit).
        let deadline = Instant::now().checked_add(with_settings(world, |s| s.frame_budget));
        let _ = self.run_slice(world, methods, entity, deadline);
        match shutdown.try_result() {
            Some(Ok(_)) => {}
            Some(Err(error)) => warn!("mod `{}` failed to shut down: {error}", self.name),
            None => warn!(
                "mod `{}` did not answer plugin.shutdown within one fuel slice; \
                 unloaded anyway",
                self.name
            ),
        }
    }

    /// The error a call to this mod gets while it is down: its crash or exit, as its
    /// [`ModStatus`] component (the one place the status is kept) says.
    pub(super) fn down_error(&self, world: &World, entity: Entity) -> ResponseError {
        world
            .get::<ModStatus>(entity)
            .and_then(|status| status.refusal(&self.name))
            .unwrap_or_else(|| self.not_running())
    }

    fn not_running(&self) -> ResponseError {
        ResponseError::new(
            ErrorCode::ModUnavailable,
            format!("mod `{}` is not running", self.name),
        )
    }

    /// Updates the status component, the directory and the message, if the kind changed.
    pub(super) fn set_status(&mut self, world: &mut World, entity: Entity, status: ModStatus) {
        if world
            .get::<ModStatus>(entity)
            .is_some_and(|current| current.same_kind(&status))
        {
            return;
        }
        self.directory
            .set_refusal(entity, status.refusal(&self.name));
        let changed = ModStatusChanged {
            entity,
            name: self.name.clone(),
            status,
        };
        // A host method may have despawned the mod's entity meanwhile.
        if let Ok(mut entity_mut) = world.get_entity_mut(entity) {
            entity_mut.insert(changed.status.clone());
            world.trigger(changed.clone());
        }
        world.write_message(changed);
    }

    /// Sends a game → mod call to the running instance (with the call's own fuel
    /// deadline, if it has one) and keeps it in flight; one refused before it was sent
    /// (too large, input queue full) is answered now, as the mod may not run again soon.
    pub(super) fn send_call(
        &mut self,
        world: &mut World,
        entity: Entity,
        caller: Caller,
        params: &RawValue,
        expiry: Expiry,
    ) {
        let Some(instance) = &mut self.instance else {
            self.waiting.push(Waiting {
                caller,
                params: params.to_owned(),
                expiry,
            });
            return;
        };
        let handle = match caller.deadline.fuel {
            Some(fuel) => instance.call_with_deadline(&caller.method, params, fuel),
            None => instance.call(&caller.method, params),
        };
        if let Some(outcome) = handle.try_result() {
            caller.answer(world, Some(entity), outcome);
            return;
        }
        self.in_flight.push(InFlight {
            caller,
            handle,
            expiry,
        });
    }

    /// Fails the calls that reached their expiry by `frame` with `-32007`; the mod is
    /// told nothing and carries on, and its late answers are dropped.
    pub(super) fn expire_calls(&mut self, world: &mut World, entity: Entity, frame: u64) {
        // Most mods have no call of the game's in flight: nothing to look at.
        if self.in_flight.is_empty() && self.waiting.is_empty() {
            return;
        }
        let mut expired = Vec::new();
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].expiry.frame <= frame {
                let call = self.in_flight.swap_remove(i);
                let error = call.expiry.error(&self.name, &call.caller.method);
                if let Some(instance) = &mut self.instance {
                    instance.cancel_call(call.handle.id(), error.clone());
                }
                expired.push((call.caller, error));
            } else {
                i += 1;
            }
        }
        let mut i = 0;
        while i < self.waiting.len() {
            if self.waiting[i].expiry.frame <= frame {
                let call = self.waiting.swap_remove(i);
                let error = call.expiry.error(&self.name, &call.caller.method);
                expired.push((call.caller, error));
            } else {
                i += 1;
            }
        }
        for (caller, error) in expired {
            caller.answer(world, Some(entity), Err(error));
        }
    }

    /// Fails every call waiting for this mod.
    pub(super) fn fail_calls(&mut self, world: &mut World, entity: Entity, error: &ResponseError) {
        let waiting = self.waiting.drain(..).map(|w| w.caller);
        let in_flight = self.in_flight.drain(..).map(|c| c.caller);
        for caller in waiting.chain(in_flight).collect::<Vec<_>>() {
            caller.answer(world, Some(entity), Err(error.clone()));
        }
    }

    /// The mod stopped (crashed, failed to load, or exited) with `status`: drop its
    /// instance and fail its calls with the error that status means.
    pub(super) fn go_down(&mut self, world: &mut World, entity: Entity, status: ModStatus) {
        self.instance = None;
        self.phase = Phase::Down;
        let error = status
            .refusal(&self.name)
            .unwrap_or_else(|| self.not_running());
        self.fail_calls(world, entity, &error);
        self.set_status(world, entity, status);
    }

    /// The mod stopped with `error`: fail its calls, and schedule a restart if the
    /// policy says so.
    pub(super) fn crashed(&mut self, world: &mut World, entity: Entity, error: ModError) {
        self.crashes += 1;
        self.go_down(world, entity, ModStatus::Crashed(error));
        if let Some(delay) = with_settings(world, |s| s.restart_policy.delay(self.crashes)) {
            self.retry_at = Some(Instant::now() + delay);
        }
    }

    /// Drops the old instance for a hot reload: its calls fail, and the new version
    /// starts next with `state`.
    pub(super) fn reload(
        &mut self,
        world: &mut World,
        entity: Entity,
        state: Option<Box<RawValue>>,
    ) {
        let error = ResponseError::new(
            ErrorCode::ModUnavailable,
            format!("mod `{}` was reloaded before it answered", self.name),
        );
        self.fail_calls(world, entity, &error);
        self.state = state;
        self.instance = None;
        self.phase = Phase::Loading;
        self.restarts += 1;
        self.set_status(world, entity, ModStatus::Loading);
    }

    /// Whether the mod is shutting down for a hot reload.
    pub(super) fn is_reloading(&self) -> bool {
        matches!(self.phase, Phase::Reloading(..))
    }

    /// Completes calls and lifecycle steps after a run, and updates the status.
    pub(super) fn after_run(
        &mut self,
        world: &mut World,
        entity: Entity,
        result: Result<RunStatus, ModError>,
    ) {
        if let Phase::Reloading(shutdown, _) = &self.phase {
            // It stopped on its way out (say it exits in `plugin.shutdown`): the new
            // version still starts, with the state it handed over if it answered first.
            let stopped = match &result {
                Err(error) => {
                    warn!("{error} (while shutting down for a reload)");
                    true
                }
                Ok(RunStatus::Exited(code)) => {
                    info!(
                        "mod `{}` exited with code {code} while shutting down for a reload",
                        self.name
                    );
                    true
                }
                Ok(_) => false,
            };
            if stopped {
                let state = match shutdown.try_result() {
                    Some(Ok(result)) => ShutdownResult::state_of(&result),
                    _ => None,
                };
                self.reload(world, entity, state);
                return;
            }
        }
        let status = match result {
            Err(error) => {
                error!("{error}");
                self.crashed(world, entity, error);
                return;
            }
            Ok(RunStatus::Exited(code)) => {
                warn!("mod `{}` exited with code {code}", self.name);
                self.go_down(world, entity, ModStatus::Exited(code));
                return;
            }
            Ok(RunStatus::Yielded) => ModStatus::Running,
            Ok(RunStatus::Idle | RunStatus::Sleeping { .. }) => ModStatus::Idle,
        };
        let mut i = 0;
        while i < self.in_flight.len() {
            if let Some(outcome) = self.in_flight[i].handle.try_result() {
                let call = self.in_flight.swap_remove(i);
                call.caller.answer(world, Some(entity), outcome);
            } else {
                i += 1;
            }
        }
        match std::mem::replace(&mut self.phase, Phase::Ready) {
            Phase::Starting(init) => match init.try_result() {
                None => {
                    self.phase = Phase::Starting(init);
                    return;
                }
                Some(Ok(manifest)) => self.started(world, entity, manifest.get()),
                Some(Err(error)) => {
                    let error = ModErrorKind::InitFailed {
                        message: error.to_string(),
                    }
                    .named(self.name.clone());
                    error!("{error}");
                    self.crashed(world, entity, error);
                    return;
                }
            },
            Phase::Reloading(shutdown, frames) => match shutdown.try_result() {
                None if frames < SHUTDOWN_FRAMES => {
                    self.phase = Phase::Reloading(shutdown, frames + 1);
                    return;
                }
                outcome => {
                    let state = match outcome {
                        Some(Ok(result)) => ShutdownResult::state_of(&result),
                        Some(Err(error)) => {
                            warn!("mod `{}` failed to shut down: {error}", self.name);
                            None
                        }
                        None => {
                            warn!(
                                "mod `{}` did not answer plugin.shutdown in {SHUTDOWN_FRAMES} \
                                 frames; reloading it without its state",
                                self.name
                            );
                            None
                        }
                    };
                    self.reload(world, entity, state);
                    return;
                }
            },
            other => self.phase = other,
        }
        self.set_status(world, entity, status);
    }

    /// `plugin.init` answered with `manifest`: the mod is ready; its [`ModInfo`] says
    /// what it serves and wants, and its [`ModFuel`] counts from here.
    fn started(&mut self, world: &mut World, entity: Entity, manifest: &str) {
        let manifest = Manifest::read(manifest).unwrap_or_else(|problem| {
            warn!(
                "mod `{}`: its manifest (the answer to plugin.init) was ignored, \
                 so it gets no events: {problem}",
                self.name
            );
            Manifest::default()
        });
        self.events = manifest.events.clone();
        self.state = None;
        let info = ModInfo {
            name: self.name.clone(),
            version: manifest.version,
            methods: manifest.methods,
            events: manifest.events,
            restarts: self.restarts,
        };
        let fuel = ModFuel {
            last_frame: self.fuel_frame,
            total: self.instance.as_ref().map_or(0, ModInstance::total_fuel),
        };
        // A host method may have despawned the mod's entity meanwhile.
        if let Ok(mut entity_mut) = world.get_entity_mut(entity) {
            entity_mut.insert((info, fuel));
        }
        self.crashes = 0;
        info!("mod `{}` started", self.name);
    }
}

/// `base`, or the first of `base#2`, `base#3`… that no mod but `entity` has: two mods of
/// one file (or of two modules of one name) get distinct names in logs, messages and
/// calls by name.
pub(super) fn unique_name(slots: &EntityHashMap<Slot>, entity: Entity, base: &str) -> Arc<str> {
    let taken: std::collections::HashSet<&str> = slots
        .iter()
        .filter(|(other, _)| **other != entity)
        .map(|(_, slot)| &*slot.name)
        .collect();
    if !taken.contains(base) {
        return base.into();
    }
    (2..)
        .map(|n| format!("{base}#{n}"))
        .find(|candidate| !taken.contains(candidate.as_str()))
        .unwrap_or_else(|| base.to_owned())
        .into()
}

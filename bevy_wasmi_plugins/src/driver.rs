//! The driver: one exclusive system that, every frame, starts mods whose assets loaded,
//! restarts changed ones (hot reload), delivers the game's calls, notifications and
//! events, and runs every mod that has work with its fuel slice, serving its host calls
//! against the `World` right away, round-robin under the frame's wall-time budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bevy::asset::LoadState;
use bevy::ecs::message::MessageCursor;
use bevy::platform::time::Instant;
use bevy::prelude::*;
use bevy_wasmi_plugins_protocol::{
    ErrorCode, HOST_API_VERSION, Notification, Outcome, Request, ResponseError,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::asset::{WasmModAsset, mod_name};
use crate::calls::{ModCallId, ModCallResult, ModNotification, ModRpc, ModTarget, Outbound};
use crate::ecs_methods;
use crate::host_methods::{CallingMod, HostMethods};
use crate::mods::{ModInfo, ModStatus, ModStatusChanged, WasmMod};
use crate::permissions::{ModPermissions, denied};
use crate::plugin::WasmiPluginsSettings;
use crate::runtime::reply::ReplySender;
use crate::runtime::{CallHandle, ModConfig, ModError, ModHost, ModInstance, RunStatus, Runtime};

/// Frames a mod gets to answer `plugin.shutdown` before a reload goes on without its
/// state.
const SHUTDOWN_FRAMES: u32 = 120;

/// Marks entities the driver has seen.
#[derive(Component)]
pub(crate) struct Tracked;

/// A game → mod call delivered to the mod and not answered yet.
struct InFlight {
    id: ModCallId,
    method: String,
    handle: CallHandle,
    reply: ReplySender,
}

/// A game → mod call waiting for the mod to start.
struct Waiting {
    id: ModCallId,
    method: String,
    params: Box<RawValue>,
    reply: ReplySender,
}

enum Phase {
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

struct Slot {
    name: Arc<str>,
    asset: AssetId<WasmModAsset>,
    instance: Option<ModInstance>,
    phase: Phase,
    status: ModStatus,
    in_flight: Vec<InFlight>,
    waiting: Vec<Waiting>,
    events: Vec<String>,
    permissions: ModPermissions,
    fuel_per_frame: u64,
    state: Option<Box<RawValue>>,
    restarts: u32,
    crashes: u32,
    retry_at: Option<Instant>,
    fuel_frame: u64,
}

/// The driver's state: one slot per mod entity.
#[derive(Resource)]
pub(crate) struct ModDriver {
    slots: HashMap<Entity, Slot>,
    order: Vec<Entity>,
    next: usize,
    inbox: async_channel::Receiver<Outbound>,
    asset_events: MessageCursor<AssetEvent<WasmModAsset>>,
    /// Mod entities not tracked yet (kept: building a query state each frame costs).
    untracked: Option<QueryState<(Entity, &'static WasmMod), Without<Tracked>>>,
    runtime: Runtime,
}

impl ModDriver {
    pub(crate) fn new(runtime: Runtime, inbox: async_channel::Receiver<Outbound>) -> Self {
        ModDriver {
            slots: HashMap::new(),
            order: Vec::new(),
            next: 0,
            inbox,
            asset_events: MessageCursor::default(),
            untracked: None,
            runtime,
        }
    }
}

/// The manifest a PDK mod answers `plugin.init` with.
#[derive(Default)]
struct Manifest {
    version: Option<String>,
    methods: Vec<String>,
    events: Vec<String>,
}

/// Reads a manifest; a member of the wrong type makes the whole manifest unusable (as the
/// protocol document says), and the error names that member. Other members are ignored.
fn read_manifest(json: &str) -> Result<Manifest, String> {
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
        .map_err(|_| format!("it is not an object but {}", shorten(json)))?;
    fn member<T: serde::de::DeserializeOwned + Default>(
        members: &serde_json::Map<String, serde_json::Value>,
        name: &str,
        what: &str,
    ) -> Result<T, String> {
        match members.get(name) {
            None | Some(serde_json::Value::Null) => Ok(T::default()),
            Some(value) => T::deserialize(value).map_err(|_| {
                format!(
                    "`{name}` must be {what}, not {}",
                    shorten(&value.to_string())
                )
            }),
        }
    }
    Ok(Manifest {
        version: member(&members, "version", "a string")?,
        methods: member(&members, "methods", "an array of strings")?,
        events: member(&members, "events", "an array of strings")?,
    })
}

/// At most 60 characters of `text`, for log lines.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

#[derive(Serialize)]
struct InitParams<'a> {
    api_version: u32,
    config: Option<&'a RawValue>,
    state: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ShutdownResult {
    #[serde(default)]
    state: Option<Box<RawValue>>,
}

/// The exclusive system in [`WasmiPluginsSystems::Drive`](crate::WasmiPluginsSystems::Drive).
pub(crate) fn drive_mods(world: &mut World) {
    let Some(mut driver) = world.remove_resource::<ModDriver>() else {
        return;
    };
    let host_methods = world.remove_resource::<HostMethods>().unwrap_or_default();
    let settings = world
        .get_resource::<WasmiPluginsSettings>()
        .cloned()
        .unwrap_or_default();
    driver.track_entities(world, &host_methods, &settings);
    driver.hot_reload(world);
    driver.start(world, &settings);
    driver.deliver(world);
    driver.run(world, &host_methods, &settings);
    world.insert_resource(host_methods);
    world.insert_resource(driver);
}

impl ModDriver {
    /// Adds slots for new mod entities and drops those whose entity is gone.
    fn track_entities(
        &mut self,
        world: &mut World,
        methods: &HostMethods,
        settings: &WasmiPluginsSettings,
    ) {
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
            self.order.push(entity);
            self.slots.insert(
                entity,
                Slot {
                    name,
                    asset: handle.id(),
                    instance: None,
                    phase: Phase::Loading,
                    status: ModStatus::Loading,
                    in_flight: Vec::new(),
                    waiting: Vec::new(),
                    events: Vec::new(),
                    permissions: settings.default_permissions.clone(),
                    fuel_per_frame: settings.fuel_per_frame,
                    state: None,
                    restarts: 0,
                    crashes: 0,
                    retry_at: None,
                    fuel_frame: 0,
                },
            );
            self.publish(world, entity);
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
            if let Some(rpc) = world.get_resource::<ModRpc>() {
                let mut directory = rpc.directory_mut();
                if let Some((name, _)) = directory.by_entity.remove(&entity)
                    && directory.by_name.get(&name) == Some(&entity)
                {
                    // The name now means the next mod of that name, if there is one.
                    match self.resolve(&ModTarget::Name(name.to_string())) {
                        Some(next) => directory.by_name.insert(name, next),
                        None => directory.by_name.remove(&name),
                    };
                }
            }
        }
    }

    /// Restarts mods whose `.wasm` changed, handing their state over, and starts mods
    /// whose file failed to load and now loads (`Added`: it had no value before).
    fn hot_reload(&mut self, world: &mut World) {
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
                    let handle = instance.call("plugin.shutdown", &());
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

    /// Instantiates mods whose asset is ready; marks failed loads.
    fn start(&mut self, world: &mut World, settings: &WasmiPluginsSettings) {
        let now = Instant::now();
        for &entity in &self.order {
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
                    let error = ModError::LoadFailed {
                        name: slot.name.clone(),
                        message,
                    };
                    error!("{error}");
                    slot.phase = Phase::Down;
                    slot.fail_calls(world, entity, &error.to_response_error());
                    slot.set_status(world, entity, ModStatus::Crashed(error));
                }
                continue;
            };
            slot.name = asset.module().name().into();
            let asset_settings = asset.settings();
            let mut limits = settings.limits.clone();
            if let Some(memory) = asset_settings.max_memory {
                limits.max_memory = memory;
            }
            if let Some(fuel) = asset_settings.max_fuel_per_activation {
                limits.max_fuel_per_activation = fuel;
            }
            slot.fuel_per_frame = asset_settings
                .fuel_per_frame
                .unwrap_or(settings.fuel_per_frame);
            slot.permissions = world
                .get::<ModPermissions>(entity)
                .cloned()
                .or_else(|| asset_settings.permissions.clone())
                .unwrap_or_else(|| settings.default_permissions.clone());
            let config = ModConfig::default().with_limits(limits);
            let mut instance = match ModInstance::new(&self.runtime, asset.module(), &config) {
                Ok(instance) => instance,
                Err(error) => {
                    error!("{error}");
                    slot.crashed(world, entity, error, settings);
                    continue;
                }
            };
            let mod_config = world.get::<WasmMod>(entity).and_then(|m| m.config.clone());
            let init = instance.call(
                "plugin.init",
                &InitParams {
                    api_version: HOST_API_VERSION,
                    config: mod_config.as_deref(),
                    state: slot.state.as_deref(),
                },
            );
            for waiting in slot.waiting.drain(..) {
                let handle = instance.call(&waiting.method, &waiting.params);
                slot.in_flight.push(InFlight {
                    id: waiting.id,
                    method: waiting.method,
                    handle,
                    reply: waiting.reply,
                });
            }
            // Events follow the new instance's manifest, once `plugin.init` answers (a
            // reloaded version may want other events, and should not get any first).
            slot.events.clear();
            slot.instance = Some(instance);
            slot.phase = Phase::Starting(init);
            slot.set_status(world, entity, ModStatus::Starting);
            self.publish(world, entity);
        }
    }

    /// Hands the game's calls, notifications and events to the mods.
    fn deliver(&mut self, world: &mut World) {
        while let Ok(outbound) = self.inbox.try_recv() {
            match outbound {
                Outbound::Call {
                    id,
                    target,
                    method,
                    params,
                    reply,
                } => {
                    let Some(entity) = self.resolve(&target) else {
                        let error = ResponseError::new(
                            ErrorCode::ModUnavailable,
                            format!("{target} is not loaded"),
                        );
                        reply.send(Err(error.clone()));
                        world.write_message(ModCallResult {
                            call: id,
                            entity: None,
                            method,
                            result: Err(error),
                        });
                        continue;
                    };
                    let Some(slot) = self.slots.get_mut(&entity) else {
                        continue;
                    };
                    match (&mut slot.instance, &slot.phase) {
                        (_, Phase::Down) => {
                            let error = slot.down_error();
                            reply.send(Err(error.clone()));
                            world.write_message(ModCallResult {
                                call: id,
                                entity: Some(entity),
                                method,
                                result: Err(error),
                            });
                        }
                        (Some(instance), _) => {
                            let handle = instance.call(&method, &params);
                            // Refused before it was sent (too large, input queue full):
                            // answered now, as the mod may not run again soon.
                            if let Some(outcome) = handle.try_result() {
                                reply.send(outcome.clone());
                                world.write_message(ModCallResult {
                                    call: id,
                                    entity: Some(entity),
                                    method,
                                    result: outcome.map(Arc::from),
                                });
                                continue;
                            }
                            slot.in_flight.push(InFlight {
                                id,
                                method,
                                handle,
                                reply,
                            });
                        }
                        (None, _) => slot.waiting.push(Waiting {
                            id,
                            method,
                            params,
                            reply,
                        }),
                    }
                }
                Outbound::Failed {
                    id,
                    target,
                    method,
                    error,
                } => {
                    world.write_message(ModCallResult {
                        call: id,
                        entity: self.resolve(&target),
                        method,
                        result: Err(error),
                    });
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

    fn resolve(&self, target: &ModTarget) -> Option<Entity> {
        match target {
            ModTarget::Entity(entity) => self.slots.contains_key(entity).then_some(*entity),
            ModTarget::Name(name) => self
                .order
                .iter()
                .copied()
                .find(|entity| self.slots.get(entity).is_some_and(|s| *s.name == **name)),
        }
    }

    /// Runs every mod with work, round-robin from where the last frame stopped, until
    /// the frame's wall-time budget is spent.
    fn run(&mut self, world: &mut World, methods: &HostMethods, settings: &WasmiPluginsSettings) {
        let count = self.order.len();
        if count == 0 {
            return;
        }
        for (&entity, slot) in &mut self.slots {
            if slot.fuel_frame != 0 {
                slot.fuel_frame = 0;
                if let Some(mut info) = world.get_mut::<ModInfo>(entity) {
                    info.fuel_last_frame = 0;
                }
            }
        }
        let started = Instant::now();
        let first = self.next % count;
        let mut ran_any = false;
        for k in 0..count {
            let index = (first + k) % count;
            let entity = self.order[index];
            let Some(slot) = self.slots.get_mut(&entity) else {
                continue;
            };
            let Some(instance) = &mut slot.instance else {
                continue;
            };
            if !instance.is_runnable() {
                continue;
            }
            if ran_any && started.elapsed() >= settings.frame_budget {
                // Out of time: this mod goes first next frame.
                self.next = index;
                return;
            }
            ran_any = true;
            let mut host = WorldHost {
                world,
                methods,
                entity,
                name: &slot.name,
                permissions: &slot.permissions,
            };
            let fuel_before = instance.total_fuel();
            let result = instance.run(slot.fuel_per_frame, &mut host);
            let used = instance.total_fuel() - fuel_before;
            slot.fuel_frame = used;
            if let Some(mut info) = world.get_mut::<ModInfo>(entity) {
                info.fuel_last_frame = used;
                info.fuel_total = info.fuel_total.saturating_add(used);
            }
            slot.after_run(world, entity, result, settings);
        }
        self.next = (first + 1) % count;
    }

    /// Publishes a mod's name in the directory that lets calls fail at once.
    fn publish(&self, world: &World, entity: Entity) {
        let (Some(slot), Some(rpc)) = (self.slots.get(&entity), world.get_resource::<ModRpc>())
        else {
            return;
        };
        let mut directory = rpc.directory_mut();
        if let Some((old, _)) = directory
            .by_entity
            .insert(entity, (slot.name.clone(), None))
            && directory.by_name.get(&old) == Some(&entity)
        {
            directory.by_name.remove(&old);
        }
        // Two mods with one name: the name means the first (as in `resolve`).
        let first = self.resolve(&ModTarget::Name(slot.name.to_string()));
        directory
            .by_name
            .insert(slot.name.clone(), first.unwrap_or(entity));
    }
}

impl Slot {
    /// Sends a running mod `plugin.shutdown` and gives it one fuel slice to answer,
    /// before it is dropped.
    fn shut_down(&mut self, world: &mut World, methods: &HostMethods, entity: Entity) {
        let (Some(instance), Phase::Ready) = (&mut self.instance, &self.phase) else {
            return;
        };
        let shutdown = instance.call("plugin.shutdown", &());
        let mut host = WorldHost {
            world,
            methods,
            entity,
            name: &self.name,
            permissions: &self.permissions,
        };
        let _ = instance.run(self.fuel_per_frame, &mut host);
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

    fn down_error(&self) -> ResponseError {
        match &self.status {
            ModStatus::Crashed(error) => error.to_response_error(),
            ModStatus::Exited(code) => ModError::Exited {
                name: self.name.clone(),
                code: *code,
            }
            .to_response_error(),
            _ => ResponseError::new(
                ErrorCode::ModUnavailable,
                format!("mod `{}` is not running", self.name),
            ),
        }
    }

    /// Updates the status component, the directory and the message, if the kind changed.
    fn set_status(&mut self, world: &mut World, entity: Entity, status: ModStatus) {
        if self.status.same_kind(&status) {
            return;
        }
        self.status = status.clone();
        if let Some(rpc) = world.get_resource::<ModRpc>() {
            let refusal = (!status.is_alive()).then(|| self.down_error());
            let mut directory = rpc.directory_mut();
            if let Some(entry) = directory.by_entity.get_mut(&entity) {
                entry.1 = refusal;
            }
        }
        if let Ok(mut entity_mut) = world.get_entity_mut(entity) {
            entity_mut.insert(status.clone());
        }
        world.write_message(ModStatusChanged {
            entity,
            name: self.name.clone(),
            status,
        });
    }

    /// Fails every call waiting for this mod.
    fn fail_calls(&mut self, world: &mut World, entity: Entity, error: &ResponseError) {
        let waiting = self.waiting.drain(..).map(|w| (w.id, w.method, w.reply));
        let in_flight = self.in_flight.drain(..).map(|c| (c.id, c.method, c.reply));
        for (id, method, reply) in waiting.chain(in_flight).collect::<Vec<_>>() {
            reply.send(Err(error.clone()));
            world.write_message(ModCallResult {
                call: id,
                entity: Some(entity),
                method,
                result: Err(error.clone()),
            });
        }
    }

    /// The mod stopped with `error`: fail its calls, and schedule a restart if the
    /// policy says so.
    fn crashed(
        &mut self,
        world: &mut World,
        entity: Entity,
        error: ModError,
        settings: &WasmiPluginsSettings,
    ) {
        self.instance = None;
        self.phase = Phase::Down;
        self.crashes += 1;
        self.fail_calls(world, entity, &error.to_response_error());
        self.set_status(world, entity, ModStatus::Crashed(error));
        if let Some(delay) = settings.restart_policy.delay(self.crashes) {
            self.retry_at = Some(Instant::now() + delay);
        }
    }

    /// Drops the old instance for a hot reload: its calls fail, and the new version
    /// starts next with `state`.
    fn reload(&mut self, world: &mut World, entity: Entity, state: Option<Box<RawValue>>) {
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

    /// Completes calls and lifecycle steps after a run, and updates the status.
    fn after_run(
        &mut self,
        world: &mut World,
        entity: Entity,
        result: Result<RunStatus, ModError>,
        settings: &WasmiPluginsSettings,
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
                    Some(Ok(result)) => shutdown_state(&result),
                    _ => None,
                };
                self.reload(world, entity, state);
                return;
            }
        }
        let status = match result {
            Err(error) => {
                error!("{error}");
                self.crashed(world, entity, error, settings);
                return;
            }
            Ok(RunStatus::Exited(code)) => {
                warn!("mod `{}` exited with code {code}", self.name);
                self.instance = None;
                self.phase = Phase::Down;
                let error = ModError::Exited {
                    name: self.name.clone(),
                    code,
                }
                .to_response_error();
                self.fail_calls(world, entity, &error);
                self.set_status(world, entity, ModStatus::Exited(code));
                return;
            }
            Ok(RunStatus::Yielded) => ModStatus::Running,
            Ok(RunStatus::Idle | RunStatus::Sleeping { .. }) => ModStatus::Idle,
        };
        let mut i = 0;
        while i < self.in_flight.len() {
            if let Some(outcome) = self.in_flight[i].handle.try_result() {
                let call = self.in_flight.swap_remove(i);
                call.reply.send(outcome.clone());
                world.write_message(ModCallResult {
                    call: call.id,
                    entity: Some(entity),
                    method: call.method,
                    result: outcome.map(Arc::from),
                });
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
                Some(Ok(manifest)) => {
                    let manifest = read_manifest(manifest.get()).unwrap_or_else(|problem| {
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
                        fuel_last_frame: self.fuel_frame,
                        fuel_total: self.instance.as_ref().map_or(0, ModInstance::total_fuel),
                        restarts: self.restarts,
                    };
                    // A host method may have despawned the mod's entity meanwhile.
                    if let Ok(mut entity_mut) = world.get_entity_mut(entity) {
                        entity_mut.insert(info);
                    }
                    self.crashes = 0;
                    info!("mod `{}` started", self.name);
                }
                Some(Err(error)) => {
                    let error = ModError::InitFailed {
                        name: self.name.clone(),
                        message: error.to_string(),
                    };
                    error!("{error}");
                    self.crashed(world, entity, error, settings);
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
                        Some(Ok(result)) => shutdown_state(&result),
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
}

/// The state in a `plugin.shutdown` answer, if it has one.
fn shutdown_state(result: &RawValue) -> Option<Box<RawValue>> {
    serde_json::from_str::<ShutdownResult>(result.get())
        .ok()
        .and_then(|r| r.state)
}

/// Serves one mod's requests against the `World`.
struct WorldHost<'a> {
    world: &'a mut World,
    methods: &'a HostMethods,
    entity: Entity,
    name: &'a Arc<str>,
    permissions: &'a ModPermissions,
}

impl ModHost for WorldHost<'_> {
    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome {
        let method: &str = &request.method;
        if method.starts_with("world.") {
            return ecs_methods::serve(
                self.world,
                self.permissions,
                mod_name,
                method,
                request.params,
            )
            .unwrap_or_else(|| Err(ResponseError::method_not_found(method)));
        }
        if !self.methods.methods.contains_key(method) {
            return Err(ResponseError::method_not_found(method));
        }
        if !self.permissions.may_call(method) {
            return Err(denied(
                mod_name,
                format_args!("call host method `{method}`"),
            ));
        }
        self.world.insert_resource(CallingMod {
            entity: self.entity,
            name: self.name.clone(),
        });
        let outcome = self
            .methods
            .call(self.world, method, request.params)
            .unwrap_or_else(|| Err(ResponseError::method_not_found(method)));
        self.world.remove_resource::<CallingMod>();
        outcome
    }

    fn notification(&mut self, _mod_name: &str, notification: &Notification<'_>) {
        self.world.write_message(ModNotification {
            entity: self.entity,
            name: self.name.clone(),
            method: notification.method.to_string(),
            params: notification.params.map(|p| Arc::from(p.to_owned())),
        });
    }

    fn log(&mut self, mod_name: &str, line: &str) {
        let (level, message) = split_level(line);
        log::log!(target: mod_name, level, "{message}");
    }

    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        warn!("mod `{mod_name}`: {warning}");
    }
}

/// The level a PDK log line starts with (`INFO target: message`), and the rest; lines
/// without one (another language's stderr) are `info`.
fn split_level(line: &str) -> (log::Level, &str) {
    for level in [
        log::Level::Error,
        log::Level::Warn,
        log::Level::Info,
        log::Level::Debug,
        log::Level::Trace,
    ] {
        if let Some(rest) = line.strip_prefix(level.as_str())
            && let Some(rest) = rest.strip_prefix(' ')
        {
            return (level, rest);
        }
    }
    (log::Level::Info, line)
}

/// When to restart a crashed mod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Most restarts in a row (a mod that starts and answers `plugin.init` resets the
    /// count); 0 turns restarting off.
    pub max_restarts: u32,
    /// Wait before the first restart; doubled for each further one.
    pub backoff: Duration,
    /// Longest wait.
    pub max_backoff: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy::never()
    }
}

impl RestartPolicy {
    /// Crashed mods stay down (the default).
    #[must_use]
    pub const fn never() -> Self {
        RestartPolicy {
            max_restarts: 0,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }

    /// Up to `max_restarts` restarts in a row, waiting `backoff`, then twice as long
    /// each time, up to a minute.
    #[must_use]
    pub const fn with_backoff(max_restarts: u32, backoff: Duration) -> Self {
        RestartPolicy {
            max_restarts,
            backoff,
            max_backoff: Duration::from_secs(60),
        }
    }

    /// The wait before restart number `crashes` (1 for the first), if there is one.
    pub fn delay(&self, crashes: u32) -> Option<Duration> {
        if crashes == 0 || crashes > self.max_restarts {
            return None;
        }
        let factor = 1u32.checked_shl(crashes - 1).unwrap_or(u32::MAX);
        Some(self.backoff.saturating_mul(factor).min(self.max_backoff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_member_of_the_wrong_type_is_named() {
        let manifest = read_manifest(r#"{"version":"1","events":["game.tick"]}"#).unwrap();
        assert_eq!(manifest.events, ["game.tick"]);
        assert_eq!(
            read_manifest(r#"{"events":"game.tick"}"#).err().as_deref(),
            Some(r#"`events` must be an array of strings, not "game.tick""#)
        );
        assert_eq!(
            read_manifest(r#"{"version":1}"#).err().as_deref(),
            Some("`version` must be a string, not 1")
        );
        assert_eq!(
            read_manifest("null").err().as_deref(),
            Some("it is not an object but null")
        );
    }

    #[test]
    fn log_lines_keep_their_level() {
        assert_eq!(
            split_level("WARN m: low fuel"),
            (log::Level::Warn, "m: low fuel")
        );
        assert_eq!(split_level("INFO x"), (log::Level::Info, "x"));
        assert_eq!(split_level("plain text"), (log::Level::Info, "plain text"));
        assert_eq!(split_level("ERRORS"), (log::Level::Info, "ERRORS"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_after_max_restarts() {
        let policy = RestartPolicy::with_backoff(3, Duration::from_millis(100));
        assert_eq!(policy.delay(1), Some(Duration::from_millis(100)));
        assert_eq!(policy.delay(2), Some(Duration::from_millis(200)));
        assert_eq!(policy.delay(3), Some(Duration::from_millis(400)));
        assert_eq!(policy.delay(4), None);
        assert_eq!(RestartPolicy::never().delay(1), None);
        let long = RestartPolicy::with_backoff(40, Duration::from_secs(1));
        assert_eq!(long.delay(30), Some(Duration::from_secs(60)));
    }
}

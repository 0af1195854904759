//! The driver: one exclusive system, [`drive_mods`], that every frame does the jobs of
//! this folder in this order, one file each:
//!
//! 1. [`tracking`]: applies what the observers of
//!    [`WasmMod`](crate::bevy::mods::WasmMod) and `ModPermissions` noted: new mods get a
//!    slot, removed or replaced ones are unloaded;
//! 2. [`hot_reload`]: restarts mods whose `.wasm` changed, handing their state over;
//! 3. [`instantiate`]: starts mods whose asset has loaded (`plugin.init`);
//! 4. [`delivery`]: hands the game's calls, notifications and events to the mods;
//! 5. [`scheduler`]: runs every mod that has work with its fuel slice, round-robin under
//!    the frame's wall-time budget, serving its host calls against the `World` right
//!    away through the [`world_host`];
//! 6. [`deadlines`]: fails the game's calls that passed their deadline in frames.
//!
//! Each mod is a [`Slot`](lifecycle::Slot), whose state machine (`Phase`) lives in
//! [`lifecycle`]; the `plugin.init` / `plugin.shutdown` messages are the protocol crate's
//! (`bevy_wasmi_plugins_protocol::lifecycle`).

mod deadlines;
mod delivery;
mod hot_reload;
mod instantiate;
mod lifecycle;
mod scheduler;
pub(crate) mod tracking;
mod watches;
mod world_host;

use crate::bevy::bevy_prelude::*;
use bevy_ecs::entity::EntityHashMap;
use bevy_ecs::message::MessageCursor;

use crate::bevy::asset::WasmModAsset;
use crate::bevy::calls::ModTarget;
use crate::bevy::host_methods::HostMethods;
use crate::bevy::mailbox::{Directory, Outbound};

use lifecycle::Slot;

/// The driver's state: one slot per mod entity.
#[derive(Resource)]
pub(crate) struct ModDriver {
    /// By entity, with Bevy's entity hash (a multiply, not SipHash: the map is looked
    /// up for every mod in every frame).
    slots: EntityHashMap<Slot>,
    /// The mods in the order they were found: the round-robin order, and which of two
    /// mods with one name the name means (the first).
    order: Vec<Entity>,
    /// Where the next frame's round-robin starts.
    next: usize,
    inbox: async_channel::Receiver<Outbound>,
    directory: Directory,
    asset_events: MessageCursor<AssetEvent<WasmModAsset>>,
    /// How many times the driver has run: the clock of call deadlines in frames.
    frame: u64,
}

impl ModDriver {
    /// A driver fed by `inbox`, keeping `directory` (the one
    /// [`ModRpc`](crate::bevy::rpc::ModRpc) reads) up to date. The mods' modules come
    /// compiled (each with its own engine) from the asset loader.
    pub(crate) fn new(inbox: async_channel::Receiver<Outbound>, directory: Directory) -> Self {
        ModDriver {
            slots: EntityHashMap::default(),
            order: Vec::new(),
            next: 0,
            inbox,
            directory,
            asset_events: MessageCursor::default(),
            frame: 0,
        }
    }

    /// The mod `target` means: its entity if it has a slot; for a name, the first mod
    /// with that name.
    fn resolve(&self, target: &ModTarget) -> Option<Entity> {
        match target {
            ModTarget::Entity(entity) => self.slots.contains_key(entity).then_some(*entity),
            ModTarget::Name(name) => self.first_named(name),
        }
    }

    fn first_named(&self, name: &str) -> Option<Entity> {
        self.order
            .iter()
            .copied()
            .find(|entity| self.slots.get(entity).is_some_and(|s| *s.name == *name))
    }

    /// Publishes a mod's name in the directory that lets calls fail at once.
    fn publish(&self, entity: Entity) {
        let Some(slot) = self.slots.get(&entity) else {
            return;
        };
        // Two mods with one name: the name means the first (as in `resolve`).
        let holder = self.first_named(&slot.name).unwrap_or(entity);
        self.directory.publish(entity, slot.name.clone(), holder);
    }
}

/// At [`AppExit`], every mod is unloaded as if despawned: a running mod gets
/// `plugin.shutdown` and one fuel slice to answer, and its calls in flight fail. Runs in
/// `Last`, so an exit written in the frame's other schedules is seen before the app
/// stops.
pub(crate) fn unload_mods_on_exit(world: &mut World, mut exits: Local<MessageCursor<AppExit>>) {
    let Some(messages) = world.get_resource::<Messages<AppExit>>() else {
        return;
    };
    if exits.read(messages).last().is_none() || !world.contains_resource::<ModDriver>() {
        return;
    }
    world.init_resource::<HostMethods>();
    world.resource_scope(|world, mut driver: Mut<ModDriver>| {
        world.resource_scope(|world, methods: Mut<HostMethods>| {
            driver.unload_all(world, &methods);
        });
    });
}

/// The exclusive system in
/// [`WasmiPluginsSystems::Drive`](crate::bevy::plugin::WasmiPluginsSystems::Drive).
pub(crate) fn drive_mods(world: &mut World) {
    if !world.contains_resource::<ModDriver>() {
        return;
    }
    world.init_resource::<HostMethods>();
    world.resource_scope(|world, mut driver: Mut<ModDriver>| {
        world.resource_scope(|world, methods: Mut<HostMethods>| {
            driver.track_entities(world, &methods);
            driver.hot_reload(world);
            driver.start(world);
            driver.deliver(world);
            driver.run(world, &methods);
            driver.expire_calls(world);
            driver.deliver_watches(world);
        });
    });
}

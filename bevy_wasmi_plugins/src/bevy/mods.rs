//! Mods as entities: [`WasmMod`] names the asset, [`ModStatus`] says where the mod is in
//! its life, [`ModInfo`] what it told the game about itself, [`ModFuel`] what it costs,
//! and [`ModStatusChanged`] reports every change.

use std::sync::Arc;

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::ResponseError;
use serde_json::value::RawValue;

use crate::bevy::asset::WasmModAsset;
use crate::bevy::calls::CallDeadline;
use crate::runtime::{ModError, ModErrorKind};

/// A mod: spawn an entity with this component and the driver starts the mod once its
/// asset has loaded. The driver names the entity (`Name`: `"mod <name>"`) unless it has a
/// name already.
///
/// ```no_run
/// # use bevy::prelude::*;
/// # use bevy_wasmi_plugins::prelude::*;
/// fn spawn_mod(mut commands: Commands, assets: Res<AssetServer>) {
///     commands.spawn(
///         WasmMod::new(assets.load("mods/greeter.wasm"))
///             .with_config(&serde_json::json!({ "greeting": "Hi" })),
///     );
/// }
/// ```
///
/// It is reflected for inspectors, without its configuration, and cannot be built
/// through reflection (an asset handle cannot), so no mod can spawn another.
#[derive(Component, Clone, Debug, Reflect)]
#[reflect(Component, Debug, from_reflect = false)]
#[require(ModStatus)]
pub struct WasmMod {
    /// The mod's `.wasm` asset.
    pub handle: Handle<WasmModAsset>,
    /// The configuration handed to the mod's `plugin.init` (JSON).
    #[reflect(ignore)]
    pub config: Option<Arc<RawValue>>,
    /// This mod's deadline for the game's calls; what it leaves `None` comes from the
    /// mod's `.meta` file, then the plugin's settings (a call's own deadline wins over
    /// all).
    #[reflect(ignore)]
    pub call_deadline: CallDeadline,
}

impl WasmMod {
    /// A mod from its asset handle, without configuration.
    #[must_use]
    pub fn new(handle: Handle<WasmModAsset>) -> Self {
        WasmMod {
            handle,
            config: None,
            call_deadline: CallDeadline::default(),
        }
    }

    /// Sets the configuration passed to `plugin.init` (anything that serializes to JSON;
    /// left out if it does not).
    #[must_use]
    pub fn with_config(mut self, config: &impl serde::Serialize) -> Self {
        self.config = serde_json::value::to_raw_value(config).ok().map(Arc::from);
        self
    }

    /// Sets this mod's deadline for the game's calls, in frames and/or fuel (see
    /// [`CallDeadline`]).
    #[must_use]
    pub fn with_call_deadline(mut self, deadline: CallDeadline) -> Self {
        self.call_deadline = deadline;
        self
    }
}

/// Where a mod is in its life. Reflected as an opaque value (inspectors show its
/// `Debug` form).
#[derive(Component, Clone, Debug, Default, Reflect)]
#[reflect(opaque)]
#[reflect(Component, Debug, Clone, Default)]
pub enum ModStatus {
    /// Its asset is loading (or waiting for a restart).
    #[default]
    Loading,
    /// Instantiated; `plugin.init` has not answered yet.
    Starting,
    /// It has work left that did not fit in this frame's fuel.
    Running,
    /// Waiting for calls or events; costs nothing until one comes.
    Idle,
    /// Stopped by an error: a trap or panic, a limit, a failed `plugin.init`, or a load
    /// error. Calls to it fail at once.
    Crashed(ModError),
    /// Its program ended with this code. Calls to it fail at once.
    Exited(i32),
}

impl ModStatus {
    /// Whether the mod is alive (loading, starting, running or idle).
    pub fn is_alive(&self) -> bool {
        !matches!(self, ModStatus::Crashed(_) | ModStatus::Exited(_))
    }

    /// Whether the mod has started and answers calls (running or idle).
    pub fn is_ready(&self) -> bool {
        matches!(self, ModStatus::Running | ModStatus::Idle)
    }

    /// A short word for displays: `loading`, `starting`, `running`, `idle`, `crashed`,
    /// `exited`.
    pub fn label(&self) -> &'static str {
        match self {
            ModStatus::Loading => "loading",
            ModStatus::Starting => "starting",
            ModStatus::Running => "running",
            ModStatus::Idle => "idle",
            ModStatus::Crashed(_) => "crashed",
            ModStatus::Exited(_) => "exited",
        }
    }

    /// The error a call to the mod `name` with this status gets at once: its crash or
    /// its exit; `None` while it is alive.
    pub(crate) fn refusal(&self, name: &Arc<str>) -> Option<ResponseError> {
        match self {
            ModStatus::Crashed(error) => Some(error.to_response_error()),
            ModStatus::Exited(code) => Some(
                ModErrorKind::Exited { code: *code }
                    .named(name.clone())
                    .to_response_error(),
            ),
            _ => None,
        }
    }

    pub(crate) fn same_kind(&self, other: &ModStatus) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl std::fmt::Display for ModStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModStatus::Crashed(error) => write!(f, "crashed: {error}"),
            ModStatus::Exited(code) => write!(f, "exited with code {code}"),
            other => f.write_str(other.label()),
        }
    }
}

/// What a started mod said about itself in `plugin.init`. Inserted (again) each time
/// the mod has started, and changed only then: `Changed<ModInfo>` means the mod
/// (re)started. What it costs per frame is in [`ModFuel`].
#[derive(Component, Clone, Debug, Default, Reflect)]
#[reflect(Component, Debug, Clone, Default)]
pub struct ModInfo {
    /// The mod's name (its file name without `.wasm`).
    pub name: Arc<str>,
    /// The version from its manifest.
    pub version: Option<String>,
    /// The methods it serves.
    pub methods: Vec<String>,
    /// The events (host notifications) it subscribed to.
    pub events: Vec<String>,
    /// How many times it was restarted (hot reload or the restart policy).
    pub restarts: u32,
}

/// The fuel a started mod uses, counted by the driver every frame the mod runs.
/// Inserted with [`ModInfo`] when the mod has started.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq, Eq, Reflect)]
#[reflect(Component, Debug, Clone, Default, PartialEq)]
pub struct ModFuel {
    /// Fuel it used in the last frame.
    pub last_frame: u64,
    /// Fuel it used since it (re)started.
    pub total: u64,
}

/// Sent when a mod's [`ModStatus`] changes kind (say, from idle to crashed): as a
/// message, and as an entity event on the mod's entity, for observers.
///
/// ```
/// # use bevy::prelude::*;
/// # use bevy_wasmi_plugins::prelude::*;
/// fn watch(mut commands: Commands, assets: Res<AssetServer>) {
///     commands
///         .spawn(WasmMod::new(assets.load("mods/greeter.wasm")))
///         .observe(|changed: On<ModStatusChanged>| {
///             info!("mod `{}` is {}", changed.name, changed.status);
///         });
/// }
/// ```
#[derive(Message, EntityEvent, Clone, Debug)]
pub struct ModStatusChanged {
    /// The mod's entity.
    pub entity: Entity,
    /// The mod's name.
    pub name: Arc<str>,
    /// The new status.
    pub status: ModStatus,
}

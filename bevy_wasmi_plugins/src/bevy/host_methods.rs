//! Host methods are Bevy systems: `app.add_host_method("game.spawn_enemy", system)`
//! registers a system that takes `In<Params>` and returns `Result<T, E>`; a mod's
//! request for that method runs it with `World::run_system_with`, right away, in the
//! frame the request was made.

use bevy_platform::collections::HashMap;
use std::any::TypeId;
use std::sync::Arc;

use crate::bevy::bevy_prelude::*;
use bevy_ecs::error::BevyError;
use bevy_ecs::system::SystemId;
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// An error a host method answers a mod with.
///
/// `?` turns any error into one: a [`ResponseError`] keeps its code, anything else
/// becomes `-32603` with its message. (Like `anyhow::Error`, `HostError` does not itself
/// implement `std::error::Error`, which is what lets it take every error that does.)
#[derive(Debug, Clone, PartialEq)]
pub struct HostError(pub ResponseError);

impl HostError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        HostError(ResponseError::new(code, message))
    }

    /// `-32602`: the params are acceptable JSON but wrong for this call.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        HostError::new(ErrorCode::InvalidParams, message)
    }

    /// A [`BevyError`] (which is not a `std::error::Error`) as `-32603` with its message.
    pub fn from_bevy(error: &BevyError) -> Self {
        HostError(ResponseError::internal(error.to_string()))
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for HostError {
    fn from(error: E) -> Self {
        match (&error as &dyn std::any::Any).downcast_ref::<ResponseError>() {
            Some(response) => HostError(response.clone()),
            None => HostError(ResponseError::internal(error.to_string())),
        }
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a host method system returns: `Result<T, E>` where `T` serializes to JSON and
/// `E` is a [`HostError`] or any `std::error::Error` (a [`ResponseError`] keeps its
/// code). Return `Result<T, HostError>` and use `?` inside: with other error types the
/// output type can be ambiguous to Bevy's system conversions.
pub trait HostMethodOutput: 'static {
    /// The JSON answer.
    fn into_outcome(self) -> Outcome;

    /// The type of a successful answer (`T` of `Result<T, E>`), which `rpc.discover`
    /// describes when the game registered it for reflection.
    fn answer_type() -> Option<TypeId> {
        None
    }
}

impl<T: Serialize + 'static, E: Into<HostError> + 'static> HostMethodOutput for Result<T, E> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(value) => to_raw(&value),
            Err(error) => Err(error.into().0),
        }
    }

    fn answer_type() -> Option<TypeId> {
        Some(TypeId::of::<T>())
    }
}

/// The mod whose request is being served; host method systems read it with
/// `Res<CallingMod>` (it exists only while the driver serves a request).
#[derive(Resource, Clone, Debug)]
pub struct CallingMod {
    /// The mod's entity.
    pub entity: Entity,
    /// The mod's name.
    pub name: Arc<str>,
}

type ErasedHostMethod = Box<dyn Fn(&mut World, Option<&RawValue>) -> Outcome + Send + Sync>;

/// A registered host method: how to run it, and the types of its params and answer
/// (for `rpc.discover`).
pub(crate) struct HostMethod {
    run: ErasedHostMethod,
    pub(crate) params: TypeId,
    pub(crate) answer: Option<TypeId>,
}

/// The game's host methods, by name.
#[derive(Resource, Default)]
pub(crate) struct HostMethods {
    pub(crate) methods: HashMap<String, HostMethod>,
}

impl HostMethods {
    pub(crate) fn call(
        &self,
        world: &mut World,
        method: &str,
        params: Option<&RawValue>,
    ) -> Option<Outcome> {
        let method = self.methods.get(method)?;
        Some((method.run)(world, params))
    }
}

fn erase<P, O>(name: String, id: SystemId<In<P>, O>) -> ErasedHostMethod
where
    P: DeserializeOwned + 'static,
    O: HostMethodOutput,
{
    Box::new(move |world: &mut World, params: Option<&RawValue>| {
        let json = params.map_or("null", RawValue::get);
        let params: P =
            serde_json::from_str(json).map_err(|e| ResponseError::invalid_params(&name, e))?;
        match world.run_system_with(id, params) {
            Ok(output) => output.into_outcome(),
            Err(error) => {
                // The game's log gets all of it; the mod gets the first line, not the
                // backtrace Bevy's errors carry (the game's source paths, kilobytes).
                let error = error.to_string();
                let caller = world
                    .get_resource::<CallingMod>()
                    .map_or_else(String::new, |calling| {
                        format!(" (called by mod `{}`)", calling.name)
                    });
                warn!("host method `{name}` could not run{caller}: {error}");
                let first = error.lines().next().unwrap_or_default();
                Err(ResponseError::internal(format!(
                    "host method `{name}` could not run: {first}"
                )))
            }
        }
    })
}

/// Adds host methods to an [`App`].
pub trait WasmiPluginsAppExt {
    /// Registers `system` as the host method `name`: a mod's request for `name` runs it
    /// with the request's params deserialized into `P` (absent params deserialize from
    /// `null`, so `P = ()` or `Option<_>` accepts them; params that do not fit get
    /// `-32602` naming the method and what did not match), and answers with its result.
    ///
    /// The system can use any system param: `Query`, `Commands`, `Res`,
    /// `MessageWriter`…, and [`CallingMod`] to know who asked. Registering a name twice
    /// replaces the first. The crate's own names are refused with a warning: those
    /// starting with `plugin.`, `world.` or `bulk.`, and `registry.schema`,
    /// `schedule.list`, `schedule.graph`, `rpc.discover` and `watch.cancel` (a mod's call
    /// to any of them never reaches a host method).
    ///
    /// ```no_run
    /// use bevy::prelude::*;
    /// use bevy_wasmi_plugins::prelude::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct SpawnEnemy { x: f32, y: f32 }
    ///
    /// fn spawn_enemy(In(p): In<SpawnEnemy>, mut commands: Commands) -> Result<u64, HostError> {
    ///     let enemy = commands.spawn(Transform::from_xyz(p.x, p.y, 0.0)).id();
    ///     Ok(enemy.to_bits())
    /// }
    ///
    /// App::new()
    ///     .add_plugins((MinimalPlugins, AssetPlugin::default(), WasmiPluginsPlugin::default()))
    ///     .add_host_method("game.spawn_enemy", spawn_enemy)
    ///     .run();
    /// ```
    fn add_host_method<P, O, M>(
        &mut self,
        name: impl Into<String>,
        system: impl IntoSystem<In<P>, O, M> + 'static,
    ) -> &mut Self
    where
        P: DeserializeOwned + Send + 'static,
        O: HostMethodOutput;
}

impl WasmiPluginsAppExt for App {
    fn add_host_method<P, O, M>(
        &mut self,
        name: impl Into<String>,
        system: impl IntoSystem<In<P>, O, M> + 'static,
    ) -> &mut Self
    where
        P: DeserializeOwned + Send + 'static,
        O: HostMethodOutput,
    {
        let name = name.into();
        if name.starts_with("plugin.") || crate::bevy::ecs_methods::serves(&name) {
            warn!(
                "host method `{name}` not added: `plugin.*`, `world.*`, `bulk.*`, {} are \
                 reserved",
                crate::bevy::ecs_methods::INSPECTION
                    .map(|m| format!("`{m}`"))
                    .join(", ")
            );
            return self;
        }
        let world = self.world_mut();
        let id = world.register_system(system);
        let method = HostMethod {
            run: erase(name.clone(), id),
            params: TypeId::of::<P>(),
            answer: O::answer_type(),
        };
        world
            .get_resource_or_init::<HostMethods>()
            .methods
            .insert(name, method);
        self
    }
}

//! The entry point the `world_methods` fuzz target (`fuzz/`) calls: the `world.*`
//! methods without a running app. Compiled only by `cargo fuzz` (`cfg(fuzzing)`).

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::Outcome;
use serde_json::value::RawValue;

use crate::bevy::permissions::ModPermissions;

/// Serves `method` with `params` as [the driver does](super::ecs_methods) for the mod at
/// `mod_entity`, with the request's `attachment`; `None` if it is not a `world.*`
/// method.
#[doc(hidden)]
pub fn serve_world_method(
    world: &mut World,
    permissions: &ModPermissions,
    mod_entity: Entity,
    method: &str,
    params: Option<&RawValue>,
    attachment: Option<&[u8]>,
) -> Option<Outcome> {
    // Inserted by the plugin in an app.
    world.init_resource::<super::ecs_methods::SpawnCounts>();
    // The driver's default: a mod's message cap.
    let mut work = super::ecs_methods::Work {
        max_answer: bevy_wasmi_plugins_protocol::DEFAULT_MAX_MESSAGE_SIZE,
        entities: 0,
        attachment,
        answer: Some(&mut None),
    };
    let caller = super::ecs_methods::Caller::new(world, permissions, mod_entity, "fuzz");
    super::ecs_methods::serve(world, &caller, method, params, &mut work)
}

//! The `world.*` methods on resources and messages: get and insert a resource, write a
//! message.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::component::ComponentId;
use bevy_ecs::reflect::{ReflectComponent, ReflectMessage, ReflectResource};
use bevy_reflect::{TypeRegistration, TypeRegistry};
use bevy_wasmi_plugins_protocol::brp::{
    BrpGetResourcesParams, BrpGetResourcesResponse, BrpInsertResourcesParams, BrpWriteMessageParams,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::{Map, Value};

use super::Ecs;
use super::reflect::{deserialize_concrete, error, serialize};
use crate::bevy::permissions::denied;

impl Ecs<'_> {
    /// A resource type's registration and the id its values are stored under.
    fn resource<'r>(
        &self,
        world: &World,
        registry: &'r TypeRegistry,
        path: &str,
    ) -> Result<(&'r TypeRegistration, Option<ComponentId>), ResponseError> {
        let registration = registry.get_with_type_path(path).ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Unknown resource type: `{path}` (not registered for reflection)"),
            )
        })?;
        if registration.data::<ReflectResource>().is_none() {
            return Err(error(
                ErrorCode::ResourceError,
                format!("`{path}` is not a reflectable resource (add `#[reflect(Resource)]`)"),
            ));
        }
        Ok((
            registration,
            world.components().get_id(registration.type_id()),
        ))
    }

    pub(super) fn get_resource(&self, world: &mut World, p: BrpGetResourcesParams) -> Outcome {
        self.check_read(&p.resource)?;
        let registry = self.registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        let not_present = || {
            error(
                ErrorCode::ResourceNotPresent,
                format!("Resource `{}` not present in the world", p.resource),
            )
        };
        let entity = id
            .and_then(|id| world.resource_entities().get(id))
            .ok_or_else(not_present)?;
        let reflect = registration
            .data::<ReflectComponent>()
            .ok_or_else(not_present)?;
        let value = reflect
            .reflect(world.entity(entity))
            .ok_or_else(not_present)?;
        let value = serialize(value.as_partial_reflect(), &registry, &p.resource)?;
        to_raw(&BrpGetResourcesResponse { value })
    }

    pub(super) fn insert_resource(
        &self,
        world: &mut World,
        p: BrpInsertResourcesParams,
    ) -> Outcome {
        self.check_write(&p.resource)?;
        let registry = self.registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        if registration.data::<ReflectComponent>().is_none() {
            return Err(error(
                ErrorCode::ResourceError,
                format!("`{}` cannot be inserted through reflection", p.resource),
            ));
        }
        let value =
            deserialize_concrete(registration, &registry, &p.value, ErrorCode::ResourceError)?;
        let id = id.ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Resource `{}` is not registered in the world", p.resource),
            )
        })?;
        world.insert_reflect_resource(id, value);
        to_raw(&())
    }

    pub(super) fn write_message(&self, world: &mut World, p: BrpWriteMessageParams) -> Outcome {
        if !self.permissions.may_write_message(&p.message) {
            return Err(denied(
                self.mod_name,
                format_args!("write message `{}` ({})", p.message, self.method),
            ));
        }
        let registry = self.registry.read();
        let registration = registry.get_with_type_path(&p.message).ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!("Unknown message type: `{}`", p.message),
            )
        })?;
        let reflect = registration.data::<ReflectMessage>().ok_or_else(|| {
            error(
                ErrorCode::ResourceError,
                format!(
                    "Message `{}` is not reflectable (add `#[reflect(Message)]`)",
                    p.message
                ),
            )
        })?;
        // No value: an empty object, which fits messages without fields.
        let empty = Value::Object(Map::new());
        let value = deserialize_concrete(
            registration,
            &registry,
            p.value.as_ref().unwrap_or(&empty),
            ErrorCode::ResourceError,
        )?;
        reflect.write_message(world, value.as_ref(), &registry);
        to_raw(&())
    }
}

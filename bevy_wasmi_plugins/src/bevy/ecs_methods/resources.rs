//! The `world.*` methods on resources, messages and events: list, get, insert, mutate
//! and remove a resource, write a message, trigger an event.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::component::ComponentId;
use bevy_ecs::reflect::{ReflectComponent, ReflectEvent, ReflectMessage, ReflectResource};
use bevy_reflect::{TypeRegistration, TypeRegistry};
use bevy_wasmi_plugins_protocol::brp::{
    BrpGetResourcesParams, BrpGetResourcesResponse, BrpInsertResourcesParams,
    BrpMutateResourcesParams, BrpRemoveResourcesParams, BrpTriggerEventParams,
    BrpWriteMessageParams,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde_json::{Map, Value};

use super::Ecs;
use super::reflect::{
    Json, deserialize_concrete, error, mutable, parse_path, serialize, set_at_path,
};
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

    fn resource_not_present(path: &str) -> ResponseError {
        error(
            ErrorCode::ResourceNotPresent,
            format!("Resource `{path}` not present in the world"),
        )
    }

    /// `world.list_resources`: the registered resource types the mod may read.
    pub(super) fn list_resources(&self) -> Outcome {
        let registry = self.registry.read();
        let mut paths: Vec<&str> = registry
            .iter()
            .filter(|r| r.data::<ReflectResource>().is_some())
            .map(|r| r.type_info().type_path())
            .filter(|path| self.permissions.may_read(path))
            .collect();
        paths.sort_unstable();
        to_raw(&paths)
    }

    /// `world.remove_resources`: needs write access and a grant to remove
    /// ([`ModPermissions::remove_resources`]); a resource that is not there is `-23502`.
    ///
    /// [`ModPermissions::remove_resources`]: crate::bevy::permissions::ModPermissions::remove_resources
    pub(super) fn remove_resource(
        &self,
        world: &mut World,
        p: BrpRemoveResourcesParams,
    ) -> Outcome {
        self.check_write(&p.resource)?;
        self.check(
            self.permissions.may_remove_resource(&p.resource),
            "remove",
            &p.resource,
        )?;
        let registry = self.registry.read();
        let (_, id) = self.resource(world, &registry, &p.resource)?;
        let id = id.ok_or_else(|| Self::resource_not_present(&p.resource))?;
        if !world.remove_resource_by_id(id) {
            return Err(Self::resource_not_present(&p.resource));
        }
        to_raw(&())
    }

    /// `world.mutate_resources`: one field (or all) of a resource set, like
    /// `world.mutate_components`.
    pub(super) fn mutate_resource(
        &self,
        world: &mut World,
        p: BrpMutateResourcesParams,
    ) -> Outcome {
        self.check_write(&p.resource)?;
        let path = parse_path(&p.resource, &p.path, ErrorCode::ResourceError)?;
        let registry = self.registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        let entity = id
            .and_then(|id| world.resource_entities().get(id))
            .ok_or_else(|| Self::resource_not_present(&p.resource))?;
        let reflect = registration
            .data::<ReflectComponent>()
            .ok_or_else(|| Self::resource_not_present(&p.resource))?;
        // Bevy panics on a reflected change of an immutable type.
        if let Some(id) = id {
            mutable(world, id, &p.resource, ErrorCode::ResourceError)?;
        }
        let mut value = reflect
            .reflect_mut(world.entity_mut(entity))
            .ok_or_else(|| Self::resource_not_present(&p.resource))?;
        set_at_path(
            &mut *value,
            &registry,
            &p.resource,
            (&p.path, &path),
            Json::Tree(&p.value),
            ErrorCode::ResourceError,
        )?;
        to_raw(&())
    }

    /// `world.trigger_event`: needs the event type in [`ModPermissions::events`]; the
    /// value is made concrete first, so a bad one is an error, not a panic in Bevy.
    ///
    /// [`ModPermissions::events`]: crate::bevy::permissions::ModPermissions::events
    pub(super) fn trigger_event(&self, world: &mut World, p: BrpTriggerEventParams) -> Outcome {
        if !self.permissions.may_trigger(&p.event) {
            return Err(denied(
                self.mod_name,
                format_args!("trigger event `{}` ({})", p.event, self.method),
            ));
        }
        let registry = self.registry.read();
        let (registration, reflect) = reflect_event(&registry, &p.event)?;
        let empty = Value::Object(Map::new());
        let value = deserialize_concrete(
            registration,
            &registry,
            p.value.as_ref().unwrap_or(&empty),
            ErrorCode::ResourceError,
        )?;
        reflect.trigger(world, value.as_ref(), &registry);
        to_raw(&())
    }

    pub(super) fn get_resource(&self, world: &mut World, p: BrpGetResourcesParams) -> Outcome {
        self.check_read(&p.resource)?;
        let registry = self.registry.read();
        let (registration, id) = self.resource(world, &registry, &p.resource)?;
        let not_present = || Self::resource_not_present(&p.resource);
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

/// An event type's registration and its `ReflectEvent`, or BRP's resource error (which
/// `bevy_remote` gives for events too).
pub(super) fn reflect_event<'r>(
    registry: &'r TypeRegistry,
    path: &str,
) -> Result<(&'r TypeRegistration, &'r ReflectEvent), ResponseError> {
    let registration = registry.get_with_type_path(path).ok_or_else(|| {
        error(
            ErrorCode::ResourceError,
            format!("Unknown event type: `{path}`"),
        )
    })?;
    let reflect = registration.data::<ReflectEvent>().ok_or_else(|| {
        error(
            ErrorCode::ResourceError,
            format!("Event `{path}` is not reflectable (add `#[reflect(Event)]`)"),
        )
    })?;
    Ok((registration, reflect))
}

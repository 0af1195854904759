//! Reflection helpers the `world.*` methods share: looking up a component type,
//! (de)serializing reflected values with the BRP's error codes, and entity ids.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
use bevy_reflect::serde::{TypedReflectDeserializer, TypedReflectSerializer};
use bevy_reflect::{
    GetPath, PartialReflect, Reflect, ReflectFromReflect, TypeRegistration, TypeRegistry,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde::de::DeserializeSeed;
use serde_json::Value;

pub(super) fn error(code: ErrorCode, message: impl Into<String>) -> ResponseError {
    ResponseError::new(code, message)
}

pub(super) fn unknown_component(path: &str) -> ResponseError {
    error(
        ErrorCode::ComponentError,
        format!("Unknown component type: `{path}` (not registered for reflection)"),
    )
}

/// A type's registration and its `ReflectComponent`, or the BRP component error.
pub(super) fn reflect_component<'r>(
    registry: &'r TypeRegistry,
    path: &str,
) -> Result<(&'r TypeRegistration, &'r ReflectComponent), ResponseError> {
    let registration = registry
        .get_with_type_path(path)
        .ok_or_else(|| unknown_component(path))?;
    let reflect = registration.data::<ReflectComponent>().ok_or_else(|| {
        error(
            ErrorCode::ComponentError,
            format!("`{path}` is not a reflectable component (add `#[reflect(Component)]`)"),
        )
    })?;
    Ok((registration, reflect))
}

/// Resources are components of their own entity; the component methods must not make
/// or remove them (only `world.insert_resources` does, through the world).
pub(super) fn not_a_resource(
    registration: &TypeRegistration,
    path: &str,
) -> Result<(), ResponseError> {
    if registration.data::<ReflectResource>().is_some() {
        return Err(error(
            ErrorCode::ComponentError,
            format!("`{path}` is a resource: use world.get_resources / world.insert_resources"),
        ));
    }
    Ok(())
}

pub(super) fn entity_from_bits(bits: u64) -> Result<Entity, ResponseError> {
    Entity::try_from_bits(bits).ok_or_else(|| {
        error(
            ErrorCode::EntityNotFound,
            format!("Entity {bits} not found"),
        )
    })
}

/// The serialized value of a reflected component or resource.
pub(super) fn serialize(
    value: &dyn PartialReflect,
    registry: &TypeRegistry,
    path: &str,
) -> Result<Value, ResponseError> {
    serde_json::to_value(TypedReflectSerializer::new(value, registry)).map_err(|e| {
        error(
            ErrorCode::ComponentError,
            format!("`{path}` did not serialize: {e}"),
        )
    })
}

/// A value of the registered type, from JSON.
pub(super) fn deserialize(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    value: &Value,
    code: ErrorCode,
) -> Result<Box<dyn PartialReflect>, ResponseError> {
    TypedReflectDeserializer::new(registration, registry)
        .deserialize(value)
        .map_err(|e| {
            error(
                code,
                format!("`{}` is invalid: {e}", registration.type_info().type_path()),
            )
        })
}

/// A concrete value of the registered type, from JSON, for Bevy's reflected inserts.
///
/// Bevy's `insert_reflect`, `insert_reflect_resource` and `ReflectMessage` panic when
/// they cannot turn the value into the type (no `FromReflect`, `Default` or
/// `FromWorld`), so the value is made concrete here first, and a value that cannot be is
/// an error for the mod instead of a panic in the game.
pub(super) fn deserialize_concrete(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    value: &Value,
    code: ErrorCode,
) -> Result<Box<dyn PartialReflect>, ResponseError> {
    let dynamic = deserialize(registration, registry, value, code)?;
    let path = registration.type_info().type_path();
    let from_reflect = registration.data::<ReflectFromReflect>().ok_or_else(|| {
        error(
            code,
            format!("`{path}` cannot be built through reflection (it needs `FromReflect`)"),
        )
    })?;
    from_reflect
        .from_reflect(dynamic.as_ref())
        .map(|value| value.into_partial_reflect())
        .ok_or_else(|| error(code, format!("`{path}` could not be built from {value}")))
}

/// Sets the field at `path` (`GetPath`; empty: the whole value) of `target`, a reflected
/// value of the type at `type_path`, to `value`; errors have `code` and name the type
/// and the path.
pub(super) fn set_at_path(
    target: &mut dyn Reflect,
    registry: &TypeRegistry,
    type_path: &str,
    path: &str,
    value: &Value,
    code: ErrorCode,
) -> Result<(), ResponseError> {
    let field = target.reflect_path_mut(path).map_err(|e| {
        error(
            code,
            format!("`{type_path}` has no field at path `{path}`: {e}"),
        )
    })?;
    let field_type = field
        .get_represented_type_info()
        .map(|info| info.type_path())
        .and_then(|path| registry.get_with_type_path(path))
        .ok_or_else(|| {
            error(
                code,
                format!("the field at `{path}` of `{type_path}` has a type that is not registered"),
            )
        })?;
    let value = TypedReflectDeserializer::new(field_type, registry)
        .deserialize(value)
        .map_err(|e| {
            error(
                code,
                format!(
                    "`{type_path}` at path `{path}` (a `{}`) is invalid: {e}",
                    field_type.type_info().type_path()
                ),
            )
        })?;
    field.try_apply(value.as_ref()).map_err(|e| {
        error(
            code,
            format!("could not set `{path}` of `{type_path}`: {e}"),
        )
    })
}

//! Reflection helpers the `world.*` methods share: looking up a component type,
//! (de)serializing reflected values with the BRP's error codes, and entity ids.

use crate::bevy::bevy_prelude::*;
use bevy_ecs::component::ComponentId;
use bevy_ecs::reflect::{ReflectComponent, ReflectResource};
use bevy_reflect::serde::{TypedReflectDeserializer, TypedReflectSerializer};
use bevy_reflect::{
    GetPath, ParsedPath, PartialReflect, Reflect, ReflectFromReflect, TypeRegistration,
    TypeRegistry,
};
use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
use serde::de::DeserializeSeed;
use serde_json::Value;
use std::any::TypeId;

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

/// The BRP's error for a component an entity does not have.
pub(super) fn not_present(path: &str, entity: Entity) -> ResponseError {
    error(
        ErrorCode::ComponentNotPresent,
        format!("Component `{path}` not present in entity {entity}"),
    )
}

pub(super) fn entity_from_bits(bits: u64) -> Result<Entity, ResponseError> {
    Entity::try_from_bits(bits).ok_or_else(|| {
        error(
            ErrorCode::EntityNotFound,
            format!("Entity {bits} not found"),
        )
    })
}

/// Calls macro `$m` with the types of the leaves `Reflected` writes and
/// `packed::read_packed` reads with their own serde impls: numbers, `bool`, `Entity`
/// (its bits) and glam's vectors and quaternions (the glam that Bevy's reflection
/// implements; a game on another glam only misses the shortcut). Each is what its
/// `ReflectSerialize`/`ReflectDeserialize` does, without the registry lookup and the
/// type-erased calls (`Transform`'s ten `f32`s went through `erased_serde` one by one).
macro_rules! with_leaf_types {
    ($m:ident) => {
        $m!(
            f32,
            glam::Vec3,
            glam::Quat,
            glam::Vec2,
            glam::Vec3A,
            glam::Vec4,
            f64,
            bool,
            u8,
            u16,
            u32,
            u64,
            usize,
            i8,
            i16,
            i32,
            i64,
            isize,
            Entity,
            glam::IVec2,
            glam::IVec3,
            glam::UVec2,
            glam::UVec3,
            glam::DVec2,
            glam::DVec3,
            glam::DQuat
        )
    };
}
pub(super) use with_leaf_types;

/// A reflected value serialized as Bevy's `TypedReflectSerializer` writes it, faster for
/// plain structs.
///
/// For a value whose type has neither `ReflectSerialize` nor
/// `ReflectSerializeWithRegistry` (a game's `#[derive(Reflect)]` component without
/// `#[reflect(Serialize)]`), Bevy's serializer first formats an error message saying so,
/// then drops it and walks the fields: about 2,600 instructions a struct, a third of a
/// `bulk.query` row's serialization. A struct or tuple struct of such a type is written
/// here field by field the way Bevy's serializers write it (the type's
/// `SerializationData` skips the same fields; a tuple struct of one field is a newtype),
/// its fields again through `Reflected`; every other value goes to Bevy's serializer as
/// it is, so the JSON is the same.
pub(super) struct Reflected<'a> {
    pub(super) value: &'a dyn PartialReflect,
    pub(super) registry: &'a TypeRegistry,
}

impl serde::Serialize for Reflected<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use bevy_reflect::serde::{ReflectSerializeWithRegistry, SerializationData};
        use bevy_reflect::{ReflectRef, ReflectSerialize, TypeInfo};
        use serde::ser::{SerializeStruct, SerializeTupleStruct};
        // A number, `bool`, `Entity` or glam vector is written by its own `Serialize`, as
        // Bevy's `ReflectSerialize` would, without the registry lookup and the
        // type-erased calls.
        if let Some(leaf) = self.value.try_as_reflect() {
            let any = leaf.as_any();
            let id = any.type_id();
            macro_rules! write_leaf {
                ($($t:ty),*) => {$(
                    if id == TypeId::of::<$t>()
                        && let Some(leaf) = any.downcast_ref::<$t>()
                    {
                        return serde::Serialize::serialize(leaf, serializer);
                    }
                )*};
            }
            with_leaf_types!(write_leaf);
        }
        let kind = self.value.reflect_ref();
        // Everything else but structs and tuple structs goes to Bevy at once, without
        // looking the type up here first.
        if !matches!(kind, ReflectRef::Struct(_) | ReflectRef::TupleStruct(_)) {
            return TypedReflectSerializer::new(self.value, self.registry).serialize(serializer);
        }
        // The type's registration, when it is registered without a serializer of its own.
        let plain = self.value.try_as_reflect().and_then(|reflect| {
            let info = reflect.reflect_type_info();
            let registration = self.registry.get(info.type_id()).filter(|r| {
                r.data::<ReflectSerialize>().is_none()
                    && r.data::<ReflectSerializeWithRegistry>().is_none()
            })?;
            Some((info, registration, info.type_path_table().ident()?))
        });
        let field = |value| Reflected {
            value,
            registry: self.registry,
        };
        match (kind, plain) {
            (ReflectRef::Struct(value), Some((TypeInfo::Struct(info), registration, ident))) => {
                let skipped = registration.data::<SerializationData>();
                let len = value.field_len() - skipped.map_or(0, SerializationData::len);
                let mut out = serializer.serialize_struct(ident, len)?;
                for (index, (_, value)) in value.iter_fields().enumerate() {
                    if skipped.is_some_and(|s| s.is_field_skipped(index)) {
                        continue;
                    }
                    let Some(name) = info.field_at(index).map(|f| f.name()) else {
                        return Err(serde::ser::Error::custom(format_args!(
                            "`{}` has no field {index}",
                            info.type_path()
                        )));
                    };
                    out.serialize_field(name, &field(value))?;
                }
                out.end()
            }
            (
                ReflectRef::TupleStruct(value),
                Some((TypeInfo::TupleStruct(_), registration, ident)),
            ) => {
                let skipped = registration.data::<SerializationData>();
                // A newtype is its field, as Bevy writes it.
                if value.field_len() == 1
                    && skipped.is_none()
                    && let Some(only) = value.field(0)
                {
                    return serializer.serialize_newtype_struct(ident, &field(only));
                }
                let len = value.field_len() - skipped.map_or(0, SerializationData::len);
                let mut out = serializer.serialize_tuple_struct(ident, len)?;
                for (index, value) in value.iter_fields().enumerate() {
                    if skipped.is_some_and(|s| s.is_field_skipped(index)) {
                        continue;
                    }
                    out.serialize_field(&field(value))?;
                }
                out.end()
            }
            _ => TypedReflectSerializer::new(self.value, self.registry).serialize(serializer),
        }
    }
}

/// The serialized value of a reflected component or resource.
pub(super) fn serialize(
    value: &dyn PartialReflect,
    registry: &TypeRegistry,
    path: &str,
) -> Result<Value, ResponseError> {
    serde_json::to_value(Reflected { value, registry }).map_err(|e| {
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
            let path = registration.type_info().type_path();
            match blame(registration, registry, value, 0) {
                Some(field) => error(code, format!("`{path}` is invalid: {field}")),
                None => error(code, format!("`{path}` is invalid: {e}")),
            }
        })
}

/// How deep [`blame`] looks into nested structs.
const MAX_BLAME_DEPTH: usize = 8;

/// The first field of `value` that keeps it from being a value of the registered
/// type, said as ``field `a.b`: what is wrong``: a field the type does not have, one
/// of the wrong type, or a missing one. `None` for a type that is not a struct (or
/// when every field looks right on its own).
fn blame(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    value: &Value,
    depth: usize,
) -> Option<String> {
    let (bevy_reflect::TypeInfo::Struct(info), Value::Object(fields)) =
        (registration.type_info(), value)
    else {
        return None;
    };
    if depth > MAX_BLAME_DEPTH {
        return None;
    }
    if let Some(unknown) = fields.keys().find(|name| info.field(name).is_none()) {
        return Some(format!(
            "field `{unknown}`: `{}` has no such field",
            info.type_path()
        ));
    }
    for field in info.iter() {
        let Some(value) = fields.get(field.name()) else {
            continue;
        };
        let Some(field_type) = registry.get(field.type_id()) else {
            continue;
        };
        if let Some(inner) = blame(field_type, registry, value, depth + 1) {
            // `field `b`: …` inside `a` reads `field `a.b`: …`.
            let inner = inner.strip_prefix("field `").unwrap_or(&inner);
            return Some(format!("field `{}.{inner}", field.name()));
        }
        if let Err(e) = TypedReflectDeserializer::new(field_type, registry).deserialize(value) {
            return Some(format!("field `{}`: {e}", field.name()));
        }
    }
    info.iter()
        .find(|field| !fields.contains_key(field.name()))
        .map(|field| format!("field `{}` is missing", field.name()))
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
        .ok_or_else(|| match blame(registration, registry, value, 0) {
            Some(field) => error(code, format!("`{path}` could not be built: {field}")),
            None => error(code, format!("`{path}` could not be built from {value}")),
        })
}

/// The longest field path a mutation takes, in bytes: a path names fields, it is not
/// data (and errors quote it, once per entity in a bulk call).
pub(super) const MAX_FIELD_PATH: usize = 1024;

/// A field path (`GetPath`'s syntax; empty: the whole value) of the type at
/// `type_path`, parsed once; errors have `code` and name the type and the path.
pub(super) fn parse_path(
    type_path: &str,
    path: &str,
    code: ErrorCode,
) -> Result<ParsedPath, ResponseError> {
    if path.len() > MAX_FIELD_PATH {
        return Err(error(
            code,
            format!(
                "the field path for `{type_path}` is {} bytes long; at most \
                 {MAX_FIELD_PATH} are taken",
                path.len()
            ),
        ));
    }
    ParsedPath::parse(path).map_err(|e| {
        error(
            code,
            format!("`{type_path}` has no field at path `{path}`: {e}"),
        )
    })
}

/// Bevy panics when an immutable component (or resource) is changed through
/// reflection (`reflect_mut`, `apply`): such a type, with the component id `id`, is an
/// error with `code` instead. (Relationships such as `ChildOf` are immutable.)
pub(super) fn mutable(
    world: &World,
    id: ComponentId,
    type_path: &str,
    code: ErrorCode,
) -> Result<(), ResponseError> {
    match world.components().get_info(id) {
        Some(info) if !info.mutable() => Err(error(
            code,
            format!("`{type_path}` is immutable: it can be replaced, not changed in place"),
        )),
        _ => Ok(()),
    }
}

/// The component type at `path`, checked for a change in place (`world.mutate_components`
/// and `bulk.mutate_components`): its reflection and its component id, `None` when no
/// entity ever had it. Resources, relationships and immutable types are refused.
pub(super) fn component_to_change<'r>(
    world: &mut World,
    registry: &'r TypeRegistry,
    path: &str,
) -> Result<(&'r ReflectComponent, Option<ComponentId>), ResponseError> {
    let (registration, reflect) = reflect_component(registry, path)?;
    not_a_resource(registration, path)?;
    not_a_relationship(world, registration, path)?;
    let id = world.components().get_id(registration.type_id());
    if let Some(id) = id {
        mutable(world, id, path, ErrorCode::ComponentError)?;
    }
    Ok((reflect, id))
}

/// Relationship components (`ChildOf`, `Children` and the game's own) are refused to
/// the component methods: changing one by hand could make a cycle that hangs whatever
/// walks the hierarchy, or hang a mod's entity under another. Parents change only
/// through `world.reparent_entities`, which checks for that.
pub(super) fn not_a_relationship(
    world: &mut World,
    registration: &TypeRegistration,
    path: &str,
) -> Result<(), ResponseError> {
    let type_id = registration.type_id();
    // A type the world has not seen yet is registered first: what it is (say, a
    // relationship of the game's own) is known only then.
    let id = match (
        world.components().get_id(type_id),
        registration.data::<ReflectComponent>(),
    ) {
        (Some(id), _) => Some(id),
        (None, Some(reflect)) => Some(reflect.register_component(world)),
        (None, None) => None,
    };
    let relationship = type_id == std::any::TypeId::of::<ChildOf>()
        || type_id == std::any::TypeId::of::<Children>()
        || id
            .and_then(|id| world.components().get_info(id))
            .is_some_and(|info| info.relationship_accessor().is_some());
    if relationship {
        return Err(error(
            ErrorCode::ComponentError,
            format!(
                "`{path}` is a relationship: it cannot be inserted, removed or changed as a \
                 component (parents change with world.reparent_entities)"
            ),
        ));
    }
    Ok(())
}

/// Sets the field at `path` (parsed by [`parse_path`] from `path_text`) of `target`, a
/// reflected value of the type at `type_path`, to `value`; errors have `code` and name
/// the type and the path.
pub(super) fn set_at_path(
    target: &mut dyn Reflect,
    registry: &TypeRegistry,
    type_path: &str,
    (path_text, path): (&str, &ParsedPath),
    value: Json<'_>,
    code: ErrorCode,
) -> Result<(), ResponseError> {
    let field = target.reflect_path_mut(path).map_err(|e| {
        error(
            code,
            format!("`{type_path}` has no field at path `{path_text}`: {e}"),
        )
    })?;
    let field_type = field
        .get_represented_type_info()
        .map(|info| info.type_path())
        .and_then(|path| registry.get_with_type_path(path))
        .ok_or_else(|| {
            error(
                code,
                format!(
                    "the field at `{path_text}` of `{type_path}` has a type that is not registered"
                ),
            )
        })?;
    let read = TypedReflectDeserializer::new(field_type, registry);
    let new_value = match value {
        Json::Tree(tree) => read.deserialize(tree),
        Json::Text(text) => read.deserialize(&mut serde_json::Deserializer::from_str(text.get())),
    }
    .map_err(|e| {
        // The field to blame, on this error path only: text is read into a tree.
        let parsed: Option<Value>;
        let tree = match value {
            Json::Tree(tree) => Some(tree),
            Json::Text(text) => {
                parsed = serde_json::from_str(text.get()).ok();
                parsed.as_ref()
            }
        };
        let why = tree
            .and_then(|tree| blame(field_type, registry, tree, 0))
            .unwrap_or_else(|| e.to_string());
        error(
            code,
            format!(
                "`{type_path}` at path `{path_text}` (a `{}`) is invalid: {why}",
                field_type.type_info().type_path()
            ),
        )
    })?;
    field.try_apply(new_value.as_ref()).map_err(|e| {
        error(
            code,
            format!("could not set `{path_text}` of `{type_path}`: {e}"),
        )
    })
}

/// A value from a mod: a JSON tree, or JSON text not yet read (a `bulk.*` call's
/// values, read straight into their type, without a tree per entity).
#[derive(Clone, Copy)]
pub(super) enum Json<'a> {
    /// Parsed.
    Tree(&'a Value),
    /// Not parsed.
    Text(&'a serde_json::value::RawValue),
}

#[cfg(test)]
mod tests {
    // Under Node (`scripts/web-test.sh`) these run through wasm-bindgen-test.
    use super::*;
    use bevy_reflect::TypeRegistry;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[derive(Reflect, serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    #[reflect(Serialize, Deserialize)]
    struct WithSerde {
        a: u8,
    }

    #[derive(Reflect, Debug, PartialEq)]
    struct Inner {
        x: f32,
        name: String,
    }

    #[derive(Reflect, Debug, PartialEq)]
    struct Tuple(u32, Inner);

    #[derive(Reflect, Debug, PartialEq)]
    struct Newtype(Inner);

    #[derive(Reflect, Debug, PartialEq)]
    struct Pair(u8, #[reflect(skip_serializing)] u64, f32);

    #[derive(Reflect, Debug, PartialEq)]
    struct Lonely(#[reflect(skip_serializing)] u8);

    #[derive(Reflect, Debug, PartialEq)]
    enum Mode {
        Off,
        On { level: u8 },
    }

    #[derive(Reflect, Debug, PartialEq)]
    struct Plain {
        inner: Inner,
        #[reflect(skip_serializing)]
        cache: u64,
        tuple: Tuple,
        mode: Mode,
        list: Vec<Inner>,
        serde: WithSerde,
        maybe: Option<Inner>,
        unit: (),
        newtype: Newtype,
        pair: Pair,
        lonely: Lonely,
        at: glam::Vec3,
        turn: glam::Quat,
    }

    #[derive(Reflect)]
    struct Empty {}

    /// `Reflected` writes exactly what Bevy's serializer writes, for plain structs and
    /// everything inside them.
    #[test]
    fn reflected_writes_what_bevys_serializer_writes() {
        let mut registry = TypeRegistry::new();
        registry.register::<Plain>();
        registry.register::<Empty>();
        let inner = |x: f32| Inner {
            x,
            name: format!("n{x}"),
        };
        let values: [&dyn PartialReflect; 7] = [
            &Plain {
                inner: inner(1.5),
                cache: 9,
                tuple: Tuple(7, inner(2.0)),
                mode: Mode::On { level: 3 },
                list: vec![inner(3.0), inner(-0.0)],
                serde: WithSerde { a: 4 },
                maybe: Some(inner(f32::MAX)),
                unit: (),
                newtype: Newtype(inner(8.0)),
                pair: Pair(1, 2, 3.5),
                lonely: Lonely(9),
                at: glam::Vec3::new(1.0, -2.0, 3.5),
                turn: glam::Quat::from_xyzw(0.5, 0.5, 0.5, 0.5),
            },
            &Plain {
                inner: inner(0.1),
                cache: 0,
                tuple: Tuple(0, inner(0.0)),
                mode: Mode::Off,
                list: Vec::new(),
                serde: WithSerde { a: 0 },
                maybe: None,
                unit: (),
                newtype: Newtype(inner(0.0)),
                pair: Pair(0, 0, 0.0),
                lonely: Lonely(0),
                at: glam::Vec3::ZERO,
                turn: glam::Quat::IDENTITY,
            },
            &Empty {},
            &inner(5.0),
            &Newtype(inner(6.0)),
            &Pair(7, 8, 9.0),
            &Tuple(10, inner(11.0)),
        ];
        for value in values {
            let bevy = serde_json::to_string(&TypedReflectSerializer::new(value, &registry));
            let ours = serde_json::to_string(&Reflected {
                value,
                registry: &registry,
            });
            assert_eq!(ours.unwrap(), bevy.unwrap());
            // And in the packed form, a format without field names.
            let bevy = postcard::to_allocvec(&TypedReflectSerializer::new(value, &registry));
            let ours = postcard::to_allocvec(&Reflected {
                value,
                registry: &registry,
            });
            assert_eq!(ours.unwrap(), bevy.unwrap());
        }
        // The skipped field is left out by both.
        let text = serde_json::to_string(&Reflected {
            value: values[0],
            registry: &registry,
        })
        .unwrap();
        assert!(!text.contains("cache"), "{text}");
        // An unregistered type is Bevy's error, as before.
        let error = serde_json::to_string(&Reflected {
            value: &inner(1.0),
            registry: &TypeRegistry::empty(),
        })
        .unwrap_err();
        assert!(error.to_string().contains("not registered"), "{error}");
    }

    /// A packed value (Bevy's own bytes for it) is read into a value of its type in
    /// place: every field set but the ones serialization skips, which keep theirs.
    #[test]
    fn packed_bytes_are_read_into_a_value_in_place() {
        use super::super::packed::read_packed;
        let mut registry = TypeRegistry::new();
        registry.register::<Plain>();
        let inner = |x: f32| Inner {
            x,
            name: format!("n{x}"),
        };
        let plain = |x: f32, cache, mode, skipped| Plain {
            inner: inner(x),
            cache,
            tuple: Tuple(x as u32, inner(x + 1.0)),
            mode,
            list: (0..x as usize).map(|_| inner(x)).collect(),
            serde: WithSerde { a: x as u8 },
            maybe: (x > 1.0).then(|| inner(-x)),
            unit: (),
            newtype: Newtype(inner(x * 2.0)),
            pair: Pair(x as u8, skipped, x / 2.0),
            lonely: Lonely(skipped as u8),
            at: glam::Vec3::splat(x),
            turn: glam::Quat::from_xyzw(0.0, 0.0, x, 1.0),
        };
        let new = plain(3.0, 1, Mode::On { level: 5 }, 2);
        let bytes = postcard::to_allocvec(&TypedReflectSerializer::new(&new, &registry)).unwrap();
        let mut old = plain(1.0, 77, Mode::Off, 66);
        let mut reader = postcard::Deserializer::from_bytes(&bytes);
        read_packed(&mut old, &registry, &mut reader).unwrap();
        assert_eq!(reader.finalize().unwrap(), &[] as &[u8]);
        assert_eq!(old, plain(3.0, 77, Mode::On { level: 5 }, 66));
        // Too few bytes: an error, not a panic.
        let mut reader = postcard::Deserializer::from_bytes(&bytes[..bytes.len() - 3]);
        let error = read_packed(&mut old, &registry, &mut reader).unwrap_err();
        assert!(error.contains("end of buffer"), "{error}");
    }
}

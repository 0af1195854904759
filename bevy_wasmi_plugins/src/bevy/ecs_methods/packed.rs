//! The packed form of `bulk.query` and `bulk.mutate_components` (the format:
//! [`bevy_wasmi_plugins_protocol::brp::packed`]): reflected values written in postcard's
//! format and read from it straight into the components, field by field.
//!
//! Both walk a value the way Bevy's reflection serializer and deserializer do for a
//! non-self-describing format (a struct is its fields in order, without the ones its
//! `SerializationData` skips; a type with its own `ReflectSerialize` or
//! `ReflectDeserialize` is left to it), so the bytes are the ones Bevy's own
//! `TypedReflectSerializer` would give postcard. Numbers, `bool` and `Entity` are read
//! and written with their own serde impls, without a registry lookup.

use bevy_ecs::component::ComponentId;
use bevy_ecs::query::QueryState;
use bevy_ecs::reflect::ReflectComponent;
use bevy_ecs::world::FilteredEntityRef;
use bevy_reflect::Access;
use bevy_reflect::serde::{
    ReflectDeserializeWithRegistry, SerializationData, TypedReflectDeserializer,
};
use bevy_reflect::{
    ParsedPath, PartialReflect, ReflectDeserialize, ReflectMut, ReflectRef, TypeInfo,
    TypeRegistration, TypeRegistry,
};
use bevy_wasmi_plugins_protocol::brp::packed::{left_over, pack, unpack};
use bevy_wasmi_plugins_protocol::brp::{BulkMutateComponentsParams, BulkQueryParams};
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError, to_raw};
use serde::Deserialize;
use serde::de::DeserializeSeed;
use serde_json::value::RawValue;
use std::any::TypeId;

use super::Ecs;
use super::bulk::MAX_BULK_ERRORS;
use super::reflect::{Reflected, error, not_present, reflect_component, with_leaf_types};
use crate::bevy::bevy_prelude::*;

/// A postcard reader over a packed value's bytes.
type Reader<'de> = postcard::Deserializer<'de, postcard::de_flavors::Slice<'de>>;

impl Ecs<'_> {
    /// The request's attachment, which its params say is `len` bytes long.
    fn attached(&self, len: u64) -> Result<&[u8], ResponseError> {
        let method = self.method;
        match self.attachment {
            Some(bytes) if bytes.len() as u64 == len => Ok(bytes),
            Some(bytes) => Err(error(
                ErrorCode::InvalidParams,
                format!(
                    "{method}: the params say the attachment is {len} bytes, and it is {}",
                    bytes.len()
                ),
            )),
            None => Err(error(
                ErrorCode::InvalidParams,
                format!(
                    "{method}: the params say the values are attached ({len} bytes), and the \
                     request came without an attachment (one goes in front of the request's \
                     line, and only with a request alone on its line)"
                ),
            )),
        }
    }

    /// The answer to a `bulk.query` that matches nothing, in the form it asked for.
    pub(super) fn no_rows(&self, p: &BulkQueryParams) -> Outcome {
        match (p.packed, p.attach) {
            (false, _) => to_raw(&[(); 0]),
            // postcard's empty list: its length, 0.
            (true, false) => to_raw(&pack(&[0])),
            (true, true) => {
                self.answer.set(Some(vec![0]));
                to_raw(&1)
            }
        }
    }

    /// `bulk.query`'s rows in the packed form: `Vec<(u64, (C1, …))>` in postcard's
    /// format, as base64 in a JSON string.
    pub(super) fn packed_rows(
        &self,
        world: &World,
        query: &mut QueryState<FilteredEntityRef<'static, 'static>>,
        required: &[(ComponentId, &ReflectComponent)],
        registry: &TypeRegistry,
        p: &BulkQueryParams,
    ) -> Outcome {
        let mut rows = 0u64;
        let mut body = Vec::with_capacity(4096);
        for row in self.page(query, world, p) {
            rows += 1;
            body = postcard::to_extend(&row.id().to_bits(), body)
                .map_err(|e| ResponseError::internal(e.to_string()))?;
            for (column, (_, reflect)) in required.iter().enumerate() {
                let value = reflect
                    .reflect(row)
                    .ok_or_else(|| ResponseError::internal("a queried component is missing"))?;
                let value = Reflected {
                    value: value.as_partial_reflect(),
                    registry,
                };
                body = postcard::to_extend(&value, body).map_err(|e| {
                    error(
                        ErrorCode::ComponentError,
                        format!(
                            "`{}` cannot be written in the packed form: {e}",
                            p.components[column]
                        ),
                    )
                })?;
            }
            // base64 is 4 characters for 3 bytes; an attachment is the bytes themselves.
            let answer = if p.attach {
                body.len()
            } else {
                body.len() / 3 * 4
            };
            if answer >= self.max_answer {
                return Err(ResponseError::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "the packed answer to bulk.query is longer than the message cap of \
                         mod `{}` ({} bytes); it was given up after {rows} entities: filter, \
                         or ask for fewer rows with `limit`",
                        self.mod_name, self.max_answer
                    ),
                ));
            }
        }
        let mut bytes = postcard::to_extend(&rows, Vec::with_capacity(body.len() + 10))
            .map_err(|e| ResponseError::internal(e.to_string()))?;
        bytes.extend_from_slice(&body);
        if p.attach {
            let len = bytes.len();
            self.answer.set(Some(bytes));
            return to_raw(&len);
        }
        // base64 needs no escapes in a JSON string.
        let text = format!("\"{}\"", pack(&bytes));
        RawValue::from_string(text)
            .map_err(|e| ResponseError::internal(format!("an answer is not JSON: {e}")))
    }

    /// `bulk.mutate_components` with packed values (base64 in `packed`, or the
    /// request's attachment): each read straight into its entity's component (or the
    /// field at `path`); an entity that is gone or lacks the component is listed, and
    /// its value read past.
    pub(super) fn bulk_mutate_packed<V>(
        &self,
        world: &mut World,
        registry: &TypeRegistry,
        (reflect, id): (&ReflectComponent, Option<ComponentId>),
        (p, path): (&BulkMutateComponentsParams<V>, &ParsedPath),
    ) -> Result<Vec<(u64, ResponseError)>, ResponseError> {
        let component = &p.component;
        if !p.entities.is_empty() || p.packed.is_some() == p.attached.is_some() {
            return Err(error(
                ErrorCode::InvalidParams,
                "bulk.mutate_components takes one of `entities`, `packed` and `attached`",
            ));
        }
        let (registration, _) = reflect_component(registry, component)?;
        let value_type = type_at_path(registry, registration, path).ok_or_else(|| {
            error(
                ErrorCode::ComponentError,
                format!(
                    "`{component}` has no field at path `{}` that packed values can be read \
                     into (a path through structs, tuples, lists and arrays to a registered \
                     type)",
                    p.path
                ),
            )
        })?;
        // postcard has no nesting limit (serde_json stops at 128 levels): values of a
        // type that contains itself could nest as deep as the bytes allow and overflow
        // the game's stack while Bevy reads them.
        if is_recursive(registry, value_type) {
            return Err(error(
                ErrorCode::ComponentError,
                format!(
                    "`{component}` at path `{}` is a recursive type: its values are taken \
                     as JSON only (`entities`, not `packed`)",
                    p.path
                ),
            ));
        }
        // A list of values that take no bytes (`Vec<()>`) has only its length on the
        // wire: a length of 2^64 would have Bevy read that many values from no bytes.
        if holds_weightless_items(registry, value_type) {
            return Err(error(
                ErrorCode::ComponentError,
                format!(
                    "`{component}` at path `{}` holds a list, set or map of values that \
                     take no bytes packed: its values are taken as JSON only (`entities`, \
                     not `packed`)",
                    p.path
                ),
            ));
        }
        let decoded;
        let bytes = match &p.packed {
            Some(packed) => {
                decoded = unpack(packed).map_err(|e| {
                    error(
                        ErrorCode::InvalidParams,
                        format!("bulk.mutate_components of `{component}`: {e}"),
                    )
                })?;
                &decoded[..]
            }
            None => self.attached(p.attached.unwrap_or(0))?,
        };
        let mut reader = Reader::from_bytes(bytes);
        // An error in the bytes stops the call: the values after it cannot be found.
        // Values are read in place (no copy per entity), so the entity whose value
        // breaks off may keep the fields read before the break.
        let unreadable = |row: u64, why: String| {
            error(
                ErrorCode::InvalidParams,
                format!(
                    "bulk.mutate_components of `{component}`: packed value {row} cannot be \
                     read: {why}; the {row} entities before it were changed, and this one \
                     may be in part"
                ),
            )
        };
        let count = u64::deserialize(&mut reader).map_err(|e| unreadable(0, e.to_string()))?;
        let mut errors = Vec::new();
        for row in 0..count {
            let bits = u64::deserialize(&mut reader).map_err(|e| unreadable(row, e.to_string()))?;
            let target = self.entity(world, bits, true).and_then(|entity| {
                // A type no entity ever had (no component id yet) is on none of them.
                if id.is_none() {
                    return Err(not_present(component, entity));
                }
                reflect
                    .reflect_mut(world.entity_mut(entity))
                    .ok_or_else(|| not_present(component, entity))
            });
            let failed = match target {
                Ok(mut value) => match value.reflect_path_mut(path) {
                    Ok(field) => {
                        read_packed(field, registry, &mut reader)
                            .map_err(|why| unreadable(row, why))?;
                        None
                    }
                    Err(e) => Some(error(
                        ErrorCode::ComponentError,
                        format!("`{component}` has no field at path `{}`: {e}", p.path),
                    )),
                },
                Err(e) => Some(e),
            };
            if let Some(e) = failed {
                skip_packed(value_type, registry, &mut reader)
                    .map_err(|why| unreadable(row, why))?;
                if errors.len() < MAX_BULK_ERRORS {
                    errors.push((bits, e));
                }
            }
        }
        let rest = reader
            .finalize()
            .map_err(|e| unreadable(count, e.to_string()))?;
        if !rest.is_empty() {
            return Err(unreadable(count, left_over(rest.len()).to_string()));
        }
        Ok(errors)
    }
}

/// The registration of the type at `path` in values of `registration`'s type, read from
/// the types alone (no value is at hand for an entity that is gone).
fn type_at_path<'r>(
    registry: &'r TypeRegistry,
    registration: &'r TypeRegistration,
    path: &ParsedPath,
) -> Option<&'r TypeRegistration> {
    let mut at = registration;
    for step in &path.0 {
        let id = match (at.type_info(), &step.access) {
            (TypeInfo::Struct(info), Access::Field(name)) => info.field(name)?.type_id(),
            (TypeInfo::Struct(info), Access::FieldIndex(i)) => info.field_at(*i)?.type_id(),
            (TypeInfo::TupleStruct(info), Access::TupleIndex(i)) => info.field_at(*i)?.type_id(),
            (TypeInfo::Tuple(info), Access::TupleIndex(i)) => info.field_at(*i)?.type_id(),
            (TypeInfo::List(info), Access::ListIndex(_)) => info.item_ty().id(),
            (TypeInfo::Array(info), Access::ListIndex(_)) => info.item_ty().id(),
            _ => return None,
        };
        at = registry.get(id)?;
    }
    Some(at)
}

/// Whether a value of `registration`'s type can hold a list, set or map whose items
/// postcard writes in zero bytes (unit structs, `()`, `PhantomData`, structs and tuples
/// of those, empty arrays). Called on types that are not recursive.
fn holds_weightless_items(registry: &TypeRegistry, registration: &TypeRegistration) -> bool {
    /// Whether values of `id` take no bytes in postcard.
    fn weightless(registry: &TypeRegistry, id: TypeId) -> bool {
        let Some(registration) = registry.get(id) else {
            return false;
        };
        // Fields serialization skips take no bytes.
        let skipped = registration.data::<SerializationData>();
        let counted = |index: usize, id: TypeId| {
            skipped.is_some_and(|s| s.is_field_skipped(index)) || weightless(registry, id)
        };
        match registration.type_info() {
            TypeInfo::Struct(info) => info
                .iter()
                .enumerate()
                .all(|(i, f)| counted(i, f.type_id())),
            TypeInfo::TupleStruct(info) => info
                .iter()
                .enumerate()
                .all(|(i, f)| counted(i, f.type_id())),
            TypeInfo::Tuple(info) => info.iter().all(|f| weightless(registry, f.type_id())),
            TypeInfo::Array(info) => {
                info.capacity() == 0 || weightless(registry, info.item_ty().id())
            }
            TypeInfo::Opaque(info) => info.type_path().starts_with("core::marker::PhantomData"),
            // A length or a variant index comes first.
            TypeInfo::List(_) | TypeInfo::Set(_) | TypeInfo::Map(_) | TypeInfo::Enum(_) => false,
        }
    }
    fn walk(registry: &TypeRegistry, id: TypeId, seen: &mut Vec<TypeId>) -> bool {
        if seen.contains(&id) {
            return false;
        }
        seen.push(id);
        let Some(registration) = registry.get(id) else {
            return false;
        };
        let info = registration.type_info();
        let weightless_items = match info {
            TypeInfo::List(info) => weightless(registry, info.item_ty().id()),
            TypeInfo::Set(info) => weightless(registry, info.value_ty().id()),
            TypeInfo::Map(info) => {
                weightless(registry, info.key_ty().id())
                    && weightless(registry, info.value_ty().id())
            }
            _ => false,
        };
        weightless_items
            || contained_types(info)
                .into_iter()
                .any(|inner| walk(registry, inner, seen))
    }
    walk(registry, registration.type_id(), &mut Vec::new())
}

/// The types a value of a type with `info` holds directly: fields, items, keys and
/// values, and every variant's fields.
fn contained_types(info: &TypeInfo) -> Vec<TypeId> {
    let mut inner = Vec::new();
    match info {
        TypeInfo::Struct(info) => inner.extend(info.iter().map(|f| f.type_id())),
        TypeInfo::TupleStruct(info) => inner.extend(info.iter().map(|f| f.type_id())),
        TypeInfo::Tuple(info) => inner.extend(info.iter().map(|f| f.type_id())),
        TypeInfo::List(info) => inner.push(info.item_ty().id()),
        TypeInfo::Array(info) => inner.push(info.item_ty().id()),
        TypeInfo::Set(info) => inner.push(info.value_ty().id()),
        TypeInfo::Map(info) => inner.extend([info.key_ty().id(), info.value_ty().id()]),
        TypeInfo::Enum(info) => {
            for variant in info.iter() {
                match variant {
                    bevy_reflect::enums::VariantInfo::Struct(v) => {
                        inner.extend(v.iter().map(|f| f.type_id()));
                    }
                    bevy_reflect::enums::VariantInfo::Tuple(v) => {
                        inner.extend(v.iter().map(|f| f.type_id()));
                    }
                    bevy_reflect::enums::VariantInfo::Unit(_) => {}
                }
            }
        }
        TypeInfo::Opaque(_) => {}
    }
    inner
}

/// Whether a value of `registration`'s type can contain a value of a type that
/// contains it (a type in a cycle of the type graph, or one that reaches one). Types
/// the registry does not know end the walk (Bevy refuses their values anyway).
fn is_recursive(registry: &TypeRegistry, registration: &TypeRegistration) -> bool {
    use std::collections::HashSet;
    /// Depth-first: `on_path` holds the types being walked, `done` those known to be
    /// free of cycles.
    fn walk(
        registry: &TypeRegistry,
        id: TypeId,
        on_path: &mut HashSet<TypeId>,
        done: &mut HashSet<TypeId>,
    ) -> bool {
        if done.contains(&id) {
            return false;
        }
        if !on_path.insert(id) {
            return true;
        }
        let Some(registration) = registry.get(id) else {
            on_path.remove(&id);
            done.insert(id);
            return false;
        };
        let inner = contained_types(registration.type_info());
        if inner
            .into_iter()
            .any(|inner| walk(registry, inner, on_path, done))
        {
            return true;
        }
        on_path.remove(&id);
        done.insert(id);
        false
    }
    walk(
        registry,
        registration.type_id(),
        &mut HashSet::new(),
        &mut HashSet::new(),
    )
}

/// Reads one value of `target`'s type from `reader` into `target`, in place.
pub(super) fn read_packed(
    target: &mut dyn PartialReflect,
    registry: &TypeRegistry,
    reader: &mut Reader<'_>,
) -> Result<(), String> {
    if let Some(leaf) = target.try_as_reflect_mut() {
        let any = leaf.as_any_mut();
        let id = (*any).type_id();
        macro_rules! read_leaf {
            ($($t:ty),*) => {$(
                if id == TypeId::of::<$t>()
                    && let Some(leaf) = any.downcast_mut::<$t>()
                {
                    *leaf = <$t>::deserialize(&mut *reader).map_err(|e| e.to_string())?;
                    return Ok(());
                }
            )*};
        }
        with_leaf_types!(read_leaf);
    }
    let registration = target
        .get_represented_type_info()
        .and_then(|info| registry.get(info.type_id()))
        .ok_or_else(|| "a field's type is not registered".to_owned())?;
    let own_serde = registration.data::<ReflectDeserialize>().is_some()
        || registration
            .data::<ReflectDeserializeWithRegistry>()
            .is_some();
    // A plain struct or tuple struct (as Bevy's deserializer walks one) is read field by
    // field in place; anything else goes to Bevy's deserializer and is applied.
    let plain = !own_serde
        && matches!(
            (target.reflect_ref(), registration.type_info()),
            (ReflectRef::Struct(_), TypeInfo::Struct(_))
                | (ReflectRef::TupleStruct(_), TypeInfo::TupleStruct(_))
        );
    if plain {
        let skipped = registration.data::<SerializationData>();
        let mut kind = target.reflect_mut();
        let len = match &kind {
            ReflectMut::Struct(value) => value.field_len(),
            ReflectMut::TupleStruct(value) => value.field_len(),
            _ => 0,
        };
        for index in (0..len).filter(|&i| !skipped.is_some_and(|s| s.is_field_skipped(i))) {
            let field = match &mut kind {
                ReflectMut::Struct(value) => value.field_at_mut(index),
                ReflectMut::TupleStruct(value) => value.field_mut(index),
                _ => None,
            }
            .ok_or_else(|| format!("no field {index}"))?;
            read_packed(field, registry, reader)?;
        }
        return Ok(());
    }
    let value = TypedReflectDeserializer::new(registration, registry)
        .deserialize(&mut *reader)
        .map_err(|e| e.to_string())?;
    target.try_apply(value.as_ref()).map_err(|e| e.to_string())
}

/// Reads one value of `registration`'s type from `reader` and drops it.
fn skip_packed(
    registration: &TypeRegistration,
    registry: &TypeRegistry,
    reader: &mut Reader<'_>,
) -> Result<(), String> {
    TypedReflectDeserializer::new(registration, registry)
        .deserialize(&mut *reader)
        .map(drop)
        .map_err(|e| e.to_string())
}

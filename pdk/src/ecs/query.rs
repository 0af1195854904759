//! Typed queries: [`QueryData`] (what a row fetches), [`QueryFilter`] (which entities
//! match), and reading the host's rows without building a JSON tree.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Component, Entity};
use crate::protocol::brp::{BrpQuery, BrpQueryFilter, ComponentSelector};

/// What one row of a [`world::query`](crate::world::query) fetches, and its Rust type.
///
/// Implemented for
///
/// - any [`Component`] `T`: the entity must have it; the item is its value;
/// - `Option<T>`: fetched when the entity has it;
/// - [`Has<T>`]: whether the entity has it (a `bool`);
/// - [`Entity`]: the row's entity;
/// - tuples of these, up to eight (nest tuples for more).
///
/// The rows are read in one pass, each value straight into its Rust type.
pub trait QueryData {
    /// What a row turns into.
    type Item;

    /// The values of one row read so far.
    #[doc(hidden)]
    type Slots: Default;

    /// Adds the type paths this data needs to `query`.
    fn describe(query: &mut BrpQuery);

    /// Adds the type paths of the components this data fetches to `columns`, for
    /// `bulk.query`; false when it needs more than that query answers (`Option`, `Has`).
    #[doc(hidden)]
    fn columns(columns: &mut Vec<String>) -> bool;

    /// Reads the next value of `map` if it is the component at `path` this data wants;
    /// false when it does not want it (the value is then still unread).
    #[doc(hidden)]
    fn component<'de, M: MapAccess<'de>>(
        slots: &mut Self::Slots,
        path: &str,
        map: &mut M,
    ) -> Result<bool, M::Error>;

    /// Notes the row's `has` answer for `path`.
    #[doc(hidden)]
    fn has(slots: &mut Self::Slots, path: &str, has: bool);

    /// The item of a row of `entity`, or what is missing.
    #[doc(hidden)]
    fn finish(slots: Self::Slots, entity: u64) -> Result<Self::Item, String>;
}

/// Reads the component's value into `slot` when `path` is `T`'s.
fn take<'de, T: Component, M: MapAccess<'de>>(
    slot: &mut Option<T>,
    path: &str,
    map: &mut M,
) -> Result<bool, M::Error> {
    if path != T::TYPE_PATH {
        return Ok(false);
    }
    let value = map
        .next_value::<T>()
        .map_err(|e| de::Error::custom(format_args!("{}: {e}", T::TYPE_PATH)))?;
    *slot = Some(value);
    Ok(true)
}

/// Which entities a [`world::query`](crate::world::query) matches: `()` (all),
/// [`With<T>`], [`Without<T>`], or a tuple of these (all must hold).
pub trait QueryFilter {
    /// Adds the filter's type paths to `filter`.
    fn describe(filter: &mut BrpQueryFilter);
}

/// Query filter: only entities that have component `T` (its value is not fetched).
pub struct With<T>(PhantomData<fn() -> T>);

/// Query filter: only entities without component `T`.
pub struct Without<T>(PhantomData<fn() -> T>);

/// Query data: whether the entity has component `T`, as a `bool`.
pub struct Has<T>(PhantomData<fn() -> T>);

impl<T: Component> QueryFilter for With<T> {
    fn describe(filter: &mut BrpQueryFilter) {
        filter.with.push(T::TYPE_PATH.into());
    }
}

impl<T: Component> QueryFilter for Without<T> {
    fn describe(filter: &mut BrpQueryFilter) {
        filter.without.push(T::TYPE_PATH.into());
    }
}

impl QueryFilter for () {
    fn describe(_: &mut BrpQueryFilter) {}
}

impl QueryData for Entity {
    type Item = Entity;
    type Slots = ();

    fn describe(_: &mut BrpQuery) {}

    fn columns(_: &mut Vec<String>) -> bool {
        true
    }

    fn component<'de, M: MapAccess<'de>>(_: &mut (), _: &str, _: &mut M) -> Result<bool, M::Error> {
        Ok(false)
    }

    fn has(_: &mut (), _: &str, _: bool) {}

    fn finish(_: (), entity: u64) -> Result<Entity, String> {
        Ok(Entity(entity))
    }
}

impl<T: Component> QueryData for T {
    type Item = T;
    type Slots = Option<T>;

    fn describe(query: &mut BrpQuery) {
        query.components.push(T::TYPE_PATH.into());
    }

    fn columns(columns: &mut Vec<String>) -> bool {
        columns.push(T::TYPE_PATH.into());
        true
    }

    fn component<'de, M: MapAccess<'de>>(
        slot: &mut Option<T>,
        path: &str,
        map: &mut M,
    ) -> Result<bool, M::Error> {
        take(slot, path, map)
    }

    fn has(_: &mut Option<T>, _: &str, _: bool) {}

    fn finish(slot: Option<T>, entity: u64) -> Result<T, String> {
        slot.ok_or_else(|| format!("{}: entity {entity} has no value for it", T::TYPE_PATH))
    }
}

impl<T: Component> QueryData for Option<T> {
    type Item = Option<T>;
    type Slots = Option<T>;

    fn describe(query: &mut BrpQuery) {
        match &mut query.option {
            ComponentSelector::Paths(paths) => paths.push(T::TYPE_PATH.into()),
            ComponentSelector::All => {}
        }
    }

    fn columns(_: &mut Vec<String>) -> bool {
        false
    }

    fn component<'de, M: MapAccess<'de>>(
        slot: &mut Option<T>,
        path: &str,
        map: &mut M,
    ) -> Result<bool, M::Error> {
        take(slot, path, map)
    }

    fn has(_: &mut Option<T>, _: &str, _: bool) {}

    fn finish(slot: Option<T>, _: u64) -> Result<Option<T>, String> {
        Ok(slot)
    }
}

impl<T: Component> QueryData for Has<T> {
    type Item = bool;
    type Slots = bool;

    fn describe(query: &mut BrpQuery) {
        query.has.push(T::TYPE_PATH.into());
    }

    fn columns(_: &mut Vec<String>) -> bool {
        false
    }

    fn component<'de, M: MapAccess<'de>>(
        _: &mut bool,
        _: &str,
        _: &mut M,
    ) -> Result<bool, M::Error> {
        Ok(false)
    }

    fn has(slot: &mut bool, path: &str, has: bool) {
        if path == T::TYPE_PATH {
            *slot = has;
        }
    }

    fn finish(slot: bool, _: u64) -> Result<bool, String> {
        Ok(slot)
    }
}

macro_rules! tuple_query {
    ($($t:ident $i:tt),*) => {
        impl<$($t: QueryData),*> QueryData for ($($t,)*) {
            type Item = ($($t::Item,)*);
            type Slots = ($($t::Slots,)*);

            fn describe(query: &mut BrpQuery) {
                $($t::describe(query);)*
            }

            fn columns(columns: &mut Vec<String>) -> bool {
                true $(&& $t::columns(columns))*
            }

            fn component<'de, M: MapAccess<'de>>(
                slots: &mut Self::Slots,
                path: &str,
                map: &mut M,
            ) -> Result<bool, M::Error> {
                $(if $t::component(&mut slots.$i, path, map)? {
                    return Ok(true);
                })*
                Ok(false)
            }

            fn has(slots: &mut Self::Slots, path: &str, has: bool) {
                $($t::has(&mut slots.$i, path, has);)*
            }

            fn finish(slots: Self::Slots, entity: u64) -> Result<Self::Item, String> {
                Ok(($($t::finish(slots.$i, entity)?,)*))
            }
        }

        impl<$($t: QueryFilter),*> QueryFilter for ($($t,)*) {
            fn describe(filter: &mut BrpQueryFilter) {
                $($t::describe(filter);)*
            }
        }
    };
}

tuple_query!(A 0);
tuple_query!(A 0, B 1);
tuple_query!(A 0, B 1, C 2);
tuple_query!(A 0, B 1, C 2, D 3);
tuple_query!(A 0, B 1, C 2, D 3, E 4);
tuple_query!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_query!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_query!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// The rows of a `world.query` answer, read in one pass: what
/// [`world::query`](crate::world::query) deserializes the host's result as.
pub(crate) struct Rows<D: QueryData>(pub(crate) Vec<D::Item>);

impl<'de, D: QueryData> Deserialize<'de> for Rows<D> {
    fn deserialize<De: de::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        deserializer.deserialize_seq(RowsVisitor::<D>(PhantomData))
    }
}

struct RowsVisitor<D>(PhantomData<fn() -> D>);

impl<'de, D: QueryData> Visitor<'de> for RowsVisitor<D> {
    type Value = Rows<D>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Rows<D>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(Row(item)) = seq.next_element_seed(RowSeed::<D>(PhantomData))? {
            items.push(item);
        }
        Ok(Rows(items))
    }
}

/// One row, `{"entity":E,"components":{P:value,…},"has":{P:bool,…}}`, read as `D`.
struct Row<T>(T);

struct RowSeed<D>(PhantomData<fn() -> D>);

impl<'de, D: QueryData> DeserializeSeed<'de> for RowSeed<D> {
    type Value = Row<D::Item>;

    fn deserialize<De: de::Deserializer<'de>>(
        self,
        deserializer: De,
    ) -> Result<Self::Value, De::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, D: QueryData> Visitor<'de> for RowSeed<D> {
    type Value = Row<D::Item>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row {\"entity\", \"components\", \"has\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entity = None;
        let mut slots = D::Slots::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "entity" => entity = Some(map.next_value::<u64>()?),
                "components" => map.next_value_seed(Fields::<D> {
                    slots: &mut slots,
                    has: false,
                })?,
                "has" => map.next_value_seed(Fields::<D> {
                    slots: &mut slots,
                    has: true,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let entity = entity.ok_or_else(|| de::Error::missing_field("entity"))?;
        D::finish(slots, entity).map(Row).map_err(de::Error::custom)
    }
}

/// A row's `components` (or `has`) object, each value read into `D`'s slots.
struct Fields<'s, D: QueryData> {
    slots: &'s mut D::Slots,
    has: bool,
}

impl<'de, D: QueryData> DeserializeSeed<'de> for Fields<'_, D> {
    type Value = ();

    fn deserialize<De: de::Deserializer<'de>>(self, deserializer: De) -> Result<(), De::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, D: QueryData> Visitor<'de> for Fields<'_, D> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by type path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if self.has {
                let has = map.next_value::<bool>()?;
                D::has(self.slots, &key.0, has);
            } else if !D::component(self.slots, &key.0, &mut map)? {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The rows of a `bulk.query` answer, `[[E,[value,…]],…]` with the values in the order
/// of `columns`, read in one pass; or, `packed`, the same rows in postcard's format
/// (`Vec<(u64, (C1, …))>`: each row and its values a tuple).
pub(crate) struct BulkRows<'c, D: QueryData> {
    pub(crate) columns: &'c [String],
    pub(crate) packed: bool,
    pub(crate) items: PhantomData<fn() -> D>,
}

impl<'de, D: QueryData> DeserializeSeed<'de> for BulkRows<'_, D> {
    type Value = Vec<D::Item>;

    fn deserialize<De: de::Deserializer<'de>>(
        self,
        deserializer: De,
    ) -> Result<Self::Value, De::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, D: QueryData> Visitor<'de> for BulkRows<'_, D> {
    type Value = Vec<D::Item>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows [entity, [value, …]]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element_seed(BulkRow::<D> {
            columns: self.columns,
            packed: self.packed,
            items: PhantomData,
        })? {
            items.push(item);
        }
        Ok(items)
    }
}

/// One `bulk.query` row, `[E,[value,…]]`.
struct BulkRow<'c, D> {
    columns: &'c [String],
    packed: bool,
    items: PhantomData<fn() -> D>,
}

impl<'de, D: QueryData> DeserializeSeed<'de> for BulkRow<'_, D> {
    type Value = D::Item;

    fn deserialize<De: de::Deserializer<'de>>(
        self,
        deserializer: De,
    ) -> Result<Self::Value, De::Error> {
        if self.packed {
            deserializer.deserialize_tuple(2, self)
        } else {
            deserializer.deserialize_seq(self)
        }
    }
}

impl<'de, D: QueryData> Visitor<'de> for BulkRow<'_, D> {
    type Value = D::Item;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row [entity, [value, …]]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let entity: u64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let mut slots = D::Slots::default();
        seq.next_element_seed(Values::<D> {
            columns: self.columns,
            packed: self.packed,
            slots: &mut slots,
        })?
        .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if !self.packed {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        D::finish(slots, entity).map_err(de::Error::custom)
    }
}

/// A `bulk.query` row's values, each read into `D`'s slots.
struct Values<'c, 's, D: QueryData> {
    columns: &'c [String],
    packed: bool,
    slots: &'s mut D::Slots,
}

impl<'de, D: QueryData> DeserializeSeed<'de> for Values<'_, '_, D> {
    type Value = ();

    fn deserialize<De: de::Deserializer<'de>>(self, deserializer: De) -> Result<(), De::Error> {
        if self.packed {
            deserializer.deserialize_tuple(self.columns.len(), self)
        } else {
            deserializer.deserialize_seq(self)
        }
    }
}

impl<'de, D: QueryData> Visitor<'de> for Values<'_, '_, D> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of values")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        for path in self.columns {
            if !D::component(self.slots, path, &mut SeqAsMap(&mut seq))? {
                if self.packed {
                    // Packed values cannot be skipped without their type.
                    return Err(de::Error::custom(format_args!(
                        "a packed row has a value of `{path}`, which the query does not read"
                    )));
                }
                seq.next_element::<IgnoredAny>()?;
            }
        }
        if !self.packed {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(())
    }
}

/// A list's elements as the values of a map without keys, so [`QueryData::component`]
/// reads `bulk.query`'s values as it reads `world.query`'s.
struct SeqAsMap<'a, A>(&'a mut A);

impl<'de, A: SeqAccess<'de>> MapAccess<'de> for SeqAsMap<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, A::Error> {
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0
            .next_element_seed(seed)?
            .ok_or_else(|| de::Error::custom("a row has fewer values than components"))
    }
}

/// An object's key (or any string), borrowed from the input unless it has escapes.
pub(crate) struct Key<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<De: de::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.into())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A JSON object read into `(key, value)` pairs, in order.
pub(crate) struct Pairs<'a, 'de, V>(pub(crate) &'a mut Vec<(&'de str, V)>);

impl<'de, V: Deserialize<'de>> DeserializeSeed<'de> for Pairs<'_, 'de, V> {
    type Value = ();

    fn deserialize<De: de::Deserializer<'de>>(self, deserializer: De) -> Result<(), De::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, V: Deserialize<'de>> Visitor<'de> for Pairs<'_, 'de, V> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by type path")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, value)) = map.next_entry::<&'de str, V>()? {
            self.0.push((key, value));
        }
        Ok(())
    }
}

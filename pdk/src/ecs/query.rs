//! Typed queries: [`QueryData`] (what a row fetches), [`QueryFilter`] (which entities
//! match), and reading the host's rows without building a JSON tree.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::{Component, Entity, misfit};
use crate::Error;
use crate::protocol::brp::{BRP_QUERY_METHOD, BrpQuery, BrpQueryFilter, ComponentSelector};

/// What one row of a [`world::query`](crate::world::query) fetches, and its Rust type.
///
/// Implemented for
///
/// - any [`Component`] `T`: the entity must have it; the item is its value;
/// - `Option<T>`: fetched when the entity has it;
/// - [`Has<T>`]: whether the entity has it (a `bool`);
/// - [`Entity`]: the row's entity;
/// - tuples of these, up to eight (nest tuples for more).
pub trait QueryData {
    /// What a row turns into.
    type Item;

    /// Adds the type paths this data needs to `query`.
    fn describe(query: &mut BrpQuery);

    /// Reads the item from one row of the answer.
    ///
    /// # Errors
    ///
    /// When a value is missing or does not fit its type (`-32603`, naming the type and
    /// serde's account of the field).
    fn read(row: &Row<'_>) -> Result<Self::Item, Error>;
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

    fn describe(_: &mut BrpQuery) {}

    fn read(row: &Row<'_>) -> Result<Entity, Error> {
        Ok(Entity(row.entity))
    }
}

impl<T: Component> QueryData for T {
    type Item = T;

    fn describe(query: &mut BrpQuery) {
        query.components.push(T::TYPE_PATH.into());
    }

    fn read(row: &Row<'_>) -> Result<T, Error> {
        match row.component::<T>()? {
            Some(value) => Ok(value),
            None => Err(misfit(
                BRP_QUERY_METHOD,
                T::TYPE_PATH,
                format_args!("entity {} has no value for it", row.entity),
            )),
        }
    }
}

impl<T: Component> QueryData for Option<T> {
    type Item = Option<T>;

    fn describe(query: &mut BrpQuery) {
        match &mut query.option {
            ComponentSelector::Paths(paths) => paths.push(T::TYPE_PATH.into()),
            ComponentSelector::All => {}
        }
    }

    fn read(row: &Row<'_>) -> Result<Option<T>, Error> {
        row.component::<T>()
    }
}

impl<T: Component> QueryData for Has<T> {
    type Item = bool;

    fn describe(query: &mut BrpQuery) {
        query.has.push(T::TYPE_PATH.into());
    }

    fn read(row: &Row<'_>) -> Result<bool, Error> {
        Ok(row
            .has
            .iter()
            .any(|&(path, has)| has && path == T::TYPE_PATH))
    }
}

macro_rules! tuple_query {
    ($($t:ident),*) => {
        impl<$($t: QueryData),*> QueryData for ($($t,)*) {
            type Item = ($($t::Item,)*);

            fn describe(query: &mut BrpQuery) {
                $($t::describe(query);)*
            }

            fn read(row: &Row<'_>) -> Result<Self::Item, Error> {
                Ok(($($t::read(row)?,)*))
            }
        }

        impl<$($t: QueryFilter),*> QueryFilter for ($($t,)*) {
            fn describe(filter: &mut BrpQueryFilter) {
                $($t::describe(filter);)*
            }
        }
    };
}

tuple_query!(A);
tuple_query!(A, B);
tuple_query!(A, B, C);
tuple_query!(A, B, C, D);
tuple_query!(A, B, C, D, E);
tuple_query!(A, B, C, D, E, F);
tuple_query!(A, B, C, D, E, F, G);
tuple_query!(A, B, C, D, E, F, G, H);

/// One row of a `world.query` answer, its values still JSON text:
/// `{"entity":E,"components":{P:value,…},"has":{P:bool,…}}`.
pub struct Row<'a> {
    /// The entity's bits.
    pub entity: u64,
    /// The fetched values, by type path.
    components: Vec<(&'a str, &'a RawValue)>,
    /// The `has` answers, by type path.
    has: Vec<(&'a str, bool)>,
}

impl Row<'_> {
    /// The value of component `T`, if the row has one.
    ///
    /// # Errors
    ///
    /// When the value does not fit `T`.
    pub fn component<T: Component>(&self) -> Result<Option<T>, Error> {
        let Some(&(_, raw)) = self
            .components
            .iter()
            .find(|(path, _)| *path == T::TYPE_PATH)
        else {
            return Ok(None);
        };
        serde_json::from_str(raw.get())
            .map(Some)
            .map_err(|e| misfit(BRP_QUERY_METHOD, T::TYPE_PATH, e))
    }
}

/// Reads the rows of a `world.query` answer and turns each into `D::Item`.
pub(crate) fn read_rows<D: QueryData>(json: &str) -> Result<Vec<D::Item>, Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let items = serde::Deserializer::deserialize_seq(&mut de, RowsVisitor::<D>(PhantomData))
        .map_err(|e| misfit(BRP_QUERY_METHOD, "a list of rows", e))?;
    de.end()
        .map_err(|e| misfit(BRP_QUERY_METHOD, "a list of rows", e))?;
    items
}

struct RowsVisitor<D>(PhantomData<fn() -> D>);

impl<'de, D: QueryData> Visitor<'de> for RowsVisitor<D> {
    type Value = Result<Vec<D::Item>, Error>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(row) = seq.next_element::<Row<'de>>()? {
            match D::read(&row) {
                Ok(item) => items.push(item),
                Err(error) => return Ok(Err(error)),
            }
        }
        Ok(Ok(items))
    }
}

impl<'de> Deserialize<'de> for Row<'de> {
    fn deserialize<De: de::Deserializer<'de>>(deserializer: De) -> Result<Self, De::Error> {
        deserializer.deserialize_map(RowVisitor)
    }
}

struct RowVisitor;

impl<'de> Visitor<'de> for RowVisitor {
    type Value = Row<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row {\"entity\", \"components\", \"has\"}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Row<'de>, A::Error> {
        let mut entity = None;
        let mut components = Vec::new();
        let mut has = Vec::new();
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "entity" => entity = Some(map.next_value::<u64>()?),
                "components" => map.next_value_seed(Pairs(&mut components))?,
                "has" => map.next_value_seed(Pairs(&mut has))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Row {
            entity: entity.ok_or_else(|| de::Error::missing_field("entity"))?,
            components,
            has,
        })
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

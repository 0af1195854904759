//! [`Bundle`]: one component or a tuple of them, as a `{type path: value}` map.

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Component;

/// One [`Component`] or a tuple of up to eight: what
/// [`world::spawn`](crate::world::spawn) and [`world::insert`](crate::world::insert)
/// write and [`world::remove`](crate::world::remove) takes away.
pub trait Bundle: 'static {
    /// Adds the type paths of the bundle's components to `paths`.
    fn paths(paths: &mut Vec<String>);

    /// Writes each component as an entry of `map`, keyed by its type path.
    ///
    /// # Errors
    ///
    /// When a component does not serialize.
    fn write_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error>;
}

impl<T: Component> Bundle for T {
    fn paths(paths: &mut Vec<String>) {
        paths.push(T::TYPE_PATH.into());
    }

    fn write_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry(T::TYPE_PATH, self)
    }
}

macro_rules! tuple_bundle {
    ($($t:ident $i:tt),*) => {
        impl<$($t: Bundle),*> Bundle for ($($t,)*) {
            fn paths(paths: &mut Vec<String>) {
                $($t::paths(paths);)*
            }

            fn write_entries<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
                $(self.$i.write_entries(map)?;)*
                Ok(())
            }
        }
    };
}

tuple_bundle!(A 0);
tuple_bundle!(A 0, B 1);
tuple_bundle!(A 0, B 1, C 2);
tuple_bundle!(A 0, B 1, C 2, D 3);
tuple_bundle!(A 0, B 1, C 2, D 3, E 4);
tuple_bundle!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_bundle!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_bundle!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

/// A bundle serialized as the map `world.spawn_entity` and `world.insert_components`
/// take: `{"game::Velocity":{…},…}`.
pub(crate) struct Entries<'a, B>(pub(crate) &'a B);

impl<B: Bundle> Serialize for Entries<'_, B> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        self.0.write_entries(&mut map)?;
        map.end()
    }
}

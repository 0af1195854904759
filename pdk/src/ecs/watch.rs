//! Typed watches: a mod subscribes with [`world::watch`](super::world::watch),
//! [`world::watch_list`](super::world::watch_list) or
//! [`world::observe`](super::world::observe), keeps the [`Watch`] it gets, and reads
//! each `watch.changed` notification ([`WatchChanged`], an [`Event`]) with
//! [`Watch::read`], which gives the change typed, or nothing when the notification is
//! another watch's.
//!
//! ```no_run
//! use bevy_wasmi_plugins_pdk::prelude::*;
//! use bevy_wasmi_plugins_pdk::world::{self, Changed, Watch, WatchChanged};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Health(u32);
//! bevy_wasmi_plugins_pdk::type_paths! { Component for Health = "game::Health"; }
//!
//! #[derive(Default)]
//! struct Medic {
//!     watch: State<Option<Watch<Changed<Health>>>>,
//! }
//!
//! impl Plugin for Medic {
//!     fn methods(methods: &mut Methods<Self>) {
//!         methods.on(|this: &'static Self, changed: WatchChanged| async move {
//!             let Some(watch) = this.watch.get() else { return Ok(()) };
//!             match watch.read(&changed) {
//!                 Some(Ok(Changed::Changed(Health(hp)))) => log::info!("health {hp}"),
//!                 Some(Ok(Changed::Removed)) => log::info!("no health any more"),
//!                 Some(Err(ended)) => log::info!("the watch ended: {ended}"),
//!                 None => {} // another watch's
//!             }
//!             Ok::<(), Error>(())
//!         });
//!     }
//!
//!     async fn init(&'static self, _: Init) -> Result<(), Error> {
//!         let watch = world::watch::<Health>(Entity::from_bits(42)).await?;
//!         self.watch.with(|w| *w = Some(watch));
//!         Ok(())
//!     }
//! }
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Component, misfit};
use crate::protocol::brp::{
    BRP_GET_COMPONENTS_AND_WATCH_METHOD, BRP_LIST_COMPONENTS_AND_WATCH_METHOD, BRP_OBSERVE_METHOD,
    BrpListComponentsWatchingResponse, WATCH_CANCEL_METHOD, WATCH_CHANGED_NOTIFICATION,
    WatchCancelParams, WatchNotification,
};
use crate::{Error, Event, Json, host};

/// The `watch.changed` notification, as the host sends it (the protocol's
/// [`WatchNotification`] with its result left raw). Handle it with
/// [`Methods::on`](crate::Methods::on) and read it with [`Watch::read`]. The host sends
/// it for every watch the mod holds, whether or not the manifest lists it.
pub type WatchChanged = WatchNotification<Json>;

impl Event for WatchNotification<Json> {
    const NAME: &'static str = WATCH_CHANGED_NOTIFICATION;
}

/// A subscription the host keeps for the mod: its id and the type `C` its
/// notifications are read into ([`Changed<T>`], [`BrpListComponentsWatchingResponse`]
/// or [`Observed<E>`]). Plain data: keep it in the mod's state.
///
/// A watch ends when [`Watch::cancel`] is called, when [`Watch::read`] gives an error
/// (the host ended it: its entity was despawned, or the game took back the mod's read
/// access), and when the mod stops or reloads.
pub struct Watch<C> {
    id: u64,
    change: PhantomData<fn() -> C>,
}

impl<C> Clone for Watch<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Watch<C> {}

impl<C> PartialEq for Watch<C> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl<C> Eq for Watch<C> {}

impl<C> fmt::Debug for Watch<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Watch").field(&self.id).finish()
    }
}

impl<C: WatchChange> Watch<C> {
    /// The watch with the id a `+watch` method answered (`{"watch":id}`).
    pub const fn from_id(id: u64) -> Self {
        Watch {
            id,
            change: PhantomData,
        }
    }

    /// The id the host gave this watch; its notifications carry it.
    pub const fn id(&self) -> u64 {
        self.id
    }

    /// What `changed` says of this watch: `None` when it is another watch's
    /// notification, the change read into `C`, or the error with which the host ended
    /// the watch (`-23401` when its entity was despawned, `-32006` when the mod may no
    /// longer read what it watches).
    ///
    /// # Errors
    ///
    /// Besides the host's ending: `-32603` when the change does not fit `C`.
    pub fn read(&self, changed: &WatchChanged) -> Option<Result<C, Error>> {
        if changed.watch != self.id {
            return None;
        }
        Some(match (&changed.error, &changed.result) {
            (Some(error), _) => Err(Error::from(error.clone())),
            (None, Some(result)) => C::read(result, changed.dropped),
            (None, None) => Err(Error::internal(format_args!(
                "{WATCH_CHANGED_NOTIFICATION} for watch {} has neither a result nor an error",
                self.id
            ))),
        })
    }

    /// Ends the watch (`watch.cancel`): no notification for it follows.
    ///
    /// # Errors
    ///
    /// `-32602` when the host holds no such watch (it ended already).
    pub async fn cancel(self) -> Result<(), Error> {
        host::call(WATCH_CANCEL_METHOD, &WatchCancelParams { watch: self.id }).await
    }
}

/// What a [`Watch`]'s notifications are read into. Implemented by [`Changed<T>`]
/// (`world.get_components+watch`), [`BrpListComponentsWatchingResponse`]
/// (`world.list_components+watch`) and [`Observed<E>`] (`world.observe+watch`).
pub trait WatchChange: Sized + 'static {
    /// Reads a notification's `result`; `dropped` is its count of events left out.
    #[doc(hidden)]
    fn read(result: &Json, dropped: u64) -> Result<Self, Error>;
}

/// A change of the component a [`world::watch`](super::world::watch) watches.
#[derive(Clone, Debug, PartialEq)]
pub enum Changed<T> {
    /// It was added or changed: its new value.
    Changed(T),
    /// It was removed from the entity.
    Removed,
}

impl<T: Component> WatchChange for Changed<T> {
    fn read(result: &Json, _: u64) -> Result<Self, Error> {
        let fail =
            |e: &dyn fmt::Display| misfit(BRP_GET_COMPONENTS_AND_WATCH_METHOD, T::TYPE_PATH, e);
        let change: ComponentsChange<'_> =
            serde_json::from_slice(result.get().as_bytes()).map_err(|e| fail(&e))?;
        if let Some((_, raw)) = change.components.0.iter().find(|(p, _)| *p == T::TYPE_PATH) {
            return serde_json::from_slice(raw.get().as_bytes())
                .map(Changed::Changed)
                .map_err(|e| fail(&e));
        }
        if change.removed.contains(&T::TYPE_PATH) {
            return Ok(Changed::Removed);
        }
        Err(fail(&"it is neither changed nor removed"))
    }
}

/// A `world.get_components+watch` result, its values left raw.
#[derive(Deserialize)]
struct ComponentsChange<'a> {
    #[serde(borrow)]
    components: super::world::Object<'a>,
    #[serde(borrow)]
    removed: Vec<&'a str>,
}

impl WatchChange for BrpListComponentsWatchingResponse {
    fn read(result: &Json, _: u64) -> Result<Self, Error> {
        serde_json::from_slice(result.get().as_bytes()).map_err(|e| {
            misfit(
                BRP_LIST_COMPONENTS_AND_WATCH_METHOD,
                "the added and removed components",
                e,
            )
        })
    }
}

/// The events of type `E` a [`world::observe`](super::world::observe) watch saw in one
/// frame, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed<E> {
    /// The events.
    pub events: Vec<E>,
    /// How many more were triggered that frame than one notification carries.
    pub dropped: u64,
}

impl<E: super::Trigger + DeserializeOwned> WatchChange for Observed<E> {
    fn read(result: &Json, dropped: u64) -> Result<Self, Error> {
        let events = serde_json::from_slice(result.get().as_bytes())
            .map_err(|e| misfit(BRP_OBSERVE_METHOD, E::TYPE_PATH, e))?;
        Ok(Observed { events, dropped })
    }
}

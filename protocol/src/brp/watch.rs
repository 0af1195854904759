//! Subscriptions: BRP's `+watch` methods, delivered to a mod as notifications.
//!
//! Over HTTP, `bevy_remote` answers a `+watch` request many times (a stream). A mod's
//! JSON-RPC session has one answer per request, so here a `+watch` request is answered
//! at once with the subscription's id ([`BrpWatchResponse`]), and each frame in which a
//! watched thing changed the host sends the mod one [`WATCH_CHANGED_NOTIFICATION`]
//! notification ([`WatchNotification`]) whose `result` is what `bevy_remote` would have
//! streamed: a [`BrpGetComponentsWatchingResponse`], a
//! [`BrpListComponentsWatchingResponse`] or a [`BrpObserveWatchingResponse`]. Nothing
//! is sent in a frame without a change, and the mod never polls.
//!
//! A watch ends when the mod sends [`WATCH_CANCEL_METHOD`] with its id, when the
//! watched entity is despawned (a last notification carries the error), and when the
//! mod stops, crashes or is reloaded.
//!
//! ```
//! use bevy_wasmi_plugins_protocol::brp::{BrpListComponentsWatchingResponse, WatchNotification};
//!
//! let line = r#"{"watch":3,"result":{"added":["my_game::Hp"],"removed":[]}}"#;
//! let n: WatchNotification<BrpListComponentsWatchingResponse> = serde_json::from_str(line).unwrap();
//! assert_eq!(n.watch, 3);
//! assert_eq!(n.result.unwrap().added, ["my_game::Hp"]);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ResponseError;

/// `world.get_components+watch`: params [`BrpGetComponentsParams`](super::BrpGetComponentsParams);
/// notifications carry a [`BrpGetComponentsWatchingResponse`].
pub const BRP_GET_COMPONENTS_AND_WATCH_METHOD: &str = "world.get_components+watch";
/// `world.list_components+watch`: params [`BrpListComponentsParams`](super::BrpListComponentsParams);
/// notifications carry a [`BrpListComponentsWatchingResponse`].
pub const BRP_LIST_COMPONENTS_AND_WATCH_METHOD: &str = "world.list_components+watch";
/// `world.observe+watch`: params [`BrpObserveParams`]; notifications carry a
/// [`BrpObserveWatchingResponse`].
pub const BRP_OBSERVE_METHOD: &str = "world.observe+watch";
/// The notification (host → mod) of a watch's changes: params [`WatchNotification`].
/// Not a BRP method: BRP streams answers instead.
pub const WATCH_CHANGED_NOTIFICATION: &str = "watch.changed";
/// The request (mod → host) that ends a watch: params [`WatchCancelParams`], result
/// `null`. Not a BRP method: over HTTP a client closes the stream instead.
pub const WATCH_CANCEL_METHOD: &str = "watch.cancel";

/// The answer to a `+watch` request: `{"watch":id}`, the id that the notifications and
/// [`WATCH_CANCEL_METHOD`] name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrpWatchResponse {
    /// The subscription's id, unique for the mod's instance.
    pub watch: u64,
}

/// The params of [`WATCH_CANCEL_METHOD`]: `{"watch":id}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchCancelParams {
    /// The id [`BrpWatchResponse`] gave.
    pub watch: u64,
}

/// The params of a [`WATCH_CHANGED_NOTIFICATION`]:
/// `{"watch":id,"result":…}`, or `{"watch":id,"error":{…}}` when the watch ended
/// because it cannot go on (its entity was despawned).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchNotification<T = Value> {
    /// The subscription's id.
    pub watch: u64,
    /// What changed since the last notification.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub result: Option<T>,
    /// Why the watch ended; no more notifications follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
    /// Events of a `world.observe+watch` left out because more were triggered in one
    /// frame than a notification carries ([`MAX_OBSERVED_PER_FRAME`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u64,
}

fn none<T>() -> Option<T> {
    None
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The most events one `world.observe+watch` notification carries; the rest of a
/// frame's are counted in [`WatchNotification::dropped`].
pub const MAX_OBSERVED_PER_FRAME: usize = 256;

/// The most watches a mod may hold at once; one more is refused with `-32602`.
pub const MAX_WATCHES_PER_MOD: usize = 64;

/// A `world.get_components+watch` notification's result (BRP's shape).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BrpGetComponentsWatchingResponse {
    /// Without `strict`: `{"components":{…},"removed":[…],"errors":{…}}`.
    Lenient {
        /// The values of the components added or changed, by type path.
        components: Map<String, Value>,
        /// The type paths of the components removed.
        removed: Vec<String>,
        /// The errors (`{"code":…,"message":…}`) of the components that could not be
        /// read, by type path.
        errors: Map<String, Value>,
    },
    /// With `strict`: `{"components":{…},"removed":[…]}`.
    Strict {
        /// The values of the components added or changed, by type path.
        components: Map<String, Value>,
        /// The type paths of the components removed.
        removed: Vec<String>,
    },
}

/// A `world.list_components+watch` notification's result: `{"added":[…],"removed":[…]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrpListComponentsWatchingResponse {
    /// The type paths of the components added to the entity.
    pub added: Vec<String>,
    /// The type paths of the components removed from it.
    pub removed: Vec<String>,
}

/// The params of `world.observe+watch`: `{"event":P}` for every trigger of the event, or
/// `{"event":P,"entity":E}` for those that target the entity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrpObserveParams {
    /// The event's type path (a type with `#[reflect(Event)]`).
    pub event: String,
    /// Only the triggers that target this entity.
    #[serde(default)]
    pub entity: Option<u64>,
}

/// A `world.observe+watch` notification's result: the events triggered since the last
/// one, oldest first, as their reflected JSON (BRP's shape).
pub type BrpObserveWatchingResponse = Vec<Value>;

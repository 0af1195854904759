//! What [`ModRpc`](crate::bevy::rpc::ModRpc) and the driver share: the [`Outbound`]
//! messages it sends the driver (calls, notifications, event broadcasts), the
//! [`Caller`] waiting for a call's answer, and the [`Directory`] of live mods that the
//! driver keeps up to date so a call to a mod that is gone fails at once.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::bevy::bevy_prelude::*;
use bevy_wasmi_plugins_protocol::{ErrorCode, Outcome, ResponseError};
use serde_json::value::RawValue;

use crate::bevy::calls::{CallDeadline, ModCallId, ModCallResult, ModTarget};
use crate::runtime::reply::ReplySender;

/// Something for the driver to deliver.
pub(crate) enum Outbound {
    Call {
        caller: Caller,
        target: ModTarget,
        params: Box<RawValue>,
    },
    Notify {
        target: ModTarget,
        method: String,
        params: Box<RawValue>,
    },
    Broadcast {
        event: String,
        params: Box<RawValue>,
    },
    /// A call that failed before delivery (its caller has its error already); reported
    /// as a [`ModCallResult`].
    Failed {
        id: ModCallId,
        target: ModTarget,
        method: String,
        error: ResponseError,
    },
}

/// Who waits for a game → mod call's answer: the [`ModCall`](crate::bevy::calls::ModCall)
/// future and the readers of [`ModCallResult`].
pub(crate) struct Caller {
    pub(crate) id: ModCallId,
    pub(crate) method: String,
    pub(crate) reply: ReplySender,
    /// What the game asked for this call; the rest comes from the mod's defaults.
    pub(crate) deadline: CallDeadline,
}

impl Caller {
    /// Answers the call: completes its future and writes its [`ModCallResult`]. The one
    /// place a game → mod call ends (but for one refused at once, whose future
    /// [`ModRpc`](crate::bevy::rpc::ModRpc) completes itself: see [`report`]).
    pub(crate) fn answer(self, world: &mut World, entity: Option<Entity>, outcome: Outcome) {
        self.reply.send(outcome.clone());
        report(world, self.id, entity, self.method, outcome.map(Arc::from));
    }
}

/// Writes the [`ModCallResult`] of call `id`: the one place it is written.
pub(crate) fn report(
    world: &mut World,
    id: ModCallId,
    entity: Option<Entity>,
    method: String,
    result: Result<Arc<RawValue>, ResponseError>,
) {
    world.write_message(ModCallResult {
        call: id,
        entity,
        method,
        result,
    });
}

/// Which mods are alive, by entity and by name: a cheap handle on one shared table that
/// [`ModRpc`](crate::bevy::rpc::ModRpc) reads and the driver writes. A panic elsewhere
/// while it was held leaves it usable: every update is a few inserts or removes.
#[derive(Clone, Default, Debug)]
pub(crate) struct Directory(Arc<RwLock<Entries>>);

#[derive(Default, Debug)]
struct Entries {
    /// Each published mod's name, and the error a call to it gets at once (when down).
    by_entity: HashMap<Entity, (Arc<str>, Option<ResponseError>)>,
    /// The mod a name means (of two mods with one name, the first).
    by_name: HashMap<Arc<str>, Entity>,
}

impl Directory {
    fn read(&self) -> RwLockReadGuard<'_, Entries> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The error a call to `target` gets at once, if any.
    pub(crate) fn refuse(&self, target: &ModTarget) -> Option<ResponseError> {
        let entries = self.read();
        let entity = match target {
            ModTarget::Entity(entity) => *entity,
            ModTarget::Name(name) => match entries.by_name.get(name.as_str()) {
                Some(entity) => *entity,
                None => {
                    return Some(ResponseError::new(
                        ErrorCode::ModUnavailable,
                        format!("no mod is named `{name}`"),
                    ));
                }
            },
        };
        match entries.by_entity.get(&entity) {
            None => Some(ResponseError::new(
                ErrorCode::ModUnavailable,
                format!("{target} is not a mod (not loaded, or unloaded)"),
            )),
            Some((_, error)) => error.clone(),
        }
    }

    /// Publishes the live mod `entity` under `name` (again, when its name changed);
    /// `holder` is the mod the name means (the first mod of that name).
    pub(crate) fn publish(&self, entity: Entity, name: Arc<str>, holder: Entity) {
        let mut entries = self.write();
        if let Some((old, _)) = entries.by_entity.insert(entity, (name.clone(), None))
            && entries.by_name.get(&old) == Some(&entity)
        {
            entries.by_name.remove(&old);
        }
        entries.by_name.insert(name, holder);
    }

    /// Sets the error calls to `entity` get at once (`None`: they go through).
    pub(crate) fn set_refusal(&self, entity: Entity, refusal: Option<ResponseError>) {
        if let Some(entry) = self.write().by_entity.get_mut(&entity) {
            entry.1 = refusal;
        }
    }

    /// Removes `entity`; if its name meant it, the name now means `next(name)` (the next
    /// mod of that name), or nothing.
    pub(crate) fn unpublish(&self, entity: Entity, next: impl FnOnce(&str) -> Option<Entity>) {
        let mut entries = self.write();
        if let Some((name, _)) = entries.by_entity.remove(&entity)
            && entries.by_name.get(&name) == Some(&entity)
        {
            match next(&name) {
                Some(next) => entries.by_name.insert(name, next),
                None => entries.by_name.remove(&name),
            };
        }
    }
}

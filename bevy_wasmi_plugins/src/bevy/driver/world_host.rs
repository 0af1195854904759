//! How a mod's requests reach the game: [`WorldHost`] is the runtime's
//! [`ModHost`] for one mod, serving `world.*` from
//! [`ecs_methods`](crate::bevy::ecs_methods) and the game's host methods (as Bevy
//! systems, with [`CallingMod`] set), turning the mod's notifications into
//! [`ModNotification`] messages and its stderr into Bevy's log.
//! [`Slot::run_slice`] is the one place a mod runs against the `World`.

use std::sync::Arc;

use crate::bevy::bevy_prelude::*;
use bevy_platform::time::Instant;
use bevy_wasmi_plugins_protocol::brp::{
    BULK_MUTATE_COMPONENTS_METHOD, InfoObject, MethodObject, OpenRpcDocument, Parameter,
    RPC_DISCOVER_METHOD,
};
use bevy_wasmi_plugins_protocol::{
    ErrorCode, Notification, Outcome, Request, ResponseError, to_raw,
};

use super::lifecycle::Slot;
use crate::bevy::calls::ModNotification;
use crate::bevy::ecs_methods::{self, Work};
use crate::bevy::host_methods::{CallingMod, HostMethods};
use crate::bevy::permissions::{ModPermissions, denied};
use crate::bevy::settings::with_settings;
use crate::runtime::{ModError, ModHost, RunStatus};

impl Slot {
    /// Runs the mod's instance, if it has one, with its fuel slice, serving its host
    /// calls against `world`; past `deadline` (the frame's wall-time budget) it pauses
    /// between its host calls and goes on next frame.
    pub(super) fn run_slice(
        &mut self,
        world: &mut World,
        methods: &HostMethods,
        entity: Entity,
        deadline: Option<Instant>,
    ) -> Option<Result<RunStatus, ModError>> {
        let instance = self.instance.as_mut()?;
        let (per_call, per_entity, max_world_params) = with_settings(world, |s| {
            (s.fuel_per_host_call, s.fuel_per_entity, s.max_world_params)
        });
        let caller = ecs_methods::Caller::new(world, &self.permissions, entity, &self.name);
        let mut host = WorldHost {
            world,
            methods,
            entity,
            name: &self.name,
            permissions: &self.permissions,
            caller,
            deadline,
            max_answer: instance.limits().max_message_size,
            per_call,
            per_entity,
            max_world_params,
            owed: 0,
        };
        Some(instance.run(self.fuel_per_frame, &mut host))
    }
}

/// Serves one mod's requests against the `World`.
struct WorldHost<'a> {
    world: &'a mut World,
    methods: &'a HostMethods,
    entity: Entity,
    name: &'a Arc<str>,
    permissions: &'a ModPermissions,
    /// What its `world.*` calls share, looked up once per run slice.
    caller: ecs_methods::Caller<'a>,
    /// When the frame's wall-time budget is spent.
    deadline: Option<Instant>,
    /// The mod's message cap: no answer longer than this is computed in full.
    max_answer: usize,
    /// Fuel per `world.*` or host method call, and per entity a `world.*` call visits.
    per_call: u64,
    per_entity: u64,
    /// Longest params of a `world.*` call.
    max_world_params: usize,
    /// Fuel for the host's work not yet charged to the mod.
    owed: u64,
}

impl ModHost for WorldHost<'_> {
    fn should_pause(&mut self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }

    fn take_fuel(&mut self) -> u64 {
        std::mem::take(&mut self.owed)
    }

    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome {
        self.serve(mod_name, request, None, None)
    }

    fn request_with_attachment(
        &mut self,
        mod_name: &str,
        request: &Request<'_>,
        attachment: Option<&[u8]>,
        answer: &mut Option<Vec<u8>>,
    ) -> Outcome {
        self.serve(mod_name, request, attachment, Some(answer))
    }

    fn notification(&mut self, _mod_name: &str, notification: &Notification<'_>) {
        let notification = ModNotification {
            entity: self.entity,
            name: self.name.clone(),
            method: notification.method.to_string(),
            params: notification.params.map(|p| Arc::from(p.to_owned())),
        };
        // A host method may have despawned the mod's entity meanwhile.
        if self.world.get_entity(self.entity).is_ok() {
            self.world.trigger(notification.clone());
        }
        self.world.write_message(notification);
    }

    fn log(&mut self, mod_name: &str, line: &str) {
        let (level, message) = split_level(line);
        log::log!(target: mod_name, level, "{message}");
    }

    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        warn!("mod `{mod_name}`: {warning}");
    }
}

impl WorldHost<'_> {
    /// Serves a request; `answer` is where an attachment to the answer goes, if the
    /// request may have one (it is alone on its line).
    fn serve(
        &mut self,
        mod_name: &str,
        request: &Request<'_>,
        attachment: Option<&[u8]>,
        answer: Option<&mut Option<Vec<u8>>>,
    ) -> Outcome {
        let method: &str = &request.method;
        self.owed = self.owed.saturating_add(self.per_call);
        // Only one method reads an attachment: one sent to any other would be lost.
        if attachment.is_some() && method != BULK_MUTATE_COMPONENTS_METHOD {
            return Err(ResponseError::new(
                ErrorCode::InvalidParams,
                format!(
                    "{method} takes no attachment (only {BULK_MUTATE_COMPONENTS_METHOD} with \
                     `attached` does); it was not run"
                ),
            ));
        }
        if method == RPC_DISCOVER_METHOD {
            return self.discover();
        }
        let bulk = method.starts_with("bulk.");
        if ecs_methods::serves(method) {
            // `bulk.*` params may be as long as the mod's message cap, which the runtime
            // has already checked; they are made for many entities.
            let size = request.params.map_or(0, |params| params.get().len());
            if !bulk && size > self.max_world_params {
                return Err(ResponseError::new(
                    ErrorCode::MessageTooLarge,
                    format!(
                        "the params of {method} from mod `{mod_name}` are {size} bytes, more \
                         than a world.* call may have ({} bytes)",
                        self.max_world_params
                    ),
                ));
            }
            let mut work = Work {
                max_answer: self.max_answer,
                entities: 0,
                attachment,
                answer,
            };
            let outcome =
                ecs_methods::serve(self.world, &self.caller, method, request.params, &mut work)
                    .unwrap_or_else(|| Err(ResponseError::method_not_found(method)));
            self.owed = self
                .owed
                .saturating_add(work.entities.saturating_mul(self.per_entity));
            return outcome;
        }
        if !self.methods.methods.contains_key(method) {
            return Err(ResponseError::method_not_found(method));
        }
        if !self.permissions.may_call(method) {
            return Err(denied(
                mod_name,
                format_args!("call host method `{method}`"),
            ));
        }
        self.world.insert_resource(CallingMod {
            entity: self.entity,
            name: self.name.clone(),
        });
        let outcome = self
            .methods
            .call(self.world, method, request.params)
            .unwrap_or_else(|| Err(ResponseError::method_not_found(method)));
        self.world.remove_resource::<CallingMod>();
        outcome
    }

    /// `rpc.discover`: the `world.*`, `bulk.*` and inspection methods, and the game's
    /// host methods the mod may call, with the schemas of their params and answer when
    /// the game registered those types for reflection (else none is listed).
    fn discover(&self) -> Outcome {
        let mut methods: Vec<MethodObject> = ecs_methods::ECS_METHODS
            .iter()
            .chain(&[RPC_DISCOVER_METHOD])
            .map(|name| MethodObject {
                name: (*name).to_owned(),
                summary: Some(if name.starts_with("bulk.") || name.starts_with("watch.") {
                    "bevy_wasmi_plugins extension (not BRP)".to_owned()
                } else {
                    "Bevy Remote Protocol 0.19".to_owned()
                }),
                ..MethodObject::default()
            })
            .collect();
        let mut host: Vec<_> = self
            .methods
            .methods
            .iter()
            .filter(|(name, _)| self.permissions.may_call(name))
            .collect();
        host.sort_unstable_by_key(|(name, _)| *name);
        let registry = self
            .world
            .get_resource::<AppTypeRegistry>()
            .cloned()
            .unwrap_or_default();
        let registry = registry.read();
        methods.extend(host.into_iter().map(|(name, method)| {
            let schema = |id| ecs_methods::type_schema(&registry, id);
            MethodObject {
                name: name.clone(),
                summary: Some("host method of the game".to_owned()),
                params: schema(method.params)
                    .map(|schema| Parameter {
                        name: "params".to_owned(),
                        schema,
                    })
                    .into_iter()
                    .collect(),
                result: method.answer.and_then(schema).map(|schema| Parameter {
                    name: "result".to_owned(),
                    schema,
                }),
            }
        }));
        to_raw(&OpenRpcDocument {
            openrpc: "1.3.2".to_owned(),
            info: InfoObject {
                title: "bevy_wasmi_plugins host".to_owned(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                description: Some(format!("the methods mod `{}` may call", self.name)),
            },
            methods,
            servers: None,
        })
    }
}

/// The level a PDK log line starts with (`INFO target: message`), and the rest; lines
/// without one (another language's stderr) are `info`.
fn split_level(line: &str) -> (log::Level, &str) {
    for level in [
        log::Level::Error,
        log::Level::Warn,
        log::Level::Info,
        log::Level::Debug,
        log::Level::Trace,
    ] {
        if let Some(rest) = line.strip_prefix(level.as_str())
            && let Some(rest) = rest.strip_prefix(' ')
        {
            return (level, rest);
        }
    }
    (log::Level::Info, line)
}

#[cfg(test)]
mod tests {
    // Under Node (`scripts/web-test.sh`) these run through wasm-bindgen-test.
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn log_lines_keep_their_level() {
        assert_eq!(
            split_level("WARN m: low fuel"),
            (log::Level::Warn, "m: low fuel")
        );
        assert_eq!(split_level("INFO x"), (log::Level::Info, "x"));
        assert_eq!(split_level("plain text"), (log::Level::Info, "plain text"));
        assert_eq!(split_level("ERRORS"), (log::Level::Info, "ERRORS"));
    }
}

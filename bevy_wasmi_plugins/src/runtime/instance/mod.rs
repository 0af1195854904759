//! A mod as a JSON-RPC peer: a persistent [`Guest`] whose stdout lines are served by the
//! embedder's [`ModHost`] and whose stdin carries the host's calls and replies.
//!
//! `mod.rs` holds the instance and its run loop; `host.rs` the [`ModHost`] trait,
//! `call.rs` the [`CallHandle`] and [`call_fresh`], `serve.rs` what is done with the
//! mod's output.

mod call;
mod host;
mod serve;

pub use call::{CallHandle, MAX_FRESH_CALL_SLEEP, call_fresh};
pub use host::{ModHost, NoHost};

use std::collections::BTreeMap;

use bevy_wasmi_plugins_protocol::{
    ErrorCode, RequestId, ResponseError, write_notification, write_request,
};
use serde::Serialize;

use super::clock::ClockId;
use super::error::{ModError, ModErrorKind};
use super::guest::{Guest, GuestStatus};
use super::reply::ReplySender;
use super::{Limits, ModConfig, ModModule};

/// Why [`ModInstance::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// The mod waits for input and has nothing to do: running it again costs nothing
    /// until a call is made.
    Idle,
    /// The mod sleeps until `clock` reaches `deadline` (ns).
    Sleeping {
        /// The clock of the deadline.
        clock: ClockId,
        /// The deadline.
        deadline: u64,
    },
    /// The fuel slice is used up and the mod has more to do: run it again (next frame).
    Yielded,
    /// The mod's program ended with this exit code; pending calls failed.
    Exited(i32),
}

/// A call waiting for the mod's answer.
#[derive(Debug)]
struct Pending {
    sender: ReplySender,
    /// The mod's total fuel past which the call fails.
    deadline: u64,
    /// The fuel it was given.
    fuel: u64,
}

/// One persistent mod instance speaking JSON-RPC over its stdio.
pub struct ModInstance {
    guest: Guest,
    limits: Limits,
    next_id: i64,
    pending: BTreeMap<i64, Pending>,
    /// What the last run ended with (`Yielded` before the first), or the error that
    /// stopped the mod; an `Exited` or an error is final.
    state: Result<RunStatus, ModError>,
    /// Fuel used since the mod last waited for input (the end of an activation).
    activation_fuel: u64,
    /// Fuel the mod owes for messages served when its slice had less left than they
    /// cost; paid first from the next slice.
    fuel_debt: u64,
    /// Fuel paid for messages since the mod started.
    message_fuel: u64,
    /// Fuel used by the last run, messages included.
    run_fuel: u64,
    /// Invalid lines the mod sent in a row.
    invalid_in_a_row: u32,
    /// Complete stdout lines taken from the guest, reused; those from `lines_pos` on
    /// are not served yet (over the per-run message cap).
    lines: Vec<u8>,
    lines_pos: usize,
    /// Replies to write to the guest's stdin, reused.
    replies: Vec<u8>,
    /// The stderr line being written.
    stderr_line: Vec<u8>,
    /// Log lines this run may still pass to the host ([`serve::MAX_LOG_LINES_PER_RUN`]).
    log_lines_left: usize,
    /// Whether the host was told this run that log lines are dropped.
    log_dropped: bool,
}

impl std::fmt::Debug for ModInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModInstance")
            .field("name", self.guest.name())
            .field("state", &self.state)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl ModInstance {
    /// Instantiates `module`. Its `main` starts on the first [`ModInstance::run`].
    ///
    /// # Errors
    ///
    /// See [`Guest::new`].
    pub fn new(module: &ModModule, config: &ModConfig) -> Result<Self, ModError> {
        Ok(ModInstance {
            guest: Guest::new(module, config)?,
            limits: config.limits.clone(),
            next_id: 1,
            pending: BTreeMap::new(),
            state: Ok(RunStatus::Yielded),
            activation_fuel: 0,
            fuel_debt: 0,
            message_fuel: 0,
            run_fuel: 0,
            invalid_in_a_row: 0,
            lines: Vec::new(),
            lines_pos: 0,
            replies: Vec::new(),
            stderr_line: Vec::new(),
            log_lines_left: serve::MAX_LOG_LINES_PER_RUN,
            log_dropped: false,
        })
    }

    /// The limits the instance was made with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The mod's name.
    pub fn name(&self) -> &str {
        self.guest.name()
    }

    /// Where the mod is in its life: what its last [`ModInstance::run`] returned
    /// ([`RunStatus::Yielded`] before the first run), or the error that stopped it.
    /// [`RunStatus::Exited`] and an error are final.
    pub fn state(&self) -> Result<RunStatus, &ModError> {
        self.state.as_ref().copied()
    }

    /// Fuel used by the last [`ModInstance::run`]: the mod's own instructions and what
    /// its messages cost ([`Limits::fuel_per_message`]); never more than the run's slice.
    pub fn last_fuel(&self) -> u64 {
        self.run_fuel
    }

    /// Fuel used since the mod started, messages included.
    pub fn total_fuel(&self) -> u64 {
        self.guest.total_fuel().saturating_add(self.message_fuel)
    }

    /// Bytes of linear memory the mod has now.
    pub fn memory_size(&self) -> usize {
        self.guest.memory_size()
    }

    /// Calls without an answer yet.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// Whether [`ModInstance::run`] has anything to do now: the guest can go on, or
    /// lines it sent wait to be served (a run that stopped at the host's deadline or
    /// the per-run cap), or it owes fuel. After a run that returned
    /// [`RunStatus::Yielded`] this is always true.
    pub fn is_runnable(&self) -> bool {
        !matches!(self.state, Ok(RunStatus::Exited(_)) | Err(_))
            && (self.guest.is_runnable() || self.has_backlog() || self.fuel_debt > 0)
    }

    /// Queues a call of `method` with `params` (`()` for none). It is delivered on the
    /// next [`ModInstance::run`].
    ///
    /// A call to a mod that has ended, whose message would be longer than the mod's
    /// message cap (`-32004`), or that would overflow its input queue, completes at once
    /// with an error; nothing is written to the mod.
    pub fn call<P: Serialize + ?Sized>(&mut self, method: &str, params: &P) -> CallHandle {
        self.call_with_deadline(method, params, self.limits.max_fuel_per_call)
    }

    /// Calls `method` like [`ModInstance::call`], with a deadline of `fuel`: if the mod
    /// uses more than that (across activations and runs) before it answers, the call
    /// completes with `-32007` ([`ErrorCode::DeadlineExceeded`]) and the mod carries on.
    pub fn call_with_deadline<P: Serialize + ?Sized>(
        &mut self,
        method: &str,
        params: &P,
        fuel: u64,
    ) -> CallHandle {
        let id = self.next_id;
        self.next_id += 1;
        let request_id = RequestId::Number(id);
        let queued = self.queue_line(|line| write_request(line, &request_id, method, Some(params)));
        match queued {
            Ok(()) => {
                let (handle, sender) = CallHandle::new(request_id);
                let deadline = self.total_fuel().saturating_add(fuel);
                self.pending.insert(
                    id,
                    Pending {
                        sender,
                        deadline,
                        fuel,
                    },
                );
                handle
            }
            Err(error) => CallHandle::failed(request_id, error),
        }
    }

    /// Sends a notification (for example an event the mod subscribed to).
    ///
    /// # Errors
    ///
    /// When the mod has ended, its input queue is full, the params do not serialize to an
    /// array, an object or `null` (`-32602`), or the message would be longer than the
    /// mod's message cap (`-32004`).
    pub fn notify<P: Serialize + ?Sized>(
        &mut self,
        method: &str,
        params: &P,
    ) -> Result<(), ResponseError> {
        self.queue_line(|line| write_notification(line, method, Some(params)))
    }

    /// Writes one message (framed by `write`) to the mod's stdin, unless the mod has
    /// ended, the params are not an array, an object or `null`, the line is longer than
    /// the mod's message cap ([`Limits::max_message_size`], `-32004`), or it would
    /// overflow its input cap.
    fn queue_line(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<(), ResponseError> {
        if let Some(error) = self.unavailable() {
            return Err(error);
        }
        // `replies` is empty between runs: borrow its allocation for the line.
        let mut line = std::mem::take(&mut self.replies);
        line.clear();
        let result = match write(&mut line) {
            Err(e) => Err(ResponseError::new(
                ErrorCode::InvalidParams,
                format!("invalid params for mod `{}`: {e}", self.name()),
            )),
            Ok(()) if line.len() > self.limits.max_message_size => Err(ResponseError::new(
                ErrorCode::MessageTooLarge,
                format!(
                    "the message to mod `{}` is {} bytes, longer than its message cap of {} \
                     bytes; it was not sent",
                    self.name(),
                    line.len(),
                    self.limits.max_message_size
                ),
            )),
            Ok(())
                if self.guest.stdin_pending() + line.len() + 1 > self.limits.max_input_buffer =>
            {
                Err(ResponseError::internal(format!(
                    "mod `{}` has more than {} bytes of unread input; the message was refused",
                    self.name(),
                    self.limits.max_input_buffer
                )))
            }
            Ok(()) => {
                line.push(b'\n');
                self.guest.write_stdin(&line);
                Ok(())
            }
        };
        line.clear();
        self.replies = line;
        result
    }

    /// Writes raw bytes to the mod's stdin (for protocol tests and tools).
    pub fn write_raw(&mut self, bytes: &[u8]) {
        self.guest.write_stdin(bytes);
    }

    /// Closes the mod's stdin: a PDK mod then leaves its loop and exits.
    pub fn close_input(&mut self) {
        self.guest.close_stdin();
    }

    /// The error for a call to a mod that cannot answer, if it cannot.
    fn unavailable(&self) -> Option<ResponseError> {
        match &self.state {
            Err(error) => Some(error.to_response_error()),
            Ok(RunStatus::Exited(code)) => Some(
                ModErrorKind::Exited { code: *code }
                    .named(self.guest.name().clone())
                    .to_response_error(),
            ),
            _ => None,
        }
    }

    /// Runs the mod with up to `fuel`, serving what it sends with `host` as it goes,
    /// until it waits for input with nothing to do, sleeps, uses up the fuel, or ends.
    ///
    /// Host requests are answered and the mod resumed within the same call while fuel
    /// remains, so a mod that calls the host in a loop makes many round trips per run.
    ///
    /// # Errors
    ///
    /// The [`ModError`] that stopped the mod: a trap or panic, a limit, or its fuel cap
    /// per activation. Every pending call then completes with that error, and later
    /// runs return it again.
    pub fn run(&mut self, fuel: u64, host: &mut dyn ModHost) -> Result<RunStatus, ModError> {
        match &self.state {
            Err(error) => return Err(error.clone()),
            Ok(RunStatus::Exited(code)) => return Ok(RunStatus::Exited(*code)),
            _ => {}
        }
        let status = self.run_slice(fuel, host);
        if let Ok(status) = status {
            self.state = Ok(status);
        }
        status
    }

    /// [`ModInstance::run`] of a mod that can run; an error has gone through `fail`.
    fn run_slice(&mut self, fuel: u64, host: &mut dyn ModHost) -> Result<RunStatus, ModError> {
        let mut left = fuel;
        self.run_fuel = 0;
        self.log_lines_left = serve::MAX_LOG_LINES_PER_RUN;
        self.log_dropped = false;
        let mut served = 0;
        // What the mod owes from the last run, then what it sent and the last run did
        // not serve: the mod does not run again before those are served.
        self.pay(&mut left, 0);
        if self.has_backlog() {
            let cost = match self.serve_output(host, &mut served) {
                Ok(cost) => cost,
                Err(error) => return Err(self.fail(error)),
            };
            self.pay(&mut left, cost);
            if self.has_backlog() {
                return Ok(RunStatus::Yielded);
            }
        }
        loop {
            // With no fuel left a mod that can go on yields; one that waits for input
            // (its owed fuel took the slice) is resumed for nothing and found idle.
            if left == 0 && self.guest.is_runnable() {
                return Ok(RunStatus::Yielded);
            }
            let status = self.guest.resume(left);
            let used = self.guest.last_fuel();
            left = left.saturating_sub(used);
            self.run_fuel = self.run_fuel.saturating_add(used);
            self.activation_fuel = self.activation_fuel.saturating_add(used);
            // WASI work the slice could not pay for is owed, like messages' cost.
            let unpaid = self.guest.take_unpaid_fuel();
            self.pay(&mut left, unpaid);
            // Serve what it wrote, even when it then crashed: its last log lines explain.
            let output = self.serve_output(host, &mut served);
            let status = match status.and_then(|status| output.map(|cost| (status, cost))) {
                Ok((status, cost)) => {
                    self.pay(&mut left, cost);
                    status
                }
                Err(error) => return Err(self.fail(error)),
            };
            if self.activation_fuel > self.limits.max_fuel_per_activation {
                let error = ModErrorKind::FuelExhausted {
                    limit: self.limits.max_fuel_per_activation,
                }
                .named(self.guest.name().clone());
                return Err(self.fail(error));
            }
            self.expire_calls();
            // Over the per-run message cap or past the host's deadline: the rest is
            // served next run, also when the mod has ended (it reports its exit once
            // all it wrote is served).
            if self.has_backlog() {
                if matches!(
                    status,
                    GuestStatus::WaitingInput | GuestStatus::Sleeping { .. }
                ) {
                    self.end_activation();
                }
                return Ok(RunStatus::Yielded);
            }
            match status {
                GuestStatus::OutputFull => {
                    if host.should_pause() {
                        return Ok(RunStatus::Yielded);
                    }
                }
                // What is left of the slice (if anything) is less than the next
                // instruction costs: the slice is spent.
                GuestStatus::OutOfFuel => {
                    return Ok(RunStatus::Yielded);
                }
                GuestStatus::WaitingInput | GuestStatus::Sleeping { .. } => {
                    // The mod waits for input: its activation ends here, even when the
                    // input (say, the answer to its host call) is already there.
                    self.end_activation();
                    if self.guest.is_runnable() {
                        if host.should_pause() {
                            return Ok(RunStatus::Yielded);
                        }
                        continue;
                    }
                    // Fuel still owed is paid before the mod counts as idle.
                    if self.fuel_debt > 0 {
                        return Ok(RunStatus::Yielded);
                    }
                    return Ok(match status {
                        GuestStatus::Sleeping { clock, deadline } => {
                            RunStatus::Sleeping { clock, deadline }
                        }
                        _ => RunStatus::Idle,
                    });
                }
                GuestStatus::Exited(code) => {
                    let error = ModErrorKind::Exited { code }.named(self.guest.name().clone());
                    self.fail_pending(&error.to_response_error());
                    return Ok(RunStatus::Exited(code));
                }
            }
        }
    }

    /// Ends an activation: the mod waits for input.
    fn end_activation(&mut self) {
        self.activation_fuel = 0;
        self.guest
            .reset_output_budget(self.limits.max_output_per_activation);
    }

    /// Takes `cost` (and any debt) from `left`; what `left` cannot cover is owed.
    fn pay(&mut self, left: &mut u64, cost: u64) {
        self.activation_fuel = self.activation_fuel.saturating_add(cost);
        let owed = self.fuel_debt.saturating_add(cost);
        let paid = owed.min(*left);
        *left -= paid;
        self.fuel_debt = owed - paid;
        self.run_fuel = self.run_fuel.saturating_add(paid);
        self.message_fuel = self.message_fuel.saturating_add(paid);
    }

    /// Whether lines the mod sent wait to be served.
    fn has_backlog(&self) -> bool {
        self.lines_pos < self.lines.len()
    }

    /// Records the error, fails every pending call with it, and returns it.
    fn fail(&mut self, error: ModError) -> ModError {
        self.fail_pending(&error.to_response_error());
        self.state = Err(error.clone());
        error
    }

    fn fail_pending(&mut self, error: &ResponseError) {
        for pending in std::mem::take(&mut self.pending).into_values() {
            pending.sender.send(Err(error.clone()));
        }
    }

    /// Fails the calls whose deadline has passed.
    fn expire_calls(&mut self) {
        let used = self.total_fuel();
        if self.pending.values().all(|p| p.deadline >= used) {
            return;
        }
        let expired: Vec<i64> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.deadline < used)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(pending) = self.pending.remove(&id) {
                let message = format!(
                    "mod `{}` did not answer call {id} within its deadline of {} fuel",
                    self.guest.name(),
                    pending.fuel
                );
                pending.sender.send(Err(ResponseError::new(
                    ErrorCode::DeadlineExceeded,
                    message,
                )));
            }
        }
    }

    /// Completes the pending call `id` with `error` and forgets it, as an embedder does
    /// when the call passed a deadline of its own (frames, wall time). A late answer
    /// from the mod is then dropped like any answer to an unknown id. Returns `false`
    /// when no such call is pending (it was answered or failed already).
    pub fn cancel_call(&mut self, id: &RequestId, error: ResponseError) -> bool {
        let RequestId::Number(number) = id else {
            return false;
        };
        match self.pending.remove(number) {
            Some(pending) => {
                pending.sender.send(Err(error));
                true
            }
            None => false,
        }
    }

    /// Exposes the guest for embedders that need the raw layer.
    pub fn guest(&self) -> &Guest {
        &self.guest
    }
}

// Mods and call handles move between threads (Bevy's resources and tasks).
const _: () = {
    const fn send<T: Send>() {}
    send::<ModInstance>();
    send::<CallHandle>();
};

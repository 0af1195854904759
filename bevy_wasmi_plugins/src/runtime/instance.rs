//! A mod as a JSON-RPC peer: a persistent [`Guest`] whose stdout lines are served by the
//! embedder's [`ModHost`] and whose stdin carries the host's calls and replies.

use std::collections::BTreeMap;

use bevy_wasmi_plugins_protocol::{
    ErrorCode, Fast, Message, Notification, Outcome, Request, RequestId, Response, ResponseError,
    fast_parse, serve_frame_with, write_notification, write_outcome, write_request,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::clock::ClockId;
use super::error::ModError;
use super::guest::{Guest, GuestStatus};
use super::reply::{Reply, ReplySender, typed, unanswered};
use super::{Limits, ModConfig, ModModule, Runtime};

/// What the embedder does with what a mod sends.
///
/// Called while the mod is suspended, so a handler may take as long as it needs and
/// touch anything it owns (the Bevy layer hands it the `World`).
pub trait ModHost {
    /// Answers a request from the mod. The result goes back to the mod at once.
    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome;

    /// Receives a notification from the mod. Ignored by default.
    fn notification(&mut self, mod_name: &str, notification: &Notification<'_>) {
        let _ = (mod_name, notification);
    }

    /// Receives one line the mod wrote on stderr (its log). Dropped by default.
    fn log(&mut self, mod_name: &str, line: &str) {
        let _ = (mod_name, line);
    }

    /// Hears about protocol mistakes the mod made that have no one to answer (such as a
    /// response to an id nobody asked). Dropped by default.
    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        let _ = (mod_name, warning);
    }

    /// Whether the mod should pause now, before it is resumed again within the same run
    /// (say, the frame's wall-time budget is spent): `true` ends the run with
    /// [`RunStatus::Yielded`], and the mod goes on at the next run. Asked after the
    /// host has served what the mod sent. Never, by default.
    fn should_pause(&mut self) -> bool {
        false
    }
}

/// A host with no methods: every request is answered with method-not-found.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl ModHost for NoHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        Err(ResponseError::method_not_found(&request.method))
    }
}

/// A call into a mod that completes with its result or an error.
///
/// Poll it with [`CallHandle::try_result`] from a loop or a system, or `.await`
/// [`CallHandle::result`]. A call whose mod crashes, exits or is dropped completes with
/// an error; none waits forever.
#[derive(Debug)]
pub struct CallHandle {
    id: RequestId,
    reply: Reply,
}

impl CallHandle {
    fn new(id: RequestId) -> (Self, ReplySender) {
        let (reply, sender) = Reply::channel();
        (CallHandle { id, reply }, sender)
    }

    fn failed(id: RequestId, error: ResponseError) -> Self {
        let (handle, sender) = Self::new(id);
        sender.send(Err(error));
        handle
    }

    /// The id of the request on the wire.
    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// The outcome, if the call has completed; `None` while it has not.
    ///
    /// Once it returns the outcome, every later call returns the same outcome again.
    pub fn try_result(&self) -> Option<Outcome> {
        self.reply.try_get()
    }

    /// The outcome deserialized into `T`, if the call has completed.
    pub fn try_typed<T: DeserializeOwned>(&self) -> Option<Result<T, ResponseError>> {
        self.try_result().map(|outcome| typed(&outcome?))
    }

    /// Waits for the outcome.
    pub async fn result(self) -> Outcome {
        self.reply.wait().await
    }
}

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

/// Where a mod is in its life.
#[derive(Debug, Clone)]
pub enum ModState {
    /// Not yet run, or working on something.
    Running,
    /// Waiting for input with nothing to do.
    Idle,
    /// Asleep until a deadline.
    Sleeping,
    /// The program ended with this code.
    Exited(i32),
    /// Stopped by this error.
    Crashed(ModError),
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
    state: ModState,
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

/// Longest stderr line passed on whole; longer ones are split.
const MAX_LOG_LINE: usize = 8 * 1024;

impl ModInstance {
    /// Instantiates `module`. Its `main` starts on the first [`ModInstance::run`].
    ///
    /// # Errors
    ///
    /// See [`Guest::new`].
    pub fn new(
        runtime: &Runtime,
        module: &ModModule,
        config: &ModConfig,
    ) -> Result<Self, ModError> {
        Ok(ModInstance {
            guest: Guest::new(runtime, module, config)?,
            limits: config.limits.clone(),
            next_id: 1,
            pending: BTreeMap::new(),
            state: ModState::Running,
            activation_fuel: 0,
            fuel_debt: 0,
            message_fuel: 0,
            run_fuel: 0,
            invalid_in_a_row: 0,
            lines: Vec::new(),
            lines_pos: 0,
            replies: Vec::new(),
            stderr_line: Vec::new(),
        })
    }

    /// The mod's name.
    pub fn name(&self) -> &str {
        self.guest.name()
    }

    /// Where the mod is in its life.
    pub fn state(&self) -> &ModState {
        &self.state
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

    /// Whether [`ModInstance::run`] has anything to do now.
    pub fn is_runnable(&self) -> bool {
        matches!(
            self.state,
            ModState::Running | ModState::Idle | ModState::Sleeping
        ) && self.guest.is_runnable()
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
            ModState::Crashed(error) => Some(error.to_response_error()),
            ModState::Exited(code) => Some(
                ModError::Exited {
                    name: self.guest.name().clone(),
                    code: *code,
                }
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
            ModState::Crashed(error) => return Err(error.clone()),
            ModState::Exited(code) => return Ok(RunStatus::Exited(*code)),
            _ => {}
        }
        let mut left = fuel;
        self.run_fuel = 0;
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
                self.state = ModState::Running;
                return Ok(RunStatus::Yielded);
            }
        }
        loop {
            if left == 0 {
                self.state = ModState::Running;
                return Ok(RunStatus::Yielded);
            }
            let status = self.guest.resume(left);
            let used = self.guest.last_fuel();
            left = left.saturating_sub(used);
            self.run_fuel = self.run_fuel.saturating_add(used);
            self.activation_fuel = self.activation_fuel.saturating_add(used);
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
                let error = ModError::FuelExhausted {
                    name: self.guest.name().clone(),
                    limit: self.limits.max_fuel_per_activation,
                };
                return Err(self.fail(error));
            }
            self.expire_calls();
            // Over the per-run message cap: the rest is served next run (an ended
            // mod's output is served whole).
            if self.has_backlog() && !matches!(status, GuestStatus::Exited(_)) {
                if matches!(
                    status,
                    GuestStatus::WaitingInput | GuestStatus::Sleeping { .. }
                ) {
                    self.end_activation();
                }
                self.state = ModState::Running;
                return Ok(RunStatus::Yielded);
            }
            match status {
                GuestStatus::OutputFull => {
                    if host.should_pause() {
                        self.state = ModState::Running;
                        return Ok(RunStatus::Yielded);
                    }
                }
                // What is left of the slice (if anything) is less than the next
                // instruction costs: the slice is spent.
                GuestStatus::OutOfFuel => {
                    self.state = ModState::Running;
                    return Ok(RunStatus::Yielded);
                }
                GuestStatus::WaitingInput | GuestStatus::Sleeping { .. } => {
                    // The mod waits for input: its activation ends here, even when the
                    // input (say, the answer to its host call) is already there.
                    self.end_activation();
                    if self.guest.is_runnable() {
                        if host.should_pause() {
                            self.state = ModState::Running;
                            return Ok(RunStatus::Yielded);
                        }
                        continue;
                    }
                    // Fuel still owed is paid before the mod counts as idle.
                    if self.fuel_debt > 0 {
                        self.state = ModState::Running;
                        return Ok(RunStatus::Yielded);
                    }
                    return Ok(match status {
                        GuestStatus::Sleeping { clock, deadline } => {
                            self.state = ModState::Sleeping;
                            RunStatus::Sleeping { clock, deadline }
                        }
                        _ => {
                            self.state = ModState::Idle;
                            RunStatus::Idle
                        }
                    });
                }
                GuestStatus::Exited(code) => {
                    while self.has_backlog() {
                        let mut unlimited = 0;
                        if let Err(error) = self.serve_output(host, &mut unlimited) {
                            return Err(self.fail(error));
                        }
                    }
                    let error = ModError::Exited {
                        name: self.guest.name().clone(),
                        code,
                    };
                    self.fail_pending(&error.to_response_error());
                    self.state = ModState::Exited(code);
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
        self.state = ModState::Crashed(error.clone());
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

    /// Passes stderr lines to the host and serves complete stdout lines, until `served`
    /// (the messages served in this run) reaches the per-run cap; the rest stays for the
    /// next run. Returns the fuel the served messages cost.
    ///
    /// Returns an error when the replies the mod has not read would pass the input cap
    /// (a mod that sends without ever reading), or when it sent too many invalid lines
    /// in a row: serving stops there.
    fn serve_output(
        &mut self,
        host: &mut dyn ModHost,
        served: &mut usize,
    ) -> Result<u64, ModError> {
        let name = self.guest.name().clone();
        if self.guest.has_stderr() {
            let stderr = self.guest.take_stderr();
            self.log_lines(&name, &stderr, host);
            self.guest.recycle_stderr(stderr);
        }

        if !self.has_backlog() {
            self.guest.take_stdout_lines(&mut self.lines);
            self.lines_pos = 0;
            if self.lines.is_empty() {
                return Ok(0);
            }
        }
        let max_message = self.limits.max_message_size;
        let max_served = self.limits.max_messages_per_run;
        let max_invalid = self.limits.max_invalid_messages;
        let fuel_per_message = self.limits.fuel_per_message;
        let mut cost = 0u64;
        let pending = &mut self.pending;
        let replies = &mut self.replies;
        let invalid = &mut self.invalid_in_a_row;
        replies.clear();
        let room = self
            .limits
            .max_input_buffer
            .saturating_sub(self.guest.stdin_pending());
        let mut rest = &self.lines[self.lines_pos..];
        // Counts a line as valid or not; too many invalid ones in a row stop the mod.
        let mut judge = |valid: bool, line: &[u8]| {
            if valid {
                *invalid = 0;
                return Ok(());
            }
            *invalid = invalid.saturating_add(1);
            if *invalid > max_invalid {
                return Err(ModError::InvalidMessages {
                    name: name.clone(),
                    count: *invalid,
                    last: quote(line),
                });
            }
            Ok(())
        };
        while !rest.is_empty() && *served < max_served {
            let (line, after) = match memchr::memchr(b'\n', rest) {
                Some(end) => (&rest[..end], &rest[end + 1..]),
                None => (rest, &[][..]),
            };
            rest = after;
            if replies.len() > room {
                replies.clear();
                return Err(ModError::UnreadInput {
                    name,
                    limit: self.limits.max_input_buffer,
                });
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            // The fixed wire forms the PDK writes skip the general parser (and have
            // nothing to trim).
            let fast = fast_parse(line);
            if fast.is_none() && line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Every message is paid for, whatever it is.
            *served += 1;
            cost = cost.saturating_add(fuel_per_message);
            match fast {
                Some(Fast::Result { id, result }) => {
                    if let Ok(result) = serde_json::from_slice::<&RawValue>(result) {
                        let response = Response {
                            id: Some(RequestId::Number(id)),
                            result: Ok(result),
                        };
                        let known = complete(pending, &name, response, host);
                        judge(known, line)?;
                        continue;
                    }
                    if serde_json::from_slice::<&RawValue>(line).is_err() {
                        // Not JSON: the general parser answers a parse error with a null
                        // id, so the call this was meant to answer fails here.
                        let error = ResponseError::standard(ErrorCode::ParseError);
                        invalid_answer(pending, &name, RequestId::Number(id), &error, host);
                    }
                }
                Some(Fast::Message(Message::Request(request))) => {
                    let outcome =
                        capped(host.request(&name, &request), &request, &name, max_message);
                    write_outcome(replies, &request.id, &outcome);
                    replies.push(b'\n');
                    judge(true, line)?;
                    continue;
                }
                Some(Fast::Message(Message::Notification(notification))) => {
                    host.notification(&name, &notification);
                    judge(true, line)?;
                    continue;
                }
                _ => {}
            }
            let mut broken = Vec::new();
            let mut valid = false;
            // One line (a batch) gets at most one message's worth of answers: once they
            // would pass the cap, the rest of the batch is refused without being run.
            let mut answered = 0usize;
            let mut full = false;
            let mut messages = 0u64;
            serve_frame_with(
                line,
                replies,
                |message| {
                    messages += 1;
                    match message {
                        Message::Request(request) => {
                            valid = true;
                            if full {
                                return Some(Err(batch_full(&name, max_message)));
                            }
                            let outcome =
                                capped(host.request(&name, &request), &request, &name, max_message);
                            let size = match &outcome {
                                Ok(result) => result.get().len(),
                                Err(error) => error.message.len(),
                            } + 64;
                            if answered + size > max_message {
                                full = true;
                                return Some(Err(batch_full(&name, max_message)));
                            }
                            answered += size;
                            Some(outcome)
                        }
                        Message::Notification(notification) => {
                            valid = true;
                            host.notification(&name, &notification);
                            None
                        }
                        Message::Response(response) => {
                            valid |= complete(pending, &name, response, host);
                            None
                        }
                    }
                },
                |id, error| broken.push((id, error)),
            );
            // Each message of a batch is paid for, not just the line.
            cost = cost.saturating_add(messages.saturating_sub(1).saturating_mul(fuel_per_message));
            for (id, error) in broken {
                invalid_answer(pending, &name, id, &error, host);
            }
            judge(valid, line)?;
        }
        self.lines_pos = self.lines.len() - rest.len();
        if !self.replies.is_empty() {
            self.guest.write_stdin(&self.replies);
            self.replies.clear();
        }
        Ok(cost)
    }

    fn log_lines(&mut self, name: &str, bytes: &[u8], host: &mut dyn ModHost) {
        for (i, piece) in bytes.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                let line = std::mem::take(&mut self.stderr_line);
                host.log(name, String::from_utf8_lossy(&line).trim_end_matches('\r'));
                self.stderr_line = line;
                self.stderr_line.clear();
            }
            self.stderr_line.extend_from_slice(piece);
            while self.stderr_line.len() > MAX_LOG_LINE {
                let rest = self.stderr_line.split_off(MAX_LOG_LINE);
                host.log(name, &String::from_utf8_lossy(&self.stderr_line));
                self.stderr_line = rest;
            }
        }
    }
}

/// The host's answer to a mod's request, or `-32004` when the answer would be a longer
/// line than the mod's message cap: the mod would refuse such a line, and its call would
/// wait for an answer that never comes.
fn capped(outcome: Outcome, request: &Request<'_>, name: &str, max_message: usize) -> Outcome {
    // The line is the result inside `{"jsonrpc":"2.0","id":<id>,"result":…}` (33 bytes
    // and the id). The id's length is bounded from above, not measured: at most 20 digits,
    // or 6 bytes a character in a string (`\u00XX`) and its quotes. A long string id
    // counts fully, so no answer that would be over the cap gets through.
    let id = match &request.id {
        RequestId::Number(_) => 20,
        RequestId::String(id) => 2 + 6 * id.len(),
    };
    match outcome {
        Ok(result) if result.get().len() + 33 + id > max_message => Err(ResponseError::new(
            ErrorCode::MessageTooLarge,
            format!(
                "the answer to {} is {} bytes, longer than the message cap of mod `{name}` \
                 ({max_message} bytes)",
                request.method,
                result.get().len()
            ),
        )),
        outcome => outcome,
    }
}

/// The `-32004` a request in a batch gets once the batch's answers reached the cap.
fn batch_full(name: &str, max_message: usize) -> ResponseError {
    ResponseError::new(
        ErrorCode::MessageTooLarge,
        format!(
            "the answers to this batch reached the message cap of mod `{name}` \
             ({max_message} bytes); this request was not run"
        ),
    )
}

/// A line the mod sent, shortened for an error message.
fn quote(line: &[u8]) -> String {
    const MAX: usize = 60;
    let text = String::from_utf8_lossy(&line[..line.len().min(MAX)]);
    let more = if line.len() > MAX { "…" } else { "" };
    format!("`{}{more}`", text.escape_debug())
}

/// Routes a response from the mod to the call waiting for it; `false` when no call
/// waits for it.
fn complete(
    pending: &mut BTreeMap<i64, Pending>,
    name: &str,
    response: Response<'_>,
    host: &mut dyn ModHost,
) -> bool {
    let sender = match &response.id {
        Some(RequestId::Number(id)) => pending.remove(id).map(|p| p.sender),
        _ => None,
    };
    let Some(sender) = sender else {
        let id = response
            .id
            .as_ref()
            .map_or_else(|| "null".to_owned(), ToString::to_string);
        host.protocol_warning(name, &format!("response to unknown request id {id}"));
        return false;
    };
    sender.send(response.result.map(ToOwned::to_owned));
    true
}

/// Fails the call a malformed answer from the mod was meant for (the mod is not told:
/// an error response would look like the answer to one of its own requests).
fn invalid_answer(
    pending: &mut BTreeMap<i64, Pending>,
    name: &str,
    id: RequestId,
    error: &ResponseError,
    host: &mut dyn ModHost,
) {
    let sender = match &id {
        RequestId::Number(id) => pending.remove(id).map(|p| p.sender),
        RequestId::String(_) => None,
    };
    let what = format!(
        "answered request {id} with something that is not a valid response ({})",
        error.message
    );
    match sender {
        Some(sender) => {
            let error =
                ResponseError::new(ErrorCode::InvalidRequest, format!("mod `{name}` {what}"));
            sender.send(Err(error));
        }
        None => host.protocol_warning(name, &format!("{what}, and no such request is pending")),
    }
}

/// Calls `method` on a fresh instance of `module` and drops the instance afterwards:
/// nothing carries over from one call to the next (the stateless model).
///
/// Runs the instance in slices of `fuel` until it answers; its activation fuel cap bounds
/// the work. A mod that sleeps is waited for with `std::thread::sleep` (not on the web,
/// where a sleeping mod makes the call fail).
pub fn call_fresh<P: Serialize + ?Sized>(
    runtime: &Runtime,
    module: &ModModule,
    config: &ModConfig,
    method: &str,
    params: &P,
    fuel: u64,
    host: &mut dyn ModHost,
) -> Outcome {
    let mut instance =
        ModInstance::new(runtime, module, config).map_err(|e| e.to_response_error())?;
    let handle = instance.call(method, params);
    loop {
        let status = instance.run(fuel, host);
        if let Some(outcome) = handle.try_result() {
            return outcome;
        }
        match status {
            Ok(RunStatus::Yielded) => {}
            Ok(RunStatus::Sleeping { clock, deadline }) => {
                if !wait_until(config, clock, deadline) {
                    return Err(ResponseError::internal(format!(
                        "mod `{}` went to sleep during a fresh-instance call",
                        module.name()
                    )));
                }
            }
            Ok(RunStatus::Idle) => {
                return Err(ResponseError::internal(format!(
                    "mod `{}` waits for input without answering `{method}`",
                    module.name()
                )));
            }
            // Pending calls were failed; `try_result` above returned the error.
            Ok(RunStatus::Exited(_)) | Err(_) => return Err(unanswered()),
        }
    }
}

/// Sleeps until `clock` reaches `deadline`; `false` where the thread cannot sleep.
fn wait_until(config: &ModConfig, clock: ClockId, deadline: u64) -> bool {
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    {
        let now = config.clock.now(clock);
        std::thread::sleep(std::time::Duration::from_nanos(
            deadline.saturating_sub(now).min(1_000_000_000),
        ));
        true
    }
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    {
        let _ = (config, clock, deadline);
        false
    }
}

impl ModInstance {
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

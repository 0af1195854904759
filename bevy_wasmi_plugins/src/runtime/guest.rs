//! One running guest program: a wasmi store and instance whose `_start` runs as a
//! resumable call, paused by fuel and by WASI calls that wait.
//!
//! [`Guest`] knows nothing of JSON-RPC: it moves bytes through stdin/stdout/stderr and
//! reports why it stopped ([`GuestStatus`]). It serves `wasmi-mod run` directly and is
//! the layer under [`ModInstance`](super::ModInstance).

use std::sync::Arc;

use wasmi::{Func, ResumableCall, ResumableCallHostTrap, ResumableCallOutOfFuel, Store, Val};

use super::clock::ClockId;
use super::error::{ModError, ModErrorKind, TrapCode};
use super::wasi::{self, Blocked, Fault, Limiter, Stop, Wait, WasiCtx};
use super::{ModConfig, ModModule};

/// Why [`Guest::resume`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestStatus {
    /// Waiting for stdin (an empty pipe that is not closed): write to it or close it.
    WaitingInput,
    /// Asleep in `poll_oneoff` until `clock` reaches `deadline` (ns), or until input
    /// arrives if it also polls stdin.
    Sleeping {
        /// The clock of the deadline.
        clock: ClockId,
        /// The deadline in nanoseconds of that clock.
        deadline: u64,
    },
    /// The fuel slice ran out; resume with more fuel.
    OutOfFuel,
    /// The output buffers are full; drain them and resume.
    OutputFull,
    /// The program ended with this exit code (0 when `_start` returned).
    Exited(i32),
}

/// Where the call to `_start` is.
enum Exec {
    NotStarted,
    HostTrap(ResumableCallHostTrap),
    OutOfFuel(ResumableCallOutOfFuel),
    Done,
}

/// A guest program on wasmi with WASI over in-memory pipes.
pub struct Guest {
    name: Arc<str>,
    store: Store<WasiCtx>,
    start: Func,
    exec: Exec,
    /// Fuel used by the last [`Guest::resume`].
    last_fuel: u64,
    /// Fuel used in all.
    total_fuel: u64,
    /// The last bytes written to stderr, for error messages.
    stderr_tail: Vec<u8>,
    /// The output cap per activation, for error messages.
    output_limit: usize,
    /// How the program ended, once it has.
    ended: Option<Result<GuestStatus, ModError>>,
    /// The exported `__stack_pointer` global, if the module exports it (the PDK's build
    /// settings do): tells a stack that ran off the bottom of linear memory from another
    /// out-of-bounds access.
    stack_pointer: Option<wasmi::Global>,
}

/// A stack pointer below this many bytes from the bottom of memory, at an
/// out-of-bounds trap, means the stack ran out (see [`Guest::stack_ran_out`]).
const STACK_BOTTOM: u32 = 4096;

/// Most fuel a module's start section (a wasm `start` function, which toolchains rarely
/// emit: Rust and C put their set-up in `_start`) may use. It runs to its end while the
/// mod is instantiated, not in slices, so it is kept to a few milliseconds.
pub const START_SECTION_FUEL: u64 = 10_000_000;

/// How much of stderr is kept to explain a crash.
const STDERR_TAIL: usize = 2048;

impl Guest {
    /// Instantiates `module` with `config`. The program does not run until
    /// [`Guest::resume`].
    ///
    /// # Errors
    ///
    /// [`ModErrorKind::Instantiation`] when wasmi refuses (e.g. a start function that traps).
    pub fn new(module: &ModModule, config: &ModConfig) -> Result<Self, ModError> {
        let name = config
            .name
            .as_deref()
            .map_or_else(|| module.name.clone(), Arc::from);
        let limits = &config.limits;
        let mut args = vec![
            config
                .program_name
                .clone()
                .unwrap_or_else(|| name.to_string())
                .into_bytes(),
        ];
        args.extend(config.args.iter().map(|a| a.clone().into_bytes()));
        let ctx = WasiCtx {
            args,
            env: config
                .env
                .iter()
                .map(|(k, v)| format!("{k}={v}").into_bytes())
                .collect(),
            stdin: Vec::new(),
            stdin_pos: 0,
            stdin_closed: false,
            stdout: Vec::new(),
            stdout_line_start: 0,
            stderr: Vec::new(),
            closed: [false; 3],
            clock: config.clock.clone(),
            rng: config.rng(),
            limiter: Limiter {
                max_memory: limits.max_memory,
                denied: false,
            },
            memory: None,
            blocked: None,
            flush_at: limits.output_buffer,
            max_message: limits.max_message_size,
            output_budget: limits.max_output_per_activation,
            unpaid_fuel: 0,
        };
        let mut store = Store::new(module.module.engine(), ctx);
        store.limiter(|ctx| &mut ctx.limiter);
        // A start section runs during instantiation, in one go (on the game's frame, in
        // the Bevy layer), so it gets little fuel.
        let start_fuel = limits.max_fuel_per_activation.min(START_SECTION_FUEL);
        let instantiation_error = |e: wasmi::Error| {
            let message = if e.as_trap_code() == Some(wasmi::TrapCode::OutOfFuel) {
                format!(
                    "its start section used more than {start_fuel} fuel (it runs at once, \
                     while the mod is instantiated; long work belongs in `_start`)"
                )
            } else {
                e.to_string()
            };
            ModErrorKind::Instantiation { message }.named(name.clone())
        };
        store.set_fuel(start_fuel).map_err(instantiation_error)?;
        let instance = module
            .linker
            .instantiate_and_start(&mut store, &module.module)
            .map_err(instantiation_error)?;
        let memory = instance
            .get_memory(&store, "memory")
            .ok_or_else(|| ModErrorKind::MissingMemory.named(name.clone()))?;
        store.data_mut().memory = Some(memory);
        let start = instance
            .get_func(&store, "_start")
            .ok_or_else(|| ModErrorKind::MissingStart.named(name.clone()))?;
        let stack_pointer = instance.get_global(&store, "__stack_pointer");
        Ok(Guest {
            name,
            store,
            start,
            exec: Exec::NotStarted,
            last_fuel: 0,
            total_fuel: 0,
            stderr_tail: Vec::new(),
            output_limit: limits.max_output_per_activation,
            ended: None,
            stack_pointer,
        })
    }

    /// The mod's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Whether the program has ended (exited or failed).
    pub fn is_done(&self) -> bool {
        matches!(self.exec, Exec::Done)
    }

    /// Fuel used by the last [`Guest::resume`].
    pub fn last_fuel(&self) -> u64 {
        self.last_fuel
    }

    /// Takes the fuel the host's work for the guest cost beyond what its slices held
    /// (WASI calls moving or making many bytes): owed, not yet paid.
    pub fn take_unpaid_fuel(&mut self) -> u64 {
        std::mem::take(&mut self.store.data_mut().unpaid_fuel)
    }

    /// Fuel used since the program started.
    pub fn total_fuel(&self) -> u64 {
        self.total_fuel
    }

    /// Bytes of linear memory the guest has now.
    pub fn memory_size(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |memory| memory.data(&self.store).len())
    }

    /// Appends bytes to the guest's stdin.
    pub fn write_stdin(&mut self, bytes: &[u8]) {
        self.store.data_mut().push_stdin(bytes);
    }

    /// Unread bytes waiting in stdin.
    pub fn stdin_pending(&self) -> usize {
        self.store.data().stdin_available()
    }

    /// Closes stdin: once the buffered bytes are read, reads return end of file.
    pub fn close_stdin(&mut self) {
        self.store.data_mut().stdin_closed = true;
    }

    /// Gives the guest a new output budget (see
    /// [`Limits::with_max_output_per_activation`](super::Limits::with_max_output_per_activation)).
    pub fn reset_output_budget(&mut self, budget: usize) {
        self.store.data_mut().output_budget = budget;
    }

    /// Moves everything written to stdout into `into` (replacing its contents).
    pub fn take_stdout(&mut self, into: &mut Vec<u8>) {
        into.clear();
        let ctx = self.store.data_mut();
        std::mem::swap(into, &mut ctx.stdout);
        ctx.stdout_line_start = 0;
    }

    /// Moves the complete lines written to stdout into `into` (replacing its contents);
    /// a line still being written stays.
    pub fn take_stdout_lines(&mut self, into: &mut Vec<u8>) {
        into.clear();
        let ctx = self.store.data_mut();
        let end = ctx.stdout_line_start;
        if end == 0 {
            return;
        }
        std::mem::swap(into, &mut ctx.stdout);
        ctx.stdout.extend_from_slice(&into[end..]);
        into.truncate(end);
        ctx.stdout_line_start = 0;
    }

    /// Whether anything was written to stderr since it was last taken.
    pub fn has_stderr(&self) -> bool {
        !self.store.data().stderr.is_empty()
    }

    /// Takes everything written to stderr so far.
    pub fn take_stderr(&mut self) -> Vec<u8> {
        let stderr = std::mem::take(&mut self.store.data_mut().stderr);
        self.remember_stderr(&stderr);
        stderr
    }

    /// Hands the stderr buffer back (emptied) so its allocation is reused.
    pub fn recycle_stderr(&mut self, mut buffer: Vec<u8>) {
        let ctx = self.store.data_mut();
        if ctx.stderr.is_empty() {
            buffer.clear();
            ctx.stderr = buffer;
        }
    }

    fn remember_stderr(&mut self, bytes: &[u8]) {
        let bytes = &bytes[bytes.len().saturating_sub(STDERR_TAIL)..];
        self.stderr_tail.extend_from_slice(bytes);
        let excess = self.stderr_tail.len().saturating_sub(STDERR_TAIL);
        self.stderr_tail.drain(..excess);
    }

    /// Whether a resumption would make progress now (it is not waiting on an empty stdin
    /// or a future deadline).
    pub fn is_runnable(&self) -> bool {
        !self.is_done() && self.waiting_status().is_none()
    }

    /// Runs the guest with `fuel` until it waits, runs out of fuel, fills its output
    /// buffers or ends. A guest that waits on something not yet there returns at once
    /// without using fuel.
    ///
    /// # Errors
    ///
    /// The [`ModError`] that ended the guest (trap, panic, memory, output limits). An
    /// exit is not an error: it is [`GuestStatus::Exited`]. Resuming an ended guest
    /// returns how it ended again.
    pub fn resume(&mut self, fuel: u64) -> Result<GuestStatus, ModError> {
        self.last_fuel = 0;
        if let Some(status) = self.waiting_status() {
            return Ok(status);
        }
        let fuel = fuel.max(1);
        self.store
            .set_fuel(fuel)
            .map_err(|e| self.runtime_error(e))?;
        let exec = std::mem::replace(&mut self.exec, Exec::Done);
        let outcome = match exec {
            Exec::NotStarted => self.start.call_resumable(&mut self.store, &[], &mut []),
            Exec::OutOfFuel(call) => call.resume(&mut self.store, &mut []),
            Exec::HostTrap(call) => {
                let errno = self.complete_blocked();
                call.resume(&mut self.store, &[Val::I32(errno)], &mut [])
            }
            Exec::Done => return self.ended.clone().unwrap_or(Ok(GuestStatus::Exited(0))),
        };
        let left = self.store.get_fuel().unwrap_or(0);
        self.last_fuel = fuel.saturating_sub(left);
        self.total_fuel = self.total_fuel.saturating_add(self.last_fuel);
        let ended = match outcome {
            Ok(ResumableCall::Finished) => Ok(GuestStatus::Exited(0)),
            Ok(ResumableCall::OutOfFuel(call)) => {
                self.exec = Exec::OutOfFuel(call);
                Ok(GuestStatus::OutOfFuel)
            }
            Ok(ResumableCall::HostTrap(call)) => {
                if call.host_error().downcast_ref::<Wait>().is_some() {
                    self.exec = Exec::HostTrap(call);
                    let ctx = self.store.data_mut();
                    if matches!(
                        ctx.blocked,
                        Some(Blocked::Read { .. } | Blocked::Poll { .. })
                    ) {
                        // It lived on after any refused growth: a later trap is its own.
                        ctx.limiter.denied = false;
                    }
                    return Ok(self.waiting_status().unwrap_or(GuestStatus::OutputFull));
                }
                self.classify(call.into_host_error())
            }
            Err(error) => self.classify(error),
        };
        self.ended = Some(ended.clone());
        ended
    }

    /// The status of a guest blocked on something that is not ready, if it is.
    fn waiting_status(&self) -> Option<GuestStatus> {
        let Exec::HostTrap(_) = self.exec else {
            return None;
        };
        let ctx = self.store.data();
        match &ctx.blocked {
            Some(Blocked::Read { .. }) if ctx.stdin_available() == 0 && !ctx.stdin_closed => {
                Some(GuestStatus::WaitingInput)
            }
            Some(Blocked::Poll { subs, .. }) if !wasi::poll_is_ready(ctx, subs) => {
                Some(match wasi::earliest_deadline(subs) {
                    Some((clock, deadline)) => GuestStatus::Sleeping { clock, deadline },
                    None => GuestStatus::WaitingInput,
                })
            }
            _ => None,
        }
    }

    /// Does what the blocked WASI call owes before the guest resumes; returns its errno.
    fn complete_blocked(&mut self) -> i32 {
        let blocked = self.store.data_mut().blocked.take();
        let Some(memory) = self.store.data().memory else {
            return wasi::errno::FAULT;
        };
        let (memory, ctx) = memory.data_and_store_mut(&mut self.store);
        let mut cost = 0;
        let result = match blocked {
            Some(Blocked::Read {
                iovs,
                iovs_len,
                nread,
            }) => {
                let before = ctx.stdin_pos;
                let result = wasi::read_stdin(memory, ctx, iovs, iovs_len, nread);
                cost = wasi::fuel::io((ctx.stdin_pos - before) as u64);
                result
            }
            Some(Blocked::Poll { subs, out, nevents }) => {
                wasi::finish_poll(memory, ctx, &subs, out, nevents)
            }
            Some(Blocked::Flush) | None => Ok(()),
        };
        // What the read moved is paid from the slice the guest resumes with, and what
        // that cannot cover is owed.
        if cost > 0
            && let Ok(left) = self.store.get_fuel()
        {
            let paid = cost.min(left);
            let _ = self.store.set_fuel(left - paid);
            let ctx = self.store.data_mut();
            ctx.unpaid_fuel = ctx.unpaid_fuel.saturating_add(cost - paid);
        }
        result.err().unwrap_or(wasi::errno::SUCCESS)
    }

    /// Whether the guest's stack in linear memory ran out: its exported
    /// `__stack_pointer` went below the bottom of memory (it wrapped around, past the
    /// memory's end) or to within [`STACK_BOTTOM`] bytes of it. A stack placed first in
    /// memory (Rust's `--stack-first`, `-Wl,--stack-first` in C) ends this way, with an
    /// out-of-bounds access, not with wasmi's own call-stack overflow.
    fn stack_ran_out(&self) -> bool {
        let Some(global) = self.stack_pointer else {
            return false;
        };
        let Some(sp) = global.get(&self.store).i32() else {
            return false;
        };
        let sp = sp.cast_unsigned();
        sp < STACK_BOTTOM || usize::try_from(sp).map_or(true, |sp| sp >= self.memory_size())
    }

    fn runtime_error(&self, error: wasmi::Error) -> ModError {
        ModErrorKind::Runtime {
            message: error.to_string(),
        }
        .named(self.name.clone())
    }

    /// Turns the error that ended the guest into an exit status or a [`ModError`].
    fn classify(&mut self, error: wasmi::Error) -> Result<GuestStatus, ModError> {
        let name = self.name.clone();
        if let Some(code) = error.i32_exit_status() {
            return Ok(GuestStatus::Exited(code));
        }
        let stderr = std::mem::take(&mut self.store.data_mut().stderr);
        self.remember_stderr(&stderr);
        self.store.data_mut().stderr = stderr;
        let ctx = self.store.data();
        let limits_error = match error.downcast_ref::<Stop>() {
            Some(Stop::Fatal(Fault::MessageTooLarge)) => Some(
                ModErrorKind::MessageTooLarge {
                    limit: ctx.max_message,
                }
                .named(name.clone()),
            ),
            Some(Stop::Fatal(Fault::OutputFlood)) => Some(
                ModErrorKind::OutputFlood {
                    limit: self.output_limit,
                }
                .named(name.clone()),
            ),
            Some(Stop::Fatal(Fault::Signal(signal))) => {
                Some(ModErrorKind::Signal { signal: *signal }.named(name.clone()))
            }
            _ => None,
        };
        if let Some(error) = limits_error {
            return Err(error);
        }
        let tail = String::from_utf8_lossy(&self.stderr_tail).into_owned();
        Err(match error.as_trap_code() {
            Some(TrapCode::StackOverflow) => ModErrorKind::StackOverflow.named(name),
            Some(TrapCode::MemoryOutOfBounds) if self.stack_ran_out() => {
                ModErrorKind::StackOverflow.named(name)
            }
            // An allocator that cannot grow memory aborts, which is `unreachable`: when
            // that follows a refused growth without the guest waiting for input in
            // between, the refusal caused it.
            Some(TrapCode::UnreachableCodeReached) if ctx.limiter.denied => {
                ModErrorKind::OutOfMemory {
                    limit: ctx.limiter.max_memory,
                }
                .named(name)
            }
            Some(TrapCode::UnreachableCodeReached) if tail.contains("panicked at") => {
                let start = tail.rfind("panicked at").unwrap_or(0);
                // The panic location and message, without Rust's backtrace hint.
                let message = tail[start..]
                    .lines()
                    .filter(|line| !line.starts_with("note: "))
                    .flat_map(str::split_whitespace)
                    .collect::<Vec<_>>()
                    .join(" ");
                ModErrorKind::Panic { message }.named(name)
            }
            Some(code) => ModErrorKind::Trap {
                code,
                context: last_lines(&tail, 3),
            }
            .named(name),
            // With `Compilation::Deferred` a function is validated on its first call.
            None if matches!(
                error.kind(),
                wasmi::errors::ErrorKind::Wasm(_) | wasmi::errors::ErrorKind::Translation(_)
            ) =>
            {
                ModErrorKind::InvalidModule {
                    message: error.to_string(),
                }
                .named(name)
            }
            None => ModErrorKind::Runtime {
                message: error.to_string(),
            }
            .named(name),
        })
    }
}

/// The last `n` non-empty lines of `text`, joined with ` | `.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

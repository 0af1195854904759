//! WASI preview 1 (`wasi_snapshot_preview1`) over in-memory pipes, written for wasmi.
//!
//! Every preview 1 function is linked, so any `wasm32-wasip1` program links. The
//! supported subset behaves as the WASI specification says:
//!
//! | function | behaviour |
//! |---|---|
//! | `args_*`, `environ_*` | the arguments and variables the embedder set, nothing of the host's |
//! | `random_get` | ChaCha8 bytes, seeded from the OS or from a fixed seed |
//! | `clock_time_get`, `clock_res_get` | realtime and monotonic, from a replaceable [`Clock`] |
//! | `poll_oneoff` | clock subscriptions (relative and absolute), `fd_read` on stdin, `fd_write` on stdout/stderr |
//! | `fd_read` | stdin; an empty stdin suspends the guest until the host writes or closes it |
//! | `fd_write` | stdout and stderr, into capped buffers the host drains |
//! | `fd_fdstat_get`, `fd_filestat_get`, `fd_close` | for fds 0, 1, 2 |
//! | `fd_prestat_get` | `EBADF`: there are no preopened directories |
//! | `sched_yield` | returns at once |
//! | `proc_exit`, `proc_raise` | end the guest with the exit code / signal |
//!
//! Everything else returns the error the specification names for it (`EBADF` for an fd
//! that is not open, `ESPIPE` for seeking a pipe, `ENOTDIR`/`ENOTSOCK` for path and
//! socket calls on stdio) or `ENOSYS`. Guest pointers are bounds-checked (`EFAULT`); no
//! guest input can panic the host.
//!
//! Files: `mod.rs` the guest's context, its limiter and what stops it; `memory.rs`
//! bounds-checked guest memory; `stdio.rs` the descriptors, args and environment;
//! `poll.rs` clocks and `poll_oneoff`; `link.rs` the linker entries, one per function.
//!
//! [`Clock`]: super::Clock

use std::fmt;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use wasmi::{Caller, Error, Linker, Memory, ResourceLimiter};
use wasmi_core::LimiterError;

use super::clock::{Clock, ClockId};

mod link;
mod memory;
mod poll;
mod stdio;

pub use link::WASI_FUNCTIONS;
pub(crate) use link::link;
use memory::{Mem, offset};
use poll::*;
pub(crate) use poll::{earliest_deadline, finish_poll, poll_is_ready};
pub(crate) use stdio::read_stdin;
use stdio::*;

/// The WASI module name.
pub const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// WASI errno values used here (`wasi_snapshot_preview1` `errno`).
#[allow(missing_docs)]
pub mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const NOSYS: i32 = 52;
    pub const NOTDIR: i32 = 54;
    pub const NOTSOCK: i32 = 57;
    pub const SPIPE: i32 = 70;
}

/// WASI rights bits for the stdio descriptors.
const RIGHT_FD_READ: u64 = 1 << 1;
const RIGHT_FD_WRITE: u64 = 1 << 6;
const RIGHT_POLL_FD_READWRITE: u64 = 1 << 27;
/// `filetype::character_device`.
const FILETYPE_CHARACTER_DEVICE: u8 = 2;

/// A WASI function suspends the guest, which waits: on stdin, on a poll, or for the host
/// to drain its output (what for is in [`WasiCtx::blocked`]).
///
/// A unit struct, so that the `Box` wasmi puts a host error in allocates nothing: a mod
/// waits once for every call it answers.
#[derive(Debug)]
pub(crate) struct Wait;

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the guest waits")
    }
}

impl wasmi::errors::HostError for Wait {}

/// Why a WASI function stopped the guest for good.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The guest must not continue.
    Fatal(Fault),
}

/// A fatal condition raised by a WASI function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// A line on stdout (complete or still being written) is longer than the message
    /// size cap.
    MessageTooLarge,
    /// The guest wrote more than its output budget without waiting for input.
    OutputFlood,
    /// `proc_raise` with this signal.
    Signal(i32),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl wasmi::errors::HostError for Stop {}

/// What a suspended guest is waiting for, with what the host owes it on resumption.
#[derive(Debug)]
pub(crate) enum Blocked {
    /// `fd_read` on an empty stdin.
    Read {
        iovs: u32,
        iovs_len: u32,
        nread: u32,
    },
    /// `poll_oneoff` with nothing ready.
    Poll {
        subs: Vec<Subscription>,
        out: u32,
        nevents: u32,
    },
    /// `fd_write` filled the output buffers; it already succeeded.
    Flush,
}

/// One parsed `poll_oneoff` subscription.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    userdata: u64,
    kind: SubKind,
}

#[derive(Debug, Clone)]
enum SubKind {
    /// Fires when `clock` reaches `deadline`.
    Clock { clock: ClockId, deadline: u64 },
    /// An unsupported clock: fires at once with `EINVAL`.
    BadClock,
    /// `fd_read` (tag 1) or `fd_write` (tag 2) on `fd`.
    Fd { fd: u32, tag: u8 },
}

/// A memory limiter that remembers that it refused a growth (until the guest next waits
/// for input: a trap after that is not the refusal's doing).
#[derive(Debug)]
pub(crate) struct Limiter {
    pub max_memory: usize,
    pub denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        let allowed = desired <= self.max_memory && maximum.is_none_or(|max| desired <= max);
        if !allowed {
            self.denied = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> Result<bool, LimiterError> {
        Ok(desired <= 100_000 && maximum.is_none_or(|max| desired <= max))
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        16
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The state of one guest: its pipes, arguments, clock, randomness and limits.
pub(crate) struct WasiCtx {
    pub args: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    /// Bytes written to stdin, from `stdin_pos` on not yet read.
    pub stdin: Vec<u8>,
    pub stdin_pos: usize,
    /// No more input will come: reads return end of file.
    pub stdin_closed: bool,
    pub stdout: Vec<u8>,
    /// Where the line being written on stdout starts.
    pub stdout_line_start: usize,
    pub stderr: Vec<u8>,
    /// fds 0, 1, 2 closed by the guest.
    pub closed: [bool; 3],
    pub clock: Arc<dyn Clock>,
    pub rng: ChaCha8Rng,
    pub limiter: Limiter,
    pub memory: Option<Memory>,
    pub blocked: Option<Blocked>,
    /// Buffered output (stdout + stderr) at which the guest is suspended to be drained.
    pub flush_at: usize,
    /// Longest line allowed on stdout.
    pub max_message: usize,
    /// Output bytes left before the guest must wait for input again.
    pub output_budget: usize,
    /// Fuel the host's work for the guest cost that the guest's slice could not cover
    /// ([`charge`]): the runtime takes it as a debt, paid before the guest runs again.
    pub unpaid_fuel: u64,
}

impl WasiCtx {
    /// Unread stdin bytes.
    pub fn stdin_available(&self) -> usize {
        self.stdin.len() - self.stdin_pos
    }

    /// Appends bytes to stdin.
    pub fn push_stdin(&mut self, bytes: &[u8]) {
        if self.stdin_pos == self.stdin.len() {
            self.stdin.clear();
            self.stdin_pos = 0;
        } else if self.stdin_pos > 4096 && self.stdin_pos * 2 > self.stdin.len() {
            self.stdin.drain(..self.stdin_pos);
            self.stdin_pos = 0;
        }
        self.stdin.extend_from_slice(bytes);
    }
}

type Ctx<'a> = Caller<'a, WasiCtx>;
type Ret = Result<i32, Error>;

/// The guest's memory and the context, or `None` if it exports no memory.
fn split<'a>(caller: &'a mut Ctx<'_>) -> Option<(&'a mut [u8], &'a mut WasiCtx)> {
    let memory = match caller.data().memory {
        Some(memory) => memory,
        None => caller.get_export("memory")?.into_memory()?,
    };
    Some(memory.data_and_store_mut(caller))
}

/// Fuel a WASI call takes for the host's work on top of the call instruction: fuel is
/// the guest's only currency, so a call that makes the host move many bytes costs in
/// proportion (at wasmi's speed, a unit of fuel is about half a nanosecond).
pub mod fuel {
    /// Bytes `fd_write` and `fd_read` move per unit of fuel (copied, and scanned for
    /// line ends).
    pub const BYTES_PER_FUEL_IO: u64 = 8;
    /// Fuel per byte `random_get` generates.
    pub const FUEL_PER_RANDOM_BYTE: u64 = 1;
    /// Fuel per `poll_oneoff` subscription (read, checked, answered).
    pub const FUEL_PER_SUBSCRIPTION: u64 = 16;

    /// The fuel for `bytes` of `fd_write` or `fd_read`.
    pub const fn io(bytes: u64) -> u64 {
        bytes / BYTES_PER_FUEL_IO
    }
}

/// Takes `cost` fuel from the guest: what its slice holds (it then stops at its next
/// instruction if that was all), and the rest as [`WasiCtx::unpaid_fuel`], a debt the
/// runtime collects from the next slices. Host work a slice cannot pay for is not
/// written off: a `random_get` of 64 MiB costs the same in a small slice as in a large.
pub(crate) fn charge(caller: &mut Ctx<'_>, cost: u64) {
    if cost > 0
        && let Ok(left) = caller.get_fuel()
    {
        let paid = cost.min(left);
        // Only fails without fuel metering, which the runtime always turns on.
        let _ = caller.set_fuel(left - paid);
        let ctx = caller.data_mut();
        ctx.unpaid_fuel = ctx.unpaid_fuel.saturating_add(cost - paid);
    }
}

/// Runs `f` with the guest memory and the context; `EFAULT` without a memory.
fn with_mem(
    caller: &mut Ctx<'_>,
    f: impl FnOnce(&mut Mem<'_>, &mut WasiCtx) -> Result<(), i32>,
) -> Ret {
    let Some((memory, ctx)) = split(caller) else {
        return Ok(errno::FAULT);
    };
    Ok(match f(&mut Mem(memory), ctx) {
        Ok(()) => errno::SUCCESS,
        Err(errno) => errno,
    })
}

/// Whether `fd` is one of the stdio descriptors and still open.
fn is_stdio(ctx: &WasiCtx, fd: i32) -> bool {
    (0..3).contains(&fd) && !ctx.closed[fd as usize]
}

/// The errno for an operation stdio does not support: `otherwise` for an open stdio
/// fd, `EBADF` for anything else.
fn stdio_or_badf(caller: &Ctx<'_>, fd: i32, otherwise: i32) -> Ret {
    Ok(if is_stdio(caller.data(), fd) {
        otherwise
    } else {
        errno::BADF
    })
}

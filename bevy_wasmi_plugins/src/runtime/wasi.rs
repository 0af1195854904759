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
//! [`Clock`]: super::Clock

use std::fmt;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;
use wasmi::{Caller, Error, Linker, Memory, ResourceLimiter};
use wasmi_core::LimiterError;

use super::clock::{Clock, ClockId};

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

/// Why a WASI function stopped the guest.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The guest waits: on stdin, on a poll, or for the host to drain its output.
    Block,
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

/// Bounds-checked little-endian access to guest memory; errors are `EFAULT`.
struct Mem<'a>(&'a mut [u8]);

impl Mem<'_> {
    fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], i32> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(errno::FAULT)?;
        self.0.get(start..end).ok_or(errno::FAULT)
    }

    fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], i32> {
        let start = ptr as usize;
        let end = start.checked_add(len as usize).ok_or(errno::FAULT)?;
        self.0.get_mut(start..end).ok_or(errno::FAULT)
    }

    fn read_u32(&self, ptr: u32) -> Result<u32, i32> {
        let bytes = self.slice(ptr, 4)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }

    fn read_u64(&self, ptr: u32) -> Result<u64, i32> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.slice(ptr, 8)?);
        Ok(u64::from_le_bytes(bytes))
    }

    fn write(&mut self, ptr: u32, bytes: &[u8]) -> Result<(), i32> {
        self.slice_mut(ptr, bytes.len() as u32)?
            .copy_from_slice(bytes);
        Ok(())
    }

    fn write_u32(&mut self, ptr: u32, value: u32) -> Result<(), i32> {
        self.write(ptr, &value.to_le_bytes())
    }

    fn write_u64(&mut self, ptr: u32, value: u64) -> Result<(), i32> {
        self.write(ptr, &value.to_le_bytes())
    }

    /// Checks an iovec array and every buffer it names; returns the total length.
    /// More than `IOV_MAX` (1024) vectors is `EINVAL`. The total is a `u64`: the buffers
    /// may overlap, so 1024 of them can name far more bytes than a 32-bit `usize` holds.
    fn check_iovecs(&self, iovs: u32, iovs_len: u32) -> Result<u64, i32> {
        if iovs_len > 1024 {
            return Err(errno::INVAL);
        }
        self.slice(iovs, iovs_len * 8)?;
        let mut total = 0u64;
        for i in 0..iovs_len {
            let (ptr, len) = self.iovec(iovs, i)?;
            self.slice(ptr, len)?;
            total += u64::from(len);
        }
        Ok(total)
    }

    /// The `(ptr, len)` of iovec `i`.
    fn iovec(&self, iovs: u32, i: u32) -> Result<(u32, u32), i32> {
        let at = offset(iovs, i, 8)?;
        Ok((self.read_u32(at)?, self.read_u32(offset(at, 1, 4)?)?))
    }
}

/// The guest address `base + i * size`; `EFAULT` past the 32-bit address space.
fn offset(base: u32, i: u32, size: u32) -> Result<u32, i32> {
    i.checked_mul(size)
        .and_then(|delta| base.checked_add(delta))
        .ok_or(errno::FAULT)
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

/// Takes `cost` fuel from the guest (down to zero: it then stops at its next
/// instruction, out of fuel for this slice).
pub(crate) fn charge(caller: &mut Ctx<'_>, cost: u64) {
    if cost > 0
        && let Ok(left) = caller.get_fuel()
    {
        // Only fails without fuel metering, which the runtime always turns on.
        let _ = caller.set_fuel(left.saturating_sub(cost));
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

/// Copies unread stdin into the iovecs; returns the number of bytes copied.
pub(crate) fn read_stdin(
    memory: &mut [u8],
    ctx: &mut WasiCtx,
    iovs: u32,
    iovs_len: u32,
    nread: u32,
) -> Result<(), i32> {
    let mut mem = Mem(memory);
    mem.check_iovecs(iovs, iovs_len)?;
    let mut total = 0u32;
    for i in 0..iovs_len {
        let (ptr, len) = mem.iovec(iovs, i)?;
        let available = &ctx.stdin[ctx.stdin_pos..];
        // At most `len` bytes, so `n` fits a `u32`, and so does `total`: it never
        // passes the guest's memory, which the iovecs lie in.
        let n = available
            .len()
            .min(usize::try_from(len).unwrap_or(usize::MAX));
        mem.write(ptr, &available[..n])?;
        ctx.stdin_pos += n;
        total = total.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
        if ctx.stdin_pos == ctx.stdin.len() {
            break;
        }
    }
    mem.write_u32(nread, total)
}

fn fd_read(mut caller: Ctx<'_>, fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> Ret {
    let (iovs, iovs_len, nread) = (iovs as u32, iovs_len as u32, nread as u32);
    if fd != 0 || caller.data().closed[0] {
        return Ok(errno::BADF);
    }
    let Some((memory, ctx)) = split(&mut caller) else {
        return Ok(errno::FAULT);
    };
    if ctx.stdin_available() == 0 && !ctx.stdin_closed {
        // Check the pointers now, so that the resumption cannot fail on them.
        let mem = Mem(memory);
        if let Err(errno) = mem
            .check_iovecs(iovs, iovs_len)
            .and(mem.slice(nread, 4).map(drop))
        {
            return Ok(errno);
        }
        ctx.blocked = Some(Blocked::Read {
            iovs,
            iovs_len,
            nread,
        });
        return Err(Error::host(Stop::Block));
    }
    let before = ctx.stdin_pos;
    let errno = match read_stdin(memory, ctx, iovs, iovs_len, nread) {
        Ok(()) => errno::SUCCESS,
        Err(errno) => errno,
    };
    let read = (ctx.stdin_pos - before) as u64;
    charge(&mut caller, fuel::io(read));
    Ok(errno)
}

fn fd_write(mut caller: Ctx<'_>, fd: i32, iovs: i32, iovs_len: i32, nwritten: i32) -> Ret {
    if !(1..3).contains(&fd) || caller.data().closed[fd as usize] {
        return Ok(errno::BADF);
    }
    let Some((memory, ctx)) = split(&mut caller) else {
        return Ok(errno::FAULT);
    };
    let mut mem = Mem(memory);
    let (iovs, iovs_len) = (iovs as u32, iovs_len as u32);
    let total = match mem.check_iovecs(iovs, iovs_len) {
        Ok(total) => total,
        Err(errno) => return Ok(errno),
    };
    // Compared as `u64`: a 32-bit `usize` could not hold the total of overlapping
    // buffers (64 iovecs of 64 MiB), and a wrapped total would slip past the cap.
    let budget = u64::try_from(ctx.output_budget).unwrap_or(u64::MAX);
    if total > budget {
        return Err(Error::host(Stop::Fatal(Fault::OutputFlood)));
    }
    // Within the budget the total fits a `usize`; past 4 GiB (a budget that large) the
    // count does not fit `nwritten` and the write is a flood too.
    let (Ok(total), Ok(written)) = (usize::try_from(total), u32::try_from(total)) else {
        return Err(Error::host(Stop::Fatal(Fault::OutputFlood)));
    };
    ctx.output_budget -= total;
    let target = if fd == 1 {
        &mut ctx.stdout
    } else {
        &mut ctx.stderr
    };
    let before = target.len();
    for i in 0..iovs_len {
        // In bounds: checked by `check_iovecs`.
        if let Ok(bytes) = mem
            .iovec(iovs, i)
            .and_then(|(ptr, len)| mem.slice(ptr, len))
        {
            target.extend_from_slice(bytes);
        }
    }
    if fd == 1 && !end_lines(ctx, before) {
        return Err(Error::host(Stop::Fatal(Fault::MessageTooLarge)));
    }
    if let Err(errno) = mem.write_u32(nwritten as u32, written) {
        return Ok(errno);
    }
    let flush = ctx.stdout.len() + ctx.stderr.len() >= ctx.flush_at;
    charge(&mut caller, fuel::io(written.into()));
    if flush {
        caller.data_mut().blocked = Some(Blocked::Flush);
        return Err(Error::host(Stop::Block));
    }
    Ok(errno::SUCCESS)
}

/// Moves `stdout_line_start` past the lines completed by the bytes written to stdout from
/// `before` on. Returns `false` when a line, complete or not, is longer than the message
/// cap: stdout is then cut back to where that line starts, so it is never served.
fn end_lines(ctx: &mut WasiCtx, before: usize) -> bool {
    let max = ctx.max_message;
    if ctx.stdout.len() - ctx.stdout_line_start <= max {
        // The line in progress and everything written fit: only find the last line end.
        if let Some(last) = memchr::memrchr(b'\n', &ctx.stdout[before..]) {
            ctx.stdout_line_start = before + last + 1;
        }
        return true;
    }
    let mut start = ctx.stdout_line_start;
    let mut from = before;
    while let Some(i) = memchr::memchr(b'\n', &ctx.stdout[from..]) {
        let end = from + i;
        if end - start > max {
            break;
        }
        start = end + 1;
        from = start;
    }
    ctx.stdout_line_start = start;
    if ctx.stdout.len() - start > max {
        ctx.stdout.truncate(start);
        return false;
    }
    true
}

/// Writes `count` and a NUL-terminated copy of each item (args or environ).
fn write_strings(mem: &mut Mem<'_>, items: &[Vec<u8>], ptrs: u32, buf: u32) -> Result<(), i32> {
    // Guest pointers may be anywhere: add without overflowing (`EFAULT` instead).
    let add = |a: u32, b: usize| {
        u32::try_from(b)
            .ok()
            .and_then(|b| a.checked_add(b))
            .ok_or(errno::FAULT)
    };
    let mut at = buf;
    for (i, item) in items.iter().enumerate() {
        mem.write_u32(add(ptrs, 4 * i)?, at)?;
        mem.write(at, item)?;
        let end = add(at, item.len())?;
        mem.write(end, &[0])?;
        at = add(end, 1)?;
    }
    Ok(())
}

fn write_sizes(mem: &mut Mem<'_>, items: &[Vec<u8>], count: u32, size: u32) -> Result<(), i32> {
    mem.write_u32(count, items.len() as u32)?;
    let bytes: usize = items.iter().map(|s| s.len() + 1).sum();
    mem.write_u32(size, bytes as u32)
}

fn clock_time_get(mut caller: Ctx<'_>, id: i32, _precision: i64, time: i32) -> Ret {
    let Some(clock) = ClockId::from_wasi(id as u32) else {
        return Ok(errno::INVAL);
    };
    with_mem(&mut caller, |mem, ctx| {
        mem.write_u64(time as u32, ctx.clock.now(clock))
    })
}

fn clock_res_get(mut caller: Ctx<'_>, id: i32, res: i32) -> Ret {
    let Some(clock) = ClockId::from_wasi(id as u32) else {
        return Ok(errno::INVAL);
    };
    with_mem(&mut caller, |mem, ctx| {
        mem.write_u64(res as u32, ctx.clock.resolution(clock))
    })
}

/// Size of a `subscription` and of an `event` in guest memory.
const SUBSCRIPTION_SIZE: u32 = 48;
const EVENT_SIZE: u32 = 32;

/// Reads the subscriptions, turning relative clock timeouts into deadlines.
fn read_subscriptions(
    mem: &Mem<'_>,
    ctx: &WasiCtx,
    ptr: u32,
    n: u32,
) -> Result<Vec<Subscription>, i32> {
    let mut subs = Vec::with_capacity(n.min(64) as usize);
    for i in 0..n {
        let at = offset(ptr, i, SUBSCRIPTION_SIZE)?;
        let bytes = mem.slice(at, SUBSCRIPTION_SIZE)?;
        let userdata = mem.read_u64(at)?;
        let kind = match bytes[8] {
            0 => {
                let id = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
                let timeout = u64::from_le_bytes([
                    bytes[24], bytes[25], bytes[26], bytes[27], bytes[28], bytes[29], bytes[30],
                    bytes[31],
                ]);
                let flags = u16::from_le_bytes([bytes[40], bytes[41]]);
                match ClockId::from_wasi(id) {
                    Some(clock) => {
                        let deadline = if flags & 1 == 1 {
                            timeout
                        } else {
                            ctx.clock.now(clock).saturating_add(timeout)
                        };
                        SubKind::Clock { clock, deadline }
                    }
                    None => SubKind::BadClock,
                }
            }
            tag @ (1 | 2) => SubKind::Fd {
                fd: u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
                tag,
            },
            _ => return Err(errno::INVAL),
        };
        subs.push(Subscription { userdata, kind });
    }
    Ok(subs)
}

/// Writes an event for every ready subscription; returns how many.
fn poll_ready(
    mem: &mut Mem<'_>,
    ctx: &WasiCtx,
    subs: &[Subscription],
    out: u32,
) -> Result<u32, i32> {
    let mut count = 0;
    for sub in subs {
        // (error, type, nbytes, flags)
        let event = match sub.kind {
            SubKind::Clock { clock, deadline } => {
                (ctx.clock.now(clock) >= deadline).then_some((0, 0u8, 0u64, 0u16))
            }
            SubKind::BadClock => Some((errno::INVAL, 0, 0, 0)),
            SubKind::Fd { fd: 0, tag: 1 } if !ctx.closed[0] => {
                let available = ctx.stdin_available() as u64;
                if available > 0 {
                    Some((0, 1, available, 0))
                } else if ctx.stdin_closed {
                    // `eventrwflags::fd_readwrite_hangup`
                    Some((0, 1, 0, 1))
                } else {
                    None
                }
            }
            SubKind::Fd {
                fd: fd @ (1 | 2),
                tag: 2,
            } if !ctx.closed[fd as usize] => Some((
                0,
                2,
                ctx.flush_at.saturating_sub(ctx.stdout.len()) as u64,
                0,
            )),
            SubKind::Fd { tag, .. } => Some((errno::BADF, tag, 0, 0)),
        };
        if let Some((error, kind, nbytes, flags)) = event {
            let at = offset(out, count, EVENT_SIZE)?;
            let mut bytes = [0u8; EVENT_SIZE as usize];
            bytes[0..8].copy_from_slice(&sub.userdata.to_le_bytes());
            bytes[8..10].copy_from_slice(&(error as u16).to_le_bytes());
            bytes[10] = kind;
            bytes[16..24].copy_from_slice(&nbytes.to_le_bytes());
            bytes[24..26].copy_from_slice(&flags.to_le_bytes());
            mem.write(at, &bytes)?;
            count += 1;
        }
    }
    Ok(count)
}

/// The earliest clock deadline among `subs`.
pub(crate) fn earliest_deadline(subs: &[Subscription]) -> Option<(ClockId, u64)> {
    subs.iter()
        .filter_map(|s| match s.kind {
            SubKind::Clock { clock, deadline } => Some((clock, deadline)),
            _ => None,
        })
        .min_by_key(|(_, deadline)| *deadline)
}

/// Whether a blocked poll can complete now.
pub(crate) fn poll_is_ready(ctx: &WasiCtx, subs: &[Subscription]) -> bool {
    subs.iter().any(|sub| match sub.kind {
        SubKind::Clock { clock, deadline } => ctx.clock.now(clock) >= deadline,
        SubKind::Fd { fd: 0, tag: 1 } if !ctx.closed[0] => {
            ctx.stdin_available() > 0 || ctx.stdin_closed
        }
        _ => true,
    })
}

/// Completes a blocked poll: writes the ready events and their count.
pub(crate) fn finish_poll(
    memory: &mut [u8],
    ctx: &WasiCtx,
    subs: &[Subscription],
    out: u32,
    nevents: u32,
) -> Result<(), i32> {
    let mut mem = Mem(memory);
    let count = poll_ready(&mut mem, ctx, subs, out)?;
    mem.write_u32(nevents, count)
}

fn poll_oneoff(mut caller: Ctx<'_>, input: i32, out: i32, n: i32, nevents: i32) -> Ret {
    let (input, out, n, nevents) = (input as u32, out as u32, n as u32, nevents as u32);
    if n == 0 {
        return Ok(errno::INVAL);
    }
    let Some((memory, ctx)) = split(&mut caller) else {
        return Ok(errno::FAULT);
    };
    let mem = Mem(memory);
    let checked = n
        .checked_mul(SUBSCRIPTION_SIZE)
        .and_then(|len| mem.slice(input, len).ok().map(drop))
        .and(n.checked_mul(EVENT_SIZE))
        .and_then(|len| mem.slice(out, len).ok().map(drop))
        .and(mem.slice(nevents, 4).ok().map(drop));
    if checked.is_none() {
        return Ok(errno::FAULT);
    }
    // Charged up front for the subscriptions it asks the host to read.
    let cost = u64::from(n).saturating_mul(fuel::FUEL_PER_SUBSCRIPTION);
    let subs = match read_subscriptions(&mem, ctx, input, n) {
        Ok(subs) => subs,
        Err(errno) => return Ok(errno),
    };
    let ready = if poll_is_ready(ctx, &subs) {
        Some(match finish_poll(mem.0, ctx, &subs, out, nevents) {
            Ok(()) => errno::SUCCESS,
            Err(errno) => errno,
        })
    } else {
        ctx.blocked = Some(Blocked::Poll { subs, out, nevents });
        None
    };
    charge(&mut caller, cost);
    ready.ok_or_else(|| Error::host(Stop::Block))
}

fn fd_fdstat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    if !is_stdio(caller.data(), fd) {
        return Ok(errno::BADF);
    }
    let rights = if fd == 0 {
        RIGHT_FD_READ
    } else {
        RIGHT_FD_WRITE
    } | RIGHT_POLL_FD_READWRITE;
    with_mem(&mut caller, |mem, _| {
        let mut bytes = [0u8; 24];
        bytes[0] = FILETYPE_CHARACTER_DEVICE;
        bytes[8..16].copy_from_slice(&rights.to_le_bytes());
        mem.write(stat as u32, &bytes)
    })
}

fn fd_filestat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    if !is_stdio(caller.data(), fd) {
        return Ok(errno::BADF);
    }
    with_mem(&mut caller, |mem, _| {
        let mut bytes = [0u8; 64];
        bytes[16] = FILETYPE_CHARACTER_DEVICE;
        bytes[24..32].copy_from_slice(&1u64.to_le_bytes());
        mem.write(stat as u32, &bytes)
    })
}

/// Links every `wasi_snapshot_preview1` function into `linker`.
pub(crate) fn link(linker: &mut Linker<WasiCtx>) -> Result<(), wasmi::errors::LinkerError> {
    let m = WASI_MODULE;
    linker.func_wrap(m, "args_get", |mut c: Ctx<'_>, argv: i32, buf: i32| {
        with_mem(&mut c, |mem, ctx| {
            write_strings(mem, &ctx.args, argv as u32, buf as u32)
        })
    })?;
    linker.func_wrap(
        m,
        "args_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            with_mem(&mut c, |mem, ctx| {
                write_sizes(mem, &ctx.args, count as u32, size as u32)
            })
        },
    )?;
    linker.func_wrap(m, "environ_get", |mut c: Ctx<'_>, env: i32, buf: i32| {
        with_mem(&mut c, |mem, ctx| {
            write_strings(mem, &ctx.env, env as u32, buf as u32)
        })
    })?;
    linker.func_wrap(
        m,
        "environ_sizes_get",
        |mut c: Ctx<'_>, count: i32, size: i32| {
            with_mem(&mut c, |mem, ctx| {
                write_sizes(mem, &ctx.env, count as u32, size as u32)
            })
        },
    )?;
    linker.func_wrap(m, "clock_res_get", clock_res_get)?;
    linker.func_wrap(m, "clock_time_get", clock_time_get)?;
    linker.func_wrap(m, "random_get", |mut c: Ctx<'_>, buf: i32, len: i32| {
        let errno = with_mem(&mut c, |mem, ctx| {
            ctx.rng.fill_bytes(mem.slice_mut(buf as u32, len as u32)?);
            Ok(())
        });
        if matches!(errno, Ok(errno::SUCCESS)) {
            charge(&mut c, u64::from(len as u32) * fuel::FUEL_PER_RANDOM_BYTE);
        }
        errno
    })?;
    linker.func_wrap(m, "sched_yield", |_: Ctx<'_>| {
        Ok::<i32, Error>(errno::SUCCESS)
    })?;
    linker.func_wrap(
        m,
        "proc_exit",
        |_: Ctx<'_>, code: i32| -> Result<(), Error> { Err(Error::i32_exit(code)) },
    )?;
    linker.func_wrap(m, "proc_raise", |_: Ctx<'_>, signal: i32| -> Ret {
        Err(Error::host(Stop::Fatal(Fault::Signal(signal))))
    })?;
    linker.func_wrap(m, "poll_oneoff", poll_oneoff)?;
    linker.func_wrap(m, "fd_read", fd_read)?;
    linker.func_wrap(m, "fd_write", fd_write)?;
    linker.func_wrap(m, "fd_fdstat_get", fd_fdstat_get)?;
    linker.func_wrap(m, "fd_filestat_get", fd_filestat_get)?;
    linker.func_wrap(m, "fd_close", |mut c: Ctx<'_>, fd: i32| -> Ret {
        if !is_stdio(c.data(), fd) {
            return Ok(errno::BADF);
        }
        c.data_mut().closed[fd as usize] = true;
        Ok(errno::SUCCESS)
    })?;
    // No preopened directories: libc's preopen scan stops at the first EBADF.
    linker.func_wrap(m, "fd_prestat_get", |_: Ctx<'_>, _fd: i32, _buf: i32| {
        Ok::<i32, Error>(errno::BADF)
    })?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |_: Ctx<'_>, _fd: i32, _p: i32, _l: i32| Ok::<i32, Error>(errno::BADF),
    )?;
    // Seeking and positioned I/O on a pipe.
    linker.func_wrap(
        m,
        "fd_seek",
        |c: Ctx<'_>, fd: i32, _o: i64, _w: i32, _r: i32| stdio_or_badf(&c, fd, errno::SPIPE),
    )?;
    linker.func_wrap(m, "fd_tell", |c: Ctx<'_>, fd: i32, _r: i32| {
        stdio_or_badf(&c, fd, errno::SPIPE)
    })?;
    linker.func_wrap(
        m,
        "fd_pread",
        |c: Ctx<'_>, fd: i32, _i: i32, _l: i32, _o: i64, _r: i32| {
            stdio_or_badf(&c, fd, errno::SPIPE)
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pwrite",
        |c: Ctx<'_>, fd: i32, _i: i32, _l: i32, _o: i64, _r: i32| {
            stdio_or_badf(&c, fd, errno::SPIPE)
        },
    )?;
    // Descriptor operations stdio does not support.
    linker.func_wrap(
        m,
        "fd_advise",
        |c: Ctx<'_>, fd: i32, _o: i64, _l: i64, _a: i32| stdio_or_badf(&c, fd, errno::SPIPE),
    )?;
    linker.func_wrap(m, "fd_allocate", |c: Ctx<'_>, fd: i32, _o: i64, _l: i64| {
        stdio_or_badf(&c, fd, errno::SPIPE)
    })?;
    linker.func_wrap(m, "fd_datasync", |c: Ctx<'_>, fd: i32| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(m, "fd_sync", |c: Ctx<'_>, fd: i32| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(m, "fd_fdstat_set_flags", |c: Ctx<'_>, fd: i32, _f: i32| {
        stdio_or_badf(&c, fd, errno::NOSYS)
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_rights",
        |c: Ctx<'_>, fd: i32, _b: i64, _i: i64| stdio_or_badf(&c, fd, errno::NOSYS),
    )?;
    linker.func_wrap(m, "fd_filestat_set_size", |c: Ctx<'_>, fd: i32, _s: i64| {
        stdio_or_badf(&c, fd, errno::INVAL)
    })?;
    linker.func_wrap(
        m,
        "fd_filestat_set_times",
        |c: Ctx<'_>, fd: i32, _a: i64, _m: i64, _f: i32| stdio_or_badf(&c, fd, errno::NOSYS),
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        |c: Ctx<'_>, fd: i32, _b: i32, _l: i32, _k: i64, _u: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(m, "fd_renumber", |c: Ctx<'_>, fd: i32, to: i32| {
        Ok::<i32, Error>(if is_stdio(c.data(), fd) && is_stdio(c.data(), to) {
            errno::NOSYS
        } else {
            errno::BADF
        })
    })?;
    // Paths: there is no file system; stdio fds are not directories.
    linker.func_wrap(
        m,
        "path_create_directory",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _b: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_set_times",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _a: i64, _m: i64, _ff: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_link",
        |c: Ctx<'_>, fd: i32, _f: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        |c: Ctx<'_>,
         fd: i32,
         _df: i32,
         _p: i32,
         _l: i32,
         _of: i32,
         _rb: i64,
         _ri: i64,
         _ff: i32,
         _r: i32| { stdio_or_badf(&c, fd, errno::NOTDIR) },
    )?;
    linker.func_wrap(
        m,
        "path_readlink",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32, _b: i32, _bl: i32, _r: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    linker.func_wrap(
        m,
        "path_rename",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_symlink",
        |c: Ctx<'_>, _op: i32, _ol: i32, fd: i32, _np: i32, _nl: i32| {
            stdio_or_badf(&c, fd, errno::NOTDIR)
        },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        |c: Ctx<'_>, fd: i32, _p: i32, _l: i32| stdio_or_badf(&c, fd, errno::NOTDIR),
    )?;
    // Sockets: none.
    linker.func_wrap(m, "sock_accept", |c: Ctx<'_>, fd: i32, _f: i32, _r: i32| {
        stdio_or_badf(&c, fd, errno::NOTSOCK)
    })?;
    linker.func_wrap(
        m,
        "sock_recv",
        |c: Ctx<'_>, fd: i32, _d: i32, _l: i32, _f: i32, _r: i32, _rf: i32| {
            stdio_or_badf(&c, fd, errno::NOTSOCK)
        },
    )?;
    linker.func_wrap(
        m,
        "sock_send",
        |c: Ctx<'_>, fd: i32, _d: i32, _l: i32, _f: i32, _r: i32| {
            stdio_or_badf(&c, fd, errno::NOTSOCK)
        },
    )?;
    linker.func_wrap(m, "sock_shutdown", |c: Ctx<'_>, fd: i32, _h: i32| {
        stdio_or_badf(&c, fd, errno::NOTSOCK)
    })?;
    Ok(())
}

/// Every `wasi_snapshot_preview1` function name; the runtime links them all.
pub const WASI_FUNCTIONS: [&str; 46] = [
    "args_get",
    "args_sizes_get",
    "environ_get",
    "environ_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_get",
    "fd_prestat_dir_name",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "sched_yield",
    "random_get",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

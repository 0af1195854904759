//! The three stdio descriptors: `fd_read` from stdin, `fd_write` to stdout and stderr
//! (lines counted against the message cap), their stats, and the argument and
//! environment strings.

use super::*;
use bevy_wasmi_plugins_protocol::attach::{ATTACHMENT_HEADER, ATTACHMENT_TAG, attachment_len};

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

pub(super) fn fd_read(mut caller: Ctx<'_>, fd: i32, iovs: i32, iovs_len: i32, nread: i32) -> Ret {
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
        return Err(Error::host(Wait));
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

pub(super) fn fd_write(
    mut caller: Ctx<'_>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> Ret {
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
        return Err(Error::host(Wait));
    }
    Ok(errno::SUCCESS)
}

/// Moves `stdout_line_start` past the frames (lines, each perhaps after an
/// [attachment](bevy_wasmi_plugins_protocol::attach)) completed by the bytes written to
/// stdout from `before` on. Returns `false` when a frame, complete or not, is longer than
/// the message cap: stdout is then cut back to where that frame starts, so it is never
/// served.
pub(super) fn end_lines(ctx: &mut WasiCtx, before: usize) -> bool {
    let max = ctx.max_message;
    let out = &ctx.stdout;
    let mut start = ctx.stdout_line_start;
    // Usually only lines, all under the cap: an attachment can start only at a frame's
    // start or after a `\n`, so without a NUL in the new bytes (or an attachment begun
    // at `start`) every frame they end is a line, and the last `\n` ends the last one.
    if out.len() - start <= max
        && attachment_len(&out[start..]).is_none()
        && memchr::memchr(ATTACHMENT_TAG, &out[before..]).is_none()
    {
        if let Some(last) = memchr::memrchr(b'\n', &out[before..]) {
            ctx.stdout_line_start = before + last + 1;
        }
        return true;
    }
    // The line of the frame at `start` holds no `\n` before `before`: the last call ended
    // every frame it could.
    let mut from = before;
    let complete = loop {
        // Where the frame's line starts: past its attachment, if it has one.
        let line_start = match attachment_len(&out[start..]) {
            None => start,
            // The header is cut short: wait for the rest.
            Some(Err(())) => break true,
            Some(Ok(len)) => start.saturating_add(ATTACHMENT_HEADER).saturating_add(len),
        };
        if line_start > out.len() {
            // The attachment is not all there; its length alone may pass the cap.
            break line_start - start <= max;
        }
        let search = from.max(line_start);
        match memchr::memchr(b'\n', &out[search..]) {
            Some(i) => {
                let end = search + i;
                if end - start > max {
                    break false;
                }
                start = end + 1;
                from = start;
            }
            None => break out.len() - start <= max,
        }
    };
    ctx.stdout_line_start = start;
    if !complete {
        ctx.stdout.truncate(start);
    }
    complete
}

/// Writes `count` and a NUL-terminated copy of each item (args or environ).
pub(super) fn write_strings(
    mem: &mut Mem<'_>,
    items: &[Vec<u8>],
    ptrs: u32,
    buf: u32,
) -> Result<(), i32> {
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

pub(super) fn write_sizes(
    mem: &mut Mem<'_>,
    items: &[Vec<u8>],
    count: u32,
    size: u32,
) -> Result<(), i32> {
    mem.write_u32(count, items.len() as u32)?;
    let bytes: usize = items.iter().map(|s| s.len() + 1).sum();
    mem.write_u32(size, bytes as u32)
}

pub(super) fn fd_fdstat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
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

pub(super) fn fd_filestat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
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

//! Clocks and `poll_oneoff`: subscriptions read from guest memory, deadlines, and the
//! events written back when a blocked poll completes.

use super::*;

pub(super) fn clock_time_get(mut caller: Ctx<'_>, id: i32, _precision: i64, time: i32) -> Ret {
    let Some(clock) = ClockId::from_wasi(id as u32) else {
        return Ok(errno::INVAL);
    };
    with_mem(&mut caller, |mem, ctx| {
        mem.write_u64(time as u32, ctx.clock.now(clock))
    })
}

pub(super) fn clock_res_get(mut caller: Ctx<'_>, id: i32, res: i32) -> Ret {
    let Some(clock) = ClockId::from_wasi(id as u32) else {
        return Ok(errno::INVAL);
    };
    with_mem(&mut caller, |mem, ctx| {
        mem.write_u64(res as u32, ctx.clock.resolution(clock))
    })
}

/// Most subscriptions one `poll_oneoff` may hold; more is `EINVAL`. A blocked poll is
/// checked every frame (its clocks read, its deadlines compared), so the host keeps
/// that work small; a mod waits on a few (stdin and a clock, or a sleep).
pub(crate) const MAX_SUBSCRIPTIONS: u32 = 1024;

/// Size of a `subscription` and of an `event` in guest memory.
pub(super) const SUBSCRIPTION_SIZE: u32 = 48;
pub(super) const EVENT_SIZE: u32 = 32;

/// Reads the subscriptions, turning relative clock timeouts into deadlines.
pub(super) fn read_subscriptions(
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
pub(super) fn poll_ready(
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

pub(super) fn poll_oneoff(mut caller: Ctx<'_>, input: i32, out: i32, n: i32, nevents: i32) -> Ret {
    let (input, out, n, nevents) = (input as u32, out as u32, n as u32, nevents as u32);
    if n == 0 || n > MAX_SUBSCRIPTIONS {
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
    ready.ok_or_else(|| Error::host(Wait))
}

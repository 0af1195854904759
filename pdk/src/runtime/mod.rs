//! The mod's main loop: run woken tasks, flush the output with one write, wait for
//! input, answer each complete line, and again, until the host closes stdin.
//!
//! The host suspends the mod while it waits on an empty stdin, so waiting costs nothing;
//! while a handler awaits a host call, the other requests are served.
//!
//! Functions on the path of every request are `#[inline(always)]`: on wasmi a call (its
//! frame set up and zeroed) costs about as much as a dozen plain operations, and inlining
//! them took a tenth off a `ping`.

mod dispatch;
mod executor;
pub(crate) mod io;
pub(crate) mod lines;
pub(crate) mod state;

pub use dispatch::Responder;
pub use executor::{Executor, Task};

pub(crate) use bevy_wasmi_plugins_protocol::same_bytes;
use bevy_wasmi_plugins_protocol::{DEFAULT_MAX_MESSAGE_SIZE, FastHead};

use dispatch::Server;
use io::Io;
use lines::{Line, LineReader};

use crate::Plugin;

pub(crate) use bevy_wasmi_plugins_protocol::lifecycle::{
    INIT_METHOD as INIT, SHUTDOWN_METHOD as SHUTDOWN,
};

/// Whether `method` is answered by the PDK itself.
pub(crate) fn is_builtin(method: &str) -> bool {
    method == INIT || method == SHUTDOWN
}

/// The mod crate's name and version, captured by `register_plugin!`.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// `CARGO_PKG_NAME` of the mod.
    pub name: &'static str,
    /// `CARGO_PKG_VERSION` of the mod.
    pub version: &'static str,
}

/// Runs plugin `P` on stdin/stdout until stdin closes: the body of the `main` that
/// `register_plugin!` writes.
#[doc(hidden)]
pub fn run<P: Plugin>(meta: Meta) {
    crate::logger::install();
    serve::<P>(&meta, &mut io::Stdio, DEFAULT_MAX_MESSAGE_SIZE);
}

/// The main loop, over any [`Io`].
pub(crate) fn serve<P: Plugin>(meta: &Meta, io: &mut impl Io, max_line: usize) {
    state::reset();
    crate::ecs::reset();
    let mut server = Server::<P>::new(meta);
    let mut reader = LineReader::new(max_line);
    loop {
        server.executor.run();
        if !flush(io) {
            return;
        }
        if !reader.fill(io) {
            break;
        }
        // Usually the input ends with the last complete line: stop there without a search.
        while !reader.is_empty() {
            let Some((line, head, attachment)) = reader.next_fast_line() else {
                break;
            };
            handle(&mut server, line, head, attachment, max_line);
        }
    }
    // End of input: answer a last line that had no `\n`, then stop.
    if let Some(line) = reader.rest() {
        handle(&mut server, line, None, None, max_line);
    }
    server.executor.run();
    flush(io);
    let unfinished = server.executor.live();
    if unfinished > 0 {
        log::debug!("input closed with {unfinished} requests or notifications unfinished");
    }
}

#[inline(always)]
fn handle<'a, P: Plugin>(
    server: &mut Server<P>,
    line: Line<'a>,
    head: Option<FastHead<'a>>,
    attachment: Option<&[u8]>,
    max_line: usize,
) {
    match line {
        Line::Complete(line) => {
            server.line(line, head, attachment);
            // Start what the line asked for before reading the next one, so host calls
            // go out in the order the requests came.
            server.executor.run();
        }
        Line::TooLarge => {
            log::warn!("dropped an input line longer than {max_line} bytes");
            dispatch::reply_null(&dispatch::too_large(max_line));
        }
    }
}

/// Writes out everything buffered; false when the write failed.
fn flush(io: &mut impl Io) -> bool {
    // The write runs no mod code (it is one WASI call, or a test's fake host), so the
    // output buffer can stay borrowed meanwhile.
    state::with(|shared| {
        if shared.out.is_empty() {
            return true;
        }
        let written = io.write(&shared.out);
        shared.out.clear();
        if shared.out.capacity() > 1 << 20 {
            // Do not keep a huge buffer for one large burst of output.
            shared.out = Vec::new();
        }
        written
    })
}

#[cfg(test)]
mod tests;

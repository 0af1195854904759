//! The [`log`] backend `register_plugin!` installs: one `LEVEL target: message` line per
//! record on stderr, which the host forwards to the game's log under the mod's name.
//!
//! The level is `info` unless the `RUST_LOG` environment variable holds a level name
//! (`off`, `error`, `warn`, `info`, `debug`, `trace`).

use std::cell::RefCell;
use std::io::Write;

use log::{LevelFilter, Log, Metadata, Record};

struct Logger;

static LOGGER: Logger = Logger;

thread_local! {
    /// The line being written, reused.
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let _ = LINE.try_with(|line| match line.try_borrow_mut() {
            Ok(mut line) => write_line(&mut line, record),
            // A log call while formatting another one's message.
            Err(_) => write_line(&mut Vec::new(), record),
        });
    }

    fn flush(&self) {}
}

/// Formats `record` into `line` and writes it to stderr in one write.
fn write_line(line: &mut Vec<u8>, record: &Record<'_>) {
    line.clear();
    format_record(line, record);
    crate::runtime::io::write_stderr(line);
}

fn format_record(line: &mut Vec<u8>, record: &Record<'_>) {
    line.extend_from_slice(record.level().as_str().as_bytes());
    line.push(b' ');
    line.extend_from_slice(record.target().as_bytes());
    line.extend_from_slice(b": ");
    match record.args().as_str() {
        Some(text) => line.extend_from_slice(text.as_bytes()),
        None => {
            let _ = line.write_fmt(*record.args());
        }
    }
    line.push(b'\n');
}

/// The level named by `RUST_LOG`, `info` otherwise.
fn level_from_env() -> LevelFilter {
    std::env::var("RUST_LOG")
        .ok()
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(LevelFilter::Info)
}

/// Installs the logger (once; later calls and other loggers win nothing).
pub(crate) fn install() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level_from_env());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(record: &Record<'_>) -> String {
        let mut line = Vec::new();
        format_record(&mut line, record);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn lines_are_level_target_message() {
        let n = 2;
        let line = format(
            &Record::builder()
                .args(format_args!("adding {n}"))
                .level(log::Level::Info)
                .target("counter")
                .build(),
        );
        assert_eq!(line, "INFO counter: adding 2\n");
        let line = format(
            &Record::builder()
                .args(format_args!("plain"))
                .level(log::Level::Warn)
                .target("x::y")
                .build(),
        );
        assert_eq!(line, "WARN x::y: plain\n");
    }
}

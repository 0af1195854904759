//! Errors of the runtime: every one names the mod it is about.

use std::sync::Arc;

use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
pub use wasmi::TrapCode;

/// Why a mod could not be loaded, or stopped running.
///
/// Every message names the mod and, where there is one, says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ModError {
    /// The bytes are not a valid WebAssembly module.
    #[error("mod `{name}`: not a valid WebAssembly module: {message}")]
    InvalidModule {
        /// The mod.
        name: Arc<str>,
        /// What wasmi found wrong.
        message: String,
    },
    /// The module imports something the host does not provide.
    #[error(
        "mod `{name}` imports `{module}::{field}`, which the host does not provide \
         (mods may import only `wasi_snapshot_preview1` functions)"
    )]
    UnknownImport {
        /// The mod.
        name: Arc<str>,
        /// The import's module name.
        module: String,
        /// The import's field name.
        field: String,
    },
    /// The module has no `_start` export of type `() -> ()`.
    #[error(
        "mod `{name}` exports no `_start` function: build it as a wasm32-wasip1 program \
         (a binary crate with `main`)"
    )]
    MissingStart {
        /// The mod.
        name: Arc<str>,
    },
    /// The module does not export a memory named `memory`.
    #[error("mod `{name}` exports no memory named `memory`, which WASI needs")]
    MissingMemory {
        /// The mod.
        name: Arc<str>,
    },
    /// Instantiation failed (a bad import type, a trapping start function, limits).
    #[error("mod `{name}` could not be instantiated: {message}")]
    Instantiation {
        /// The mod.
        name: Arc<str>,
        /// What wasmi reported.
        message: String,
    },
    /// The mod sent too many invalid lines in a row (see `Limits::max_invalid_messages`).
    #[error(
        "mod `{name}` sent {count} invalid messages in a row (the last: {last}); it was stopped"
    )]
    InvalidMessages {
        /// The mod.
        name: Arc<str>,
        /// How many in a row.
        count: u32,
        /// The last one, shortened, and why it is invalid.
        last: String,
    },
    /// The guest panicked (a Rust panic, or another language's abort after a message).
    #[error("mod `{name}` panicked: {message}")]
    Panic {
        /// The mod.
        name: Arc<str>,
        /// The panic message from the guest's stderr.
        message: String,
    },
    /// The guest trapped.
    #[error("mod `{name}` trapped: {code}{}", context_suffix(.context))]
    Trap {
        /// The mod.
        name: Arc<str>,
        /// The trap.
        code: TrapCode,
        /// The last lines the guest wrote on stderr, if any.
        context: String,
    },
    /// The guest overflowed its call stack.
    #[error("mod `{name}` overflowed its call stack (unbounded recursion?)")]
    StackOverflow {
        /// The mod.
        name: Arc<str>,
    },
    /// The guest asked for more memory than its cap.
    #[error("mod `{name}` ran out of memory: it may use at most {limit} bytes")]
    OutOfMemory {
        /// The mod.
        name: Arc<str>,
        /// The memory cap in bytes.
        limit: usize,
    },
    /// The guest used more fuel than one activation may, without waiting for input.
    #[error(
        "mod `{name}` used more than {limit} fuel without waiting for input \
         (an endless loop?); it was stopped"
    )]
    FuelExhausted {
        /// The mod.
        name: Arc<str>,
        /// The fuel cap per activation.
        limit: u64,
    },
    /// The guest wrote a line on stdout longer than the message cap.
    #[error("mod `{name}` wrote a message longer than {limit} bytes on stdout")]
    MessageTooLarge {
        /// The mod.
        name: Arc<str>,
        /// The message cap in bytes.
        limit: usize,
    },
    /// The guest wrote more output than one activation may.
    #[error(
        "mod `{name}` wrote more than {limit} bytes of output without waiting for input; \
         it was stopped"
    )]
    OutputFlood {
        /// The mod.
        name: Arc<str>,
        /// The output cap per activation in bytes.
        limit: usize,
    },
    /// The guest kept sending without reading the answers, which piled up past the input
    /// cap.
    #[error(
        "mod `{name}` sends without reading the answers: more than {limit} bytes of them \
         are unread; it was stopped"
    )]
    UnreadInput {
        /// The mod.
        name: Arc<str>,
        /// The input cap in bytes.
        limit: usize,
    },
    /// The guest exited (returned from `main` or called `proc_exit`).
    #[error("mod `{name}` exited with code {code}")]
    Exited {
        /// The mod.
        name: Arc<str>,
        /// The exit code.
        code: i32,
    },
    /// The guest raised a signal with `proc_raise`.
    #[error("mod `{name}` raised signal {signal}")]
    Signal {
        /// The mod.
        name: Arc<str>,
        /// The signal number.
        signal: i32,
    },
    /// The embedder could not load the mod (for the Bevy layer: the asset failed to
    /// load; the message says why).
    #[error("mod `{name}` could not be loaded: {message}")]
    LoadFailed {
        /// The mod.
        name: Arc<str>,
        /// Why.
        message: String,
    },
    /// The mod answered `plugin.init` with an error, so it did not start.
    #[error("mod `{name}` failed to start: plugin.init answered {message}")]
    InitFailed {
        /// The mod.
        name: Arc<str>,
        /// The error it answered with.
        message: String,
    },
    /// Any other failure wasmi reported while running the guest.
    #[error("mod `{name}` failed: {message}")]
    Runtime {
        /// The mod.
        name: Arc<str>,
        /// What wasmi reported.
        message: String,
    },
}

fn context_suffix(context: &str) -> String {
    if context.is_empty() {
        String::new()
    } else {
        format!(" (stderr: {context})")
    }
}

impl ModError {
    /// The name of the mod this error is about.
    pub fn mod_name(&self) -> &str {
        match self {
            ModError::InvalidModule { name, .. }
            | ModError::UnknownImport { name, .. }
            | ModError::MissingStart { name }
            | ModError::MissingMemory { name }
            | ModError::Instantiation { name, .. }
            | ModError::Panic { name, .. }
            | ModError::Trap { name, .. }
            | ModError::StackOverflow { name }
            | ModError::OutOfMemory { name, .. }
            | ModError::FuelExhausted { name, .. }
            | ModError::MessageTooLarge { name, .. }
            | ModError::OutputFlood { name, .. }
            | ModError::UnreadInput { name, .. }
            | ModError::InvalidMessages { name, .. }
            | ModError::Exited { name, .. }
            | ModError::Signal { name, .. }
            | ModError::LoadFailed { name, .. }
            | ModError::InitFailed { name, .. }
            | ModError::Runtime { name, .. } => name,
        }
    }

    /// The JSON-RPC error code a pending call gets when its mod stops with this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ModError::FuelExhausted { .. } => ErrorCode::FuelExhausted,
            ModError::OutOfMemory { .. } => ErrorCode::OutOfMemory,
            ModError::MessageTooLarge { .. } => ErrorCode::MessageTooLarge,
            ModError::OutputFlood { .. } | ModError::UnreadInput { .. } => ErrorCode::OutputFlood,
            ModError::Exited { .. }
            | ModError::InvalidModule { .. }
            | ModError::UnknownImport { .. }
            | ModError::MissingStart { .. }
            | ModError::MissingMemory { .. }
            | ModError::Instantiation { .. }
            | ModError::LoadFailed { .. }
            | ModError::InitFailed { .. } => ErrorCode::ModUnavailable,
            _ => ErrorCode::ModCrashed,
        }
    }

    /// This error as the JSON-RPC error object given to callers.
    pub fn to_response_error(&self) -> ResponseError {
        ResponseError::new(self.error_code(), self.to_string())
    }
}

//! Errors of the runtime: every one names the mod it is about.

use std::sync::Arc;

use bevy_wasmi_plugins_protocol::{ErrorCode, ResponseError};
pub use wasmi::TrapCode;

/// Why a mod could not be loaded, or stopped running: the mod's name and what went wrong.
///
/// Its message names the mod, then says what happened (see [`ModErrorKind`]):
///
/// ```
/// use bevy_wasmi_plugins::runtime::{ModError, ModErrorKind};
///
/// let error = ModError::new("rogue", ModErrorKind::FuelExhausted { limit: 1000 });
/// assert_eq!(error.mod_name(), "rogue");
/// assert!(matches!(error.kind, ModErrorKind::FuelExhausted { limit: 1000 }));
/// assert_eq!(
///     error.to_string(),
///     "mod `rogue` used more than 1000 fuel without waiting for input (an endless loop?); \
///      it was stopped"
/// );
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("mod `{name}` {kind}")]
#[non_exhaustive]
pub struct ModError {
    /// The mod's name.
    pub name: Arc<str>,
    /// What went wrong.
    pub kind: ModErrorKind,
}

/// What went wrong with a mod: the part of a [`ModError`] after the mod's name.
///
/// Its message reads on from the mod's name, as in "mod \`rogue\` panicked: …", and
/// where there is one, it says what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ModErrorKind {
    /// The bytes are not a valid WebAssembly module.
    #[error("is not a valid WebAssembly module: {message}")]
    InvalidModule {
        /// What wasmi found wrong.
        message: String,
    },
    /// The module imports something the host does not provide.
    #[error(
        "imports `{module}::{field}`, which the host does not provide \
         (mods may import only `wasi_snapshot_preview1` functions)"
    )]
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        field: String,
    },
    /// The module has no `_start` export of type `() -> ()`.
    #[error(
        "exports no `_start` function: build it as a wasm32-wasip1 program \
         (a binary crate with `main`)"
    )]
    MissingStart,
    /// The module does not export a memory named `memory`.
    #[error("exports no memory named `memory`, which WASI needs")]
    MissingMemory,
    /// Instantiation failed (a bad import type, a trapping start function, limits).
    #[error("could not be instantiated: {message}")]
    Instantiation {
        /// What wasmi reported.
        message: String,
    },
    /// The mod sent too many invalid lines in a row (see `Limits::max_invalid_messages`).
    #[error("sent {count} invalid messages in a row (the last: {last}); it was stopped")]
    InvalidMessages {
        /// How many in a row.
        count: u32,
        /// The last one, shortened, and why it is invalid.
        last: String,
    },
    /// The guest panicked (a Rust panic, or another language's abort after a message).
    #[error("panicked: {message}")]
    Panic {
        /// The panic message from the guest's stderr.
        message: String,
    },
    /// The guest trapped.
    #[error("trapped: {code}{}", context_suffix(.context))]
    Trap {
        /// The trap.
        code: TrapCode,
        /// The last lines the guest wrote on stderr, if any.
        context: String,
    },
    /// The guest overflowed its call stack.
    #[error("overflowed its call stack (unbounded recursion?)")]
    StackOverflow,
    /// The guest asked for more memory than its cap.
    #[error("ran out of memory: it may use at most {limit} bytes")]
    OutOfMemory {
        /// The memory cap in bytes.
        limit: usize,
    },
    /// The guest used more fuel than one activation may, without waiting for input.
    #[error(
        "used more than {limit} fuel without waiting for input \
         (an endless loop?); it was stopped"
    )]
    FuelExhausted {
        /// The fuel cap per activation.
        limit: u64,
    },
    /// The guest wrote a line on stdout longer than the message cap.
    #[error("wrote a message longer than {limit} bytes on stdout")]
    MessageTooLarge {
        /// The message cap in bytes.
        limit: usize,
    },
    /// The guest wrote more output than one activation may.
    #[error(
        "wrote more than {limit} bytes of output without waiting for input; \
         it was stopped"
    )]
    OutputFlood {
        /// The output cap per activation in bytes.
        limit: usize,
    },
    /// The guest kept sending without reading the answers, which piled up past the input
    /// cap.
    #[error(
        "sends without reading the answers: more than {limit} bytes of them \
         are unread; it was stopped"
    )]
    UnreadInput {
        /// The input cap in bytes.
        limit: usize,
    },
    /// The guest exited (returned from `main` or called `proc_exit`).
    #[error("exited with code {code}")]
    Exited {
        /// The exit code.
        code: i32,
    },
    /// The guest raised a signal with `proc_raise`.
    #[error("raised signal {signal}")]
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// The embedder could not load the mod (for the Bevy layer: the asset failed to
    /// load; the message says why).
    #[error("could not be loaded: {message}")]
    LoadFailed {
        /// Why.
        message: String,
    },
    /// The mod answered `plugin.init` with an error, so it did not start.
    #[error("failed to start: plugin.init answered {message}")]
    InitFailed {
        /// The error it answered with.
        message: String,
    },
    /// Any other failure wasmi reported while running the guest.
    #[error("failed: {message}")]
    Runtime {
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
    /// An error of `kind` about the mod called `name`.
    pub fn new(name: impl Into<Arc<str>>, kind: ModErrorKind) -> Self {
        ModError {
            name: name.into(),
            kind,
        }
    }

    /// The name of the mod this error is about.
    pub fn mod_name(&self) -> &str {
        &self.name
    }

    /// The JSON-RPC error code a pending call gets when its mod stops with this error.
    pub fn error_code(&self) -> ErrorCode {
        self.kind.error_code()
    }

    /// This error as the JSON-RPC error object given to callers.
    pub fn to_response_error(&self) -> ResponseError {
        ResponseError::new(self.error_code(), self.to_string())
    }
}

impl ModErrorKind {
    /// This kind about the mod called `name`.
    pub fn named(self, name: impl Into<Arc<str>>) -> ModError {
        ModError::new(name, self)
    }

    /// The JSON-RPC error code a pending call gets when its mod stops with this error.
    pub fn error_code(&self) -> ErrorCode {
        use ModErrorKind::*;
        match self {
            FuelExhausted { .. } => ErrorCode::FuelExhausted,
            OutOfMemory { .. } => ErrorCode::OutOfMemory,
            MessageTooLarge { .. } => ErrorCode::MessageTooLarge,
            OutputFlood { .. } | UnreadInput { .. } => ErrorCode::OutputFlood,
            Exited { .. }
            | InvalidModule { .. }
            | UnknownImport { .. }
            | MissingStart
            | MissingMemory
            | Instantiation { .. }
            | LoadFailed { .. }
            | InitFailed { .. } => ErrorCode::ModUnavailable,
            _ => ErrorCode::ModCrashed,
        }
    }
}

//! The mod runtime: wasmi, WASI over in-memory pipes, fuel-sliced resumable execution,
//! limits, and the JSON-RPC session with each mod. No Bevy here: a plain loop can drive
//! it (tests, `wasmi-mod`), and the Bevy layer drives it once per frame.
//!
//! - [`Runtime`] holds wasmi's configuration; it compiles a `.wasm` once into a
//!   [`ModModule`] (on a wasmi engine and WASI linker of its own) that any number of
//!   instances share, checked up front and translated lazily by default
//!   ([`Compilation`]).
//! - [`ModInstance`] is one running mod: a persistent instance whose `main` loops on
//!   stdin, advanced by [`ModInstance::run`] with a fuel slice. Host requests are served
//!   by the embedder's [`ModHost`]; calls into the mod return a [`CallHandle`].
//! - [`Guest`] is the layer underneath, bytes only, for plain WASI programs.
//! - [`Limits`] and [`ModConfig`] set what a mod may use; [`ModError`] says how it ended.
//!
//! ```
//! use bevy_wasmi_plugins::runtime::{ModConfig, ModHost, ModInstance, Runtime};
//! use bevy_wasmi_plugins_protocol::{to_raw, Notification, Outcome, Request};
//!
//! // A guest that answers one request by hand, in WebAssembly text.
//! # let wat = r#"(module
//! #   (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
//! #   (memory (export "memory") 1)
//! #   (data (i32.const 16) "{\"jsonrpc\":\"2.0\",\"method\":\"hello\"}\n")
//! #   (func (export "_start")
//! #     (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 36))
//! #     (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;
//! let runtime = Runtime::new();
//! let module = runtime.compile("hello", &wat::parse_str(wat).unwrap()).unwrap();
//! let mut instance = ModInstance::new(&module, &ModConfig::default()).unwrap();
//!
//! struct Host(Vec<String>);
//! impl ModHost for Host {
//!     fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
//!         to_raw(&request.method)
//!     }
//!     fn notification(&mut self, _mod_name: &str, notification: &Notification<'_>) {
//!         self.0.push(notification.method.to_string());
//!     }
//! }
//! let mut host = Host(Vec::new());
//! let _ = instance.run(1_000_000, &mut host);
//! assert_eq!(host.0, ["hello"]);
//! ```

mod clock;
mod error;
mod guest;
mod instance;
pub(crate) mod reply;
pub mod wasi;

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use wasmi::{CompilationMode, Config, CustomFuelCosts, Engine, ExternType, Linker, Module};

pub use clock::{Clock, ClockId, SystemClock, VirtualClock};
pub use error::{ModError, ModErrorKind, TrapCode};
pub use guest::{Guest, GuestStatus, START_SECTION_FUEL};
pub use instance::{
    CallHandle, MAX_FRESH_CALL_SLEEP, ModHost, ModInstance, NoHost, RunStatus, call_fresh,
};

use bevy_wasmi_plugins_protocol::DEFAULT_MAX_MESSAGE_SIZE;
use wasi::{WASI_FUNCTIONS, WASI_MODULE, WasiCtx};

/// How mods are compiled and run: wasmi's configuration (fuel metering, costs,
/// [`Compilation`]). Cheap to clone; build one per application.
///
/// Each module it compiles gets a wasmi engine and WASI linker of its own, shared by
/// that module's instances. wasmi's engine keeps every function it has compiled until
/// the engine itself is dropped, so with one engine for all mods each compile (every
/// hot reload) would keep its module's code for good; with one engine per module, a
/// module's code goes when its last instance does.
#[derive(Clone)]
pub struct Runtime {
    config: Config,
    compilation: Compilation,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// How a [`Runtime`] compiles mods: when a module's functions are validated and when
/// they become wasmi's bytecode. [`Runtime::compile`] always checks the module's
/// structure (sections, imports, exports, memory, data) whatever the mode.
///
/// In every mode a call uses the same fuel: validation and translation are not
/// charged to the mod, so a call's fuel does not depend on whether it, another
/// instance of the same module, or nothing translated the function first (fuel stays
/// deterministic, and so do the fuel slices a call is split into). What the lazy modes
/// move is wall time: each function's translation (once per module, shared by its
/// instances) happens inside the first slice that calls it, so that slice runs longer
/// than its fuel says, at most by the time eager compilation of the module would have
/// taken in all, once. A PDK mod's start-up runs about 24 KB of its code, which takes
/// a millisecond or two to translate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Compilation {
    /// Validate the module up front; translate each function the first time any
    /// instance calls it (wasmi's `CompilationMode::LazyTranslation`). The default: a
    /// mod starts in a few milliseconds, an invalid one fails to compile, and code it
    /// never runs is never translated.
    #[default]
    Lazy,
    /// Validate and translate every function up front (`CompilationMode::Eager`):
    /// slower to compile, no translation inside a call.
    Eager,
    /// Validate and translate each function the first time any instance calls it
    /// (wasmi's `CompilationMode::Lazy`): compiling is only reading the module's
    /// structure, about a tenth of [`Compilation::Lazy`]'s time. The price: an invalid
    /// function is found only when it is first called, and the mod then fails with
    /// [`ModErrorKind::InvalidModule`] (its instances after it too), having run
    /// until then. A mod's behaviour up to that point is the same as in the other
    /// modes, fuel included.
    Deferred,
}

impl Runtime {
    /// A runtime with fuel metering on and [`Compilation::Lazy`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_compilation(Compilation::Lazy)
    }

    /// A runtime with fuel metering on that compiles as `compilation` says.
    ///
    /// ```
    /// use bevy_wasmi_plugins::runtime::{Compilation, Runtime};
    /// let runtime = Runtime::with_compilation(Compilation::Eager);
    /// assert_eq!(runtime.compilation(), Compilation::Eager);
    /// assert_eq!(Runtime::new().compilation(), Compilation::Lazy);
    /// ```
    #[must_use]
    pub fn with_compilation(compilation: Compilation) -> Self {
        let mut config = Config::default();
        config
            .consume_fuel(true)
            // Bulk memory and table work (`memory.grow`, `.fill`, `.copy`, `.init`) at 8
            // bytes per unit of fuel, not wasmi's default 64: at 64 a 1-million-fuel
            // slice could fill or grow tens of MiB, milliseconds of host time (seen in
            // the soak's memory bomb). 8 bytes is about what a unit of fuel buys in time
            // (~0.5 ns) when the host copies memory.
            .fuel_cost(CustomFuelCosts {
                bytes_copied_per_fuel: 8,
                // Lazy translation is free for the mod (see `Compilation`): charged, it
                // would fall on whichever instance calls a function first, so the same
                // call would cost one instance more fuel than the next.
                fuel_per_bytes_translated: 0,
                // Validation is always up front, outside any call.
                fuel_per_bytes_validated: 0,
            })
            .compilation_mode(match compilation {
                Compilation::Lazy => CompilationMode::LazyTranslation,
                Compilation::Eager => CompilationMode::Eager,
                Compilation::Deferred => CompilationMode::Lazy,
            });
        Runtime {
            config,
            compilation,
        }
    }

    /// How this runtime compiles mods.
    pub fn compilation(&self) -> Compilation {
        self.compilation
    }

    /// A new wasmi engine with this runtime's configuration (what each compiled mod
    /// gets).
    pub fn new_engine(&self) -> Engine {
        Engine::new(&self.config)
    }

    /// Compiles and checks a mod.
    ///
    /// # Errors
    ///
    /// - [`ModErrorKind::InvalidModule`] if the bytes are not valid WebAssembly;
    /// - [`ModErrorKind::UnknownImport`] naming the first import that is not a
    ///   `wasi_snapshot_preview1` function;
    /// - [`ModErrorKind::MissingStart`] / [`ModErrorKind::MissingMemory`] if `_start` or
    ///   `memory` is not exported.
    pub fn compile(&self, name: &str, wasm: &[u8]) -> Result<ModModule, ModError> {
        let name: Arc<str> = name.into();
        let engine = self.new_engine();
        let module = Module::new(&engine, wasm).map_err(|e| {
            ModErrorKind::InvalidModule {
                message: e.to_string(),
            }
            .named(name.clone())
        })?;
        for import in module.imports() {
            let known = import.module() == WASI_MODULE
                && WASI_FUNCTIONS.contains(&import.name())
                && matches!(import.ty(), ExternType::Func(_));
            if !known {
                return Err(ModErrorKind::UnknownImport {
                    module: import.module().to_owned(),
                    field: import.name().to_owned(),
                }
                .named(name));
            }
        }
        match module.get_export("_start") {
            Some(ExternType::Func(ty)) if ty.params().is_empty() && ty.results().is_empty() => {}
            _ => return Err(ModErrorKind::MissingStart.named(name)),
        }
        if !matches!(module.get_export("memory"), Some(ExternType::Memory(_))) {
            return Err(ModErrorKind::MissingMemory.named(name));
        }
        let mut linker = Linker::new(&engine);
        // The names are distinct, so linking cannot fail.
        let linked = wasi::link(&mut linker);
        debug_assert!(linked.is_ok(), "{linked:?}");
        Ok(ModModule {
            name,
            module,
            linker: Arc::new(linker),
            size: wasm.len(),
        })
    }
}

/// A compiled mod, shared by all its instances: its module, on an engine of its own,
/// and the WASI linker for that engine. Cheap to clone.
#[derive(Clone)]
pub struct ModModule {
    name: Arc<str>,
    module: Module,
    linker: Arc<Linker<WasiCtx>>,
    size: usize,
}

impl std::fmt::Debug for ModModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModModule")
            .field("name", &self.name)
            .field("module", &self.module)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl ModModule {
    /// The mod's name (used in every error and log line about it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of the `.wasm` it was compiled from, in bytes.
    pub fn wasm_size(&self) -> usize {
        self.size
    }

    /// The compiled wasmi module.
    pub fn module(&self) -> &Module {
        &self.module
    }
}

/// What one mod instance may use.
///
/// ```
/// use bevy_wasmi_plugins::runtime::Limits;
/// let limits = Limits::default().with_max_memory(16 << 20).with_max_fuel_per_activation(1_000_000);
/// assert_eq!(limits.max_memory, 16 << 20);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Most fuel the mod may use without waiting for input (one "activation": from the
    /// moment it resumes with input until it reads an empty stdin again, which every
    /// host call and every finished request does). Over it, the mod is stopped with
    /// [`ModErrorKind::FuelExhausted`]: an endless loop cannot hold on forever, even when it
    /// is sliced over many frames, while a mod that talks with the host in a long loop
    /// is not cut off.
    pub max_fuel_per_activation: u64,
    /// Most linear memory, in bytes.
    pub max_memory: usize,
    /// Longest message (line, without its `\n`) in bytes, both ways: a longer line on the
    /// mod's stdout stops it with [`ModErrorKind::MessageTooLarge`], and a call, notification
    /// or event for it that would be longer fails at once with `-32004` and is not sent.
    pub max_message_size: usize,
    /// Buffered output (stdout + stderr) at which the mod is paused so the host drains it.
    pub output_buffer: usize,
    /// Most output (stdout + stderr) per activation, in bytes; over it the mod is
    /// stopped with [`ModErrorKind::OutputFlood`].
    pub max_output_per_activation: usize,
    /// Most unread input queued for the mod, in bytes; calls over it fail at once, and a
    /// mod whose unread replies pass it is stopped with [`ModErrorKind::UnreadInput`].
    pub max_input_buffer: usize,
    /// Fuel each message the mod sends costs it (request, response, notification, or a
    /// line that is none of them), on top of `fd_write`'s cost per byte: the host's work
    /// on a message is paid for from the mod's slice, so a mod cannot keep the host busy
    /// for free (a flood of messages, or an endless exchange of errors).
    pub fuel_per_message: u64,
    /// Most messages served per [`ModInstance::run`] (per frame in the Bevy layer). The
    /// rest wait for the next run, and the mod is not resumed until they are served:
    /// back-pressure, nothing is dropped.
    pub max_messages_per_run: usize,
    /// Most invalid lines (not JSON, not a JSON-RPC message, a malformed answer, an
    /// answer to no pending call) the mod may send in a row; one more stops it with
    /// [`ModErrorKind::InvalidMessages`].
    pub max_invalid_messages: u32,
    /// A call's deadline: most fuel the mod may use, across activations and runs, between
    /// a call and its answer. Past it the call completes with `-32007`
    /// ([`ErrorCode::DeadlineExceeded`](bevy_wasmi_plugins_protocol::ErrorCode)) and the
    /// mod carries on. Per call: [`ModInstance::call_with_deadline`].
    pub max_fuel_per_call: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

impl Limits {
    /// The defaults: 5·10⁹ fuel per activation (seconds of guest work), 64 MiB of
    /// memory, 1 MiB messages, a 1 MiB output buffer, 16 MiB of output per activation,
    /// 16 MiB of queued input, 1,000 fuel a message, 1,024 messages per run, 100 invalid
    /// lines in a row, and 10¹⁰ fuel per call.
    #[must_use]
    pub const fn new() -> Self {
        Limits {
            max_fuel_per_activation: 5_000_000_000,
            max_memory: 64 << 20,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            output_buffer: 1 << 20,
            max_output_per_activation: 16 << 20,
            max_input_buffer: 16 << 20,
            fuel_per_message: 1_000,
            max_messages_per_run: 1_024,
            max_invalid_messages: 100,
            max_fuel_per_call: 10_000_000_000,
        }
    }

    /// Sets [`Limits::max_fuel_per_activation`].
    #[must_use]
    pub const fn with_max_fuel_per_activation(mut self, fuel: u64) -> Self {
        self.max_fuel_per_activation = fuel;
        self
    }

    /// Sets [`Limits::max_memory`].
    #[must_use]
    pub const fn with_max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// Sets [`Limits::max_message_size`].
    #[must_use]
    pub const fn with_max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`Limits::output_buffer`].
    #[must_use]
    pub const fn with_output_buffer(mut self, bytes: usize) -> Self {
        self.output_buffer = bytes;
        self
    }

    /// Sets [`Limits::max_output_per_activation`].
    #[must_use]
    pub const fn with_max_output_per_activation(mut self, bytes: usize) -> Self {
        self.max_output_per_activation = bytes;
        self
    }

    /// Sets [`Limits::max_input_buffer`].
    #[must_use]
    pub const fn with_max_input_buffer(mut self, bytes: usize) -> Self {
        self.max_input_buffer = bytes;
        self
    }

    /// Sets [`Limits::fuel_per_message`].
    #[must_use]
    pub const fn with_fuel_per_message(mut self, fuel: u64) -> Self {
        self.fuel_per_message = fuel;
        self
    }

    /// Sets [`Limits::max_messages_per_run`] (at least 1).
    #[must_use]
    pub const fn with_max_messages_per_run(mut self, messages: usize) -> Self {
        self.max_messages_per_run = if messages == 0 { 1 } else { messages };
        self
    }

    /// Sets [`Limits::max_fuel_per_call`].
    #[must_use]
    pub const fn with_max_fuel_per_call(mut self, fuel: u64) -> Self {
        self.max_fuel_per_call = fuel;
        self
    }

    /// Sets [`Limits::max_invalid_messages`].
    #[must_use]
    pub const fn with_max_invalid_messages(mut self, lines: u32) -> Self {
        self.max_invalid_messages = lines;
        self
    }
}

/// How to start one instance: limits, arguments, environment, clock, randomness.
#[derive(Clone)]
pub struct ModConfig {
    /// The limits.
    pub limits: Limits,
    /// The mod's name in errors, logs and messages; the module's name when `None` (the
    /// Bevy layer gives the second mod of one file `name#2`).
    pub name: Option<String>,
    /// `argv[0]`; the mod's name when `None`.
    pub program_name: Option<String>,
    /// Arguments after `argv[0]`.
    pub args: Vec<String>,
    /// Environment variables; nothing of the host's environment is visible otherwise.
    pub env: Vec<(String, String)>,
    /// The clock behind `clock_time_get` and `poll_oneoff`.
    pub clock: Arc<dyn Clock>,
    /// Seed for `random_get`; `None` seeds from the operating system.
    pub random_seed: Option<u64>,
}

impl Default for ModConfig {
    fn default() -> Self {
        ModConfig {
            limits: Limits::default(),
            name: None,
            program_name: None,
            args: Vec::new(),
            env: Vec::new(),
            clock: Arc::new(SystemClock::new()),
            random_seed: None,
        }
    }
}

impl std::fmt::Debug for ModConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModConfig")
            .field("limits", &self.limits)
            .field("program_name", &self.program_name)
            .field("args", &self.args)
            .field("env", &self.env)
            .field("random_seed", &self.random_seed)
            .finish_non_exhaustive()
    }
}

impl ModConfig {
    /// Sets the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the mod's name (in errors, logs and messages) instead of the module's.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the arguments after `argv[0]`.
    #[must_use]
    pub fn with_args(mut self, args: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Adds an environment variable.
    #[must_use]
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Sets the clock.
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Seeds `random_get`, making it repeatable.
    #[must_use]
    pub fn with_random_seed(mut self, seed: u64) -> Self {
        self.random_seed = Some(seed);
        self
    }

    /// The random generator for one instance.
    fn rng(&self) -> ChaCha8Rng {
        match self.random_seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => ChaCha8Rng::from_seed(os_seed()),
        }
    }
}

/// 32 bytes of entropy from the platform: the operating system natively, the Web Crypto
/// API (`crypto.getRandomValues`) in a browser or under Node.
fn os_seed() -> [u8; 32] {
    let mut seed = [0; 32];
    if getrandom::fill(&mut seed).is_err() {
        // No entropy source: fall back to the time, which is still unpredictable enough
        // for a game mod's hash maps.
        seed[..8].copy_from_slice(&SystemClock::new().now(ClockId::Realtime).to_le_bytes());
    }
    seed
}

//! `wasmi-mod`: runs WASI command programs and calls mods on the same runtime a game
//! uses, with the same WASI subset.
//!
//! `call` starts the mod with a game's default limits (`--fuel` and `--max-memory` change
//! two of them). `run` keeps only the memory cap (`--max-memory`, 64 MiB by default) and,
//! with `--fuel`, a fuel cap: it lifts the message size cap and the output cap per
//! activation, since a command program's output is a stream, not messages, and it may
//! print as much as it likes.
//!
//! ```text
//! wasmi-mod run FILE.wasm [--env K=V]... [--fuel N] [--max-memory BYTES] [-- ARGS...]
//! wasmi-mod call FILE.wasm METHOD [PARAMS_JSON] [--echo-host] [--fuel N] [--timeout SECS]
//!                [--max-memory BYTES]
//! wasmi-mod types SCHEMA.json        # Rust types for a mod, from a game's registry.schema
//! ```
//!
//! A `call` always ends: it has a deadline of `--fuel` (default 10¹⁰) fuel, across
//! activations, which it keeps to within 10,000 fuel (plus one block of instructions and
//! one message's cost), and of `--timeout` seconds of wall time (default 60). Past either
//! it prints a `-32007` error object. `--fuel` is also the mod's cap on fuel per
//! activation (default 5·10⁹), so a mod that spins without waiting for input is stopped
//! at it with a `-32002` error object.
//!
//! Exit status of `run`: the guest's exit code; 134 for a trap or panic; 137 when the
//! guest hit its memory cap; 152 when it used up `--fuel`; 128 + N for `proc_raise(N)`;
//! 1 when the file cannot be loaded. `call` exits 0 with the result on stdout, or 1 with
//! the JSON-RPC error object on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use bevy_wasmi_plugins::protocol::{ErrorCode, Outcome, Request, ResponseError, to_raw};
use bevy_wasmi_plugins::runtime::{
    Clock, ClockId, Guest, GuestStatus, Limits, ModConfig, ModError, ModErrorKind, ModHost,
    ModInstance, NoHost, RunStatus, Runtime, SystemClock,
};
use clap::{Parser, Subcommand};
use serde_json::value::RawValue;

mod types;

/// Run WASI programs and call mods on wasmi.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a WASI command program: stdin, stdout and stderr are streamed through, and
    /// the exit status is the program's. Only memory (and, with --fuel, fuel) is
    /// limited: its lines and output may be as long as it likes.
    Run {
        /// The `.wasm` file (`argv[0]` of the program).
        file: String,
        /// An environment variable for the program (repeatable); nothing else of this
        /// shell's environment is visible to it.
        #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// Most fuel the program may use in all (default: unlimited).
        #[arg(long)]
        fuel: Option<u64>,
        /// Most linear memory in bytes (default: 64 MiB).
        #[arg(long, value_name = "BYTES")]
        max_memory: Option<usize>,
        /// Arguments passed to the program after `argv[0]`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Start a mod, call one method, print the result JSON on one line.
    Call {
        /// The mod's `.wasm` file.
        file: String,
        /// The method to call.
        method: String,
        /// The params as JSON (an array or an object); none when left out.
        params: Option<String>,
        /// Answer every host call by echoing its params (default: method not found).
        #[arg(long)]
        echo_host: bool,
        /// The call's deadline in fuel: most the mod may use before it answers, across
        /// activations (default: 1e10; also its cap per activation when given).
        #[arg(long)]
        fuel: Option<u64>,
        /// The call's deadline in seconds of wall time.
        #[arg(long, value_name = "SECS", default_value_t = 60.0)]
        timeout: f64,
        /// Most linear memory in bytes (default: 64 MiB).
        #[arg(long, value_name = "BYTES")]
        max_memory: Option<usize>,
    },
    /// Write Rust types for a mod from a game's `registry.schema` answer (a JSON file, `-`
    /// for stdin): a serde type for each component, resource, message and event, and
    /// the types their fields name, with the PDK's trait holding its type path.
    Types {
        /// The `registry.schema` result (`{"type::Path": schema, …}`).
        schema: String,
    },
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| format!("`{s}` is not K=V"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            file,
            env,
            fuel,
            max_memory,
            args,
        } => run(&file, env, fuel, max_memory, args),
        Command::Call {
            file,
            method,
            params,
            echo_host,
            fuel,
            timeout,
            max_memory,
        } => call(
            &file,
            &method,
            params.as_deref(),
            echo_host,
            Deadline { fuel, timeout },
            max_memory,
        ),
        Command::Types { schema } => write_types(&schema),
    };
    result.unwrap_or_else(|message| {
        eprintln!("wasmi-mod: {message}");
        ExitCode::FAILURE
    })
}

/// `types`: reads the schema and prints the Rust types.
fn write_types(file: &str) -> Result<ExitCode, String> {
    let text = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        text
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?
    };
    let schemas = serde_json::from_str(&text)
        .map_err(|e| format!("{file} is not a registry.schema answer: {e}"))?;
    let source = std::path::Path::new(file)
        .file_name()
        .filter(|_| file != "-")
        .map_or_else(|| "stdin".to_owned(), |n| n.to_string_lossy().into_owned());
    print!("{}", types::rust_types(&schemas, &source));
    Ok(ExitCode::SUCCESS)
}

/// Reads and compiles `file`, naming the mod after the file.
fn load(runtime: &Runtime, file: &str) -> Result<bevy_wasmi_plugins::runtime::ModModule, String> {
    let wasm = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    let name = std::path::Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_owned(), |s| s.to_string_lossy().into_owned());
    runtime.compile(&name, &wasm).map_err(|e| e.to_string())
}

fn limits(max_memory: Option<usize>) -> Limits {
    let mut limits = Limits::default();
    if let Some(bytes) = max_memory {
        limits = limits.with_max_memory(bytes);
    }
    limits
}

/// Sleeps until `clock` reaches `deadline`.
fn sleep_until(clock: &dyn Clock, id: ClockId, deadline: u64) {
    let wait = deadline.saturating_sub(clock.now(id));
    std::thread::sleep(std::time::Duration::from_nanos(wait));
}

/// Fuel per resumption: small enough to keep output flowing.
const SLICE: u64 = 10_000_000;
/// The smallest slice `call` runs, and so the most it goes past its fuel deadline (plus
/// one block of instructions and one message).
const MIN_SLICE: u64 = 10_000;

fn run(
    file: &str,
    env: Vec<(String, String)>,
    fuel: Option<u64>,
    max_memory: Option<usize>,
    args: Vec<String>,
) -> Result<ExitCode, String> {
    let runtime = Runtime::new();
    let module = load(&runtime, file)?;
    // A command program streams: its output is not made of messages, and it may print
    // as much as it likes.
    let limits = limits(max_memory)
        .with_max_message_size(usize::MAX)
        .with_max_output_per_activation(usize::MAX);
    let clock = Arc::new(SystemClock::new());
    let mut config = ModConfig::default().with_limits(limits).with_args(args);
    config.program_name = Some(file.to_owned());
    config.env = env;
    config.clock = clock.clone();
    let mut guest = Guest::new(&module, &config).map_err(|e| e.to_string())?;

    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let mut out = Vec::new();
    let mut input = vec![0; 64 * 1024];
    let mut left = fuel.unwrap_or(u64::MAX);
    loop {
        let status = guest.resume(left.min(SLICE));
        left = left.saturating_sub(guest.last_fuel());
        guest.take_stdout(&mut out);
        // A closed pipe downstream is not the guest's fault; stop writing quietly.
        let _ = stdout.write_all(&out).and_then(|()| stdout.flush());
        let _ = stderr.write_all(&guest.take_stderr());
        match status {
            Ok(GuestStatus::Exited(code)) => return Ok(ExitCode::from(code as u8)),
            Ok(GuestStatus::OutputFull) => {}
            Ok(GuestStatus::OutOfFuel) => {
                // Less fuel left than the next instruction costs counts as none.
                if left == 0 || guest.last_fuel() == 0 {
                    eprintln!(
                        "wasmi-mod: `{file}` ran out of fuel: it used all {} units of --fuel",
                        fuel.unwrap_or(u64::MAX)
                    );
                    return Ok(ExitCode::from(152));
                }
            }
            Ok(GuestStatus::WaitingInput) => match stdin.read(&mut input) {
                Ok(0) | Err(_) => guest.close_stdin(),
                Ok(n) => guest.write_stdin(&input[..n]),
            },
            Ok(GuestStatus::Sleeping {
                clock: id,
                deadline,
            }) => {
                sleep_until(clock.as_ref(), id, deadline);
            }
            Err(error) => {
                eprintln!("wasmi-mod: {error}");
                return Ok(ExitCode::from(exit_status(&error)));
            }
        }
    }
}

/// The exit status for a guest stopped by `error`.
fn exit_status(error: &ModError) -> u8 {
    match &error.kind {
        ModErrorKind::OutOfMemory { .. } => 137,
        ModErrorKind::FuelExhausted { .. } => 152,
        ModErrorKind::Signal { signal } => 128u8.saturating_add(*signal as u8),
        ModErrorKind::Exited { code } => *code as u8,
        _ => 134,
    }
}

/// Answers every host call with its own params.
struct EchoHost;

impl ModHost for EchoHost {
    fn request(&mut self, _mod_name: &str, request: &Request<'_>) -> Outcome {
        match request.params {
            Some(params) => Ok(params.to_owned()),
            None => to_raw(&()),
        }
    }
}

/// Passes the mod's log to stderr around another host.
struct Logging<H>(H);

impl<H: ModHost> ModHost for Logging<H> {
    fn request(&mut self, mod_name: &str, request: &Request<'_>) -> Outcome {
        self.0.request(mod_name, request)
    }

    fn log(&mut self, _mod_name: &str, line: &str) {
        eprintln!("{line}");
    }

    fn protocol_warning(&mut self, mod_name: &str, warning: &str) {
        eprintln!("wasmi-mod: mod `{mod_name}`: {warning}");
    }
}

/// How long `call` waits for the answer.
struct Deadline {
    /// Fuel, if not the default.
    fuel: Option<u64>,
    /// Seconds of wall time.
    timeout: f64,
}

fn call(
    file: &str,
    method: &str,
    params: Option<&str>,
    echo_host: bool,
    deadline: Deadline,
    max_memory: Option<usize>,
) -> Result<ExitCode, String> {
    let params: Option<Box<RawValue>> = params
        .map(|json| {
            serde_json::from_str(json).map_err(|e| format!("PARAMS_JSON is not valid JSON: {e}"))
        })
        .transpose()?;
    let runtime = Runtime::new();
    let module = load(&runtime, file)?;
    let mut limits = limits(max_memory);
    if let Some(fuel) = deadline.fuel {
        limits = limits
            .with_max_fuel_per_activation(fuel)
            .with_max_fuel_per_call(fuel);
    }
    let fuel = limits.max_fuel_per_call;
    let timeout = std::time::Duration::try_from_secs_f64(deadline.timeout)
        .map_err(|e| format!("--timeout {}: {e}", deadline.timeout))?;
    let clock = Arc::new(SystemClock::new());
    let mut config = ModConfig::default().with_limits(limits);
    config.clock = clock.clone();
    let mut instance = ModInstance::new(&module, &config).map_err(|e| e.to_string())?;
    let handle = instance.call(method, &params);
    let mut host: Box<dyn ModHost> = if echo_host {
        Box::new(Logging(EchoHost))
    } else {
        Box::new(Logging(NoHost))
    };
    let started = std::time::Instant::now();
    let fuel_at_start = instance.total_fuel();
    let outcome = loop {
        // Slices end at the deadline (at least MIN_SLICE, so the mod makes progress:
        // wasmi charges a block when it enters it), so the call stops close to it.
        let used = instance.total_fuel() - fuel_at_start;
        let slice = SLICE.min(fuel.saturating_sub(used)).max(MIN_SLICE);
        let status = instance.run(slice, host.as_mut());
        if let Some(outcome) = handle.try_result() {
            break outcome;
        }
        if started.elapsed() > timeout {
            break Err(ResponseError::new(
                ErrorCode::DeadlineExceeded,
                format!(
                    "mod `{}` did not answer `{method}` within --timeout {} s",
                    module.name(),
                    deadline.timeout
                ),
            ));
        }
        match status {
            Ok(RunStatus::Yielded) => {}
            Ok(RunStatus::Sleeping {
                clock: id,
                deadline,
            }) => {
                sleep_until(clock.as_ref(), id, deadline);
            }
            Ok(RunStatus::Idle) => {
                break Err(ResponseError::internal(format!(
                    "mod `{}` is waiting for input without having answered `{method}`",
                    module.name()
                )));
            }
            // Every pending call was failed, so `try_result` above has answered.
            Ok(RunStatus::Exited(code)) => {
                break Err(ResponseError::internal(format!(
                    "the mod exited with code {code}"
                )));
            }
            Err(error) => break Err(error.to_response_error()),
        }
    };
    let mut stdout = std::io::stdout().lock();
    let (line, code) = match &outcome {
        Ok(result) => (result.get().to_owned(), ExitCode::SUCCESS),
        Err(error) => (
            serde_json::to_string(error).unwrap_or_else(|_| error.message.clone()),
            ExitCode::FAILURE,
        ),
    };
    writeln!(stdout, "{line}").map_err(|e| e.to_string())?;
    Ok(code)
}

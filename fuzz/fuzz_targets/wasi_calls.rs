//! Arbitrary sequences of WASI preview 1 calls, with arbitrary pointers, lengths, fds
//! and flags, through the runtime's WASI layer (`runtime/wasi.rs`) and `Guest`.
//!
//! The guest is one module, built once: it imports all 46 `wasi_snapshot_preview1`
//! functions and is a small interpreter. It reads a program from stdin — a count, then
//! records of an operation and nine 64-bit arguments — into its memory at `PROGRAM`,
//! and runs it: each record calls one WASI function with its arguments (or stores to
//! memory, grows it, or burns fuel). The fuzz input is decoded
//! into that program, the limits (fuel per slice, memory, output buffer and budget,
//! message size), further stdin, and what the host does when the guest waits (write
//! more input, close stdin, drain output, advance the virtual clock to its deadline).
//! Compiling one module and interpreting the calls keeps each run to an instantiation.
//!
//! Anything but a host panic or abort is fine: the guest may trap, exit, hit a limit or
//! fail. Also checked: the guest's memory never exceeds its limit.

#![no_main]

use std::sync::OnceLock;

use bevy_wasmi_plugins::runtime::wasi::WASI_FUNCTIONS;
use bevy_wasmi_plugins::runtime::{
    Guest, GuestStatus, Limits, ModConfig, ModModule, Runtime, VirtualClock,
};
use libfuzzer_sys::fuzz_target;

/// The preview 1 signatures, in the order of `WASI_FUNCTIONS`.
const SIGNATURES: [(&str, &str, &str); 46] = [
    ("args_get", "i32 i32", "i32"),
    ("args_sizes_get", "i32 i32", "i32"),
    ("environ_get", "i32 i32", "i32"),
    ("environ_sizes_get", "i32 i32", "i32"),
    ("clock_res_get", "i32 i32", "i32"),
    ("clock_time_get", "i32 i64 i32", "i32"),
    ("fd_advise", "i32 i64 i64 i32", "i32"),
    ("fd_allocate", "i32 i64 i64", "i32"),
    ("fd_close", "i32", "i32"),
    ("fd_datasync", "i32", "i32"),
    ("fd_fdstat_get", "i32 i32", "i32"),
    ("fd_fdstat_set_flags", "i32 i32", "i32"),
    ("fd_fdstat_set_rights", "i32 i64 i64", "i32"),
    ("fd_filestat_get", "i32 i32", "i32"),
    ("fd_filestat_set_size", "i32 i64", "i32"),
    ("fd_filestat_set_times", "i32 i64 i64 i32", "i32"),
    ("fd_pread", "i32 i32 i32 i64 i32", "i32"),
    ("fd_prestat_get", "i32 i32", "i32"),
    ("fd_prestat_dir_name", "i32 i32 i32", "i32"),
    ("fd_pwrite", "i32 i32 i32 i64 i32", "i32"),
    ("fd_read", "i32 i32 i32 i32", "i32"),
    ("fd_readdir", "i32 i32 i32 i64 i32", "i32"),
    ("fd_renumber", "i32 i32", "i32"),
    ("fd_seek", "i32 i64 i32 i32", "i32"),
    ("fd_sync", "i32", "i32"),
    ("fd_tell", "i32 i32", "i32"),
    ("fd_write", "i32 i32 i32 i32", "i32"),
    ("path_create_directory", "i32 i32 i32", "i32"),
    ("path_filestat_get", "i32 i32 i32 i32 i32", "i32"),
    (
        "path_filestat_set_times",
        "i32 i32 i32 i32 i64 i64 i32",
        "i32",
    ),
    ("path_link", "i32 i32 i32 i32 i32 i32 i32", "i32"),
    ("path_open", "i32 i32 i32 i32 i32 i64 i64 i32 i32", "i32"),
    ("path_readlink", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_remove_directory", "i32 i32 i32", "i32"),
    ("path_rename", "i32 i32 i32 i32 i32 i32", "i32"),
    ("path_symlink", "i32 i32 i32 i32 i32", "i32"),
    ("path_unlink_file", "i32 i32 i32", "i32"),
    ("poll_oneoff", "i32 i32 i32 i32", "i32"),
    ("proc_exit", "i32", ""),
    ("proc_raise", "i32", "i32"),
    ("sched_yield", "", "i32"),
    ("random_get", "i32 i32", "i32"),
    ("sock_accept", "i32 i32 i32", "i32"),
    ("sock_recv", "i32 i32 i32 i32 i32 i32", "i32"),
    ("sock_send", "i32 i32 i32 i32 i32", "i32"),
    ("sock_shutdown", "i32 i32", "i32"),
];

/// Operations beyond the WASI functions: an `i64.store` (`ptr`, `value`), a
/// `memory.grow` by 0-3 pages, and a loop that burns fuel.
const STORE: usize = 46;
const GROW: usize = 47;
const SPIN: usize = 48;
const OPS: usize = 49;

/// A record: the operation (`u32`) and nine 64-bit arguments (an `i32` parameter reads
/// the low half).
const RECORD: usize = 4 + 9 * 8;
/// At most this many records per program.
const MAX_RECORDS: usize = 64;
/// Where the program is read to, in the guest's only memory (wasmi's store allows one):
/// WASI calls may overwrite it, which changes what runs next, deterministically.
const PROGRAM: usize = 0xe000;

/// The interpreter guest in WAT.
fn guest_wat() -> String {
    let mut wat = String::from("(module\n");
    for (name, params, results) in SIGNATURES {
        let results = if results.is_empty() {
            String::new()
        } else {
            format!("(result {results})")
        };
        wat += &format!(
            "  (import \"wasi_snapshot_preview1\" \"{name}\" (func ${name} (param {params}) {results}))\n"
        );
    }
    let program_bytes = MAX_RECORDS * RECORD;
    wat += &format!(
        r#"  (memory $m (export "memory") 1)
  (func (export "_start")
    (local $p i32) (local $end i32) (local $n i32)
    ;; The record count: 4 bytes of stdin at 16 (iovec at 0, nread at 8).
    (i32.store $m (i32.const 0) (i32.const 16))
    (i32.store $m (i32.const 4) (i32.const 4))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (local.set $n (i32.mul (i32.rem_u (i32.load $m (i32.const 16)) (i32.const {max1})) (i32.const {RECORD})))
    ;; The records, at PROGRAM.
    (i32.store $m (i32.const 0) (i32.const {PROGRAM}))
    (i32.store $m (i32.const 4) (local.get $n))
    (if (i32.ne (local.get $n) (i32.const 0)) (then
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))))
    (local.set $end (i32.load $m (i32.const 8)))
    (if (i32.gt_u (local.get $end) (i32.const {program_bytes})) (then (local.set $end (i32.const 0))))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $p) (i32.const {RECORD})) (local.get $end)))
        (block $continue
"#,
        max1 = MAX_RECORDS + 1,
    );
    // One block per operation; `br_table` jumps to the end of operation `i`'s block,
    // where its code is.
    for op in (0..OPS).rev() {
        wat += &format!("          (block $op{op}\n");
    }
    let targets: String = (0..OPS).map(|op| format!("$op{op} ")).collect();
    wat += &format!(
        "            (br_table {targets}$op0 (i32.rem_u (i32.load offset={PROGRAM} (local.get $p)) (i32.const {OPS}))))\n"
    );
    for (op, (name, params, results)) in SIGNATURES.iter().enumerate() {
        let args: String = params
            .split_whitespace()
            .enumerate()
            .map(|(i, ty)| format!(" ({ty}.load offset={} (local.get $p))", PROGRAM + 4 + 8 * i))
            .collect();
        let call = format!("(call ${name}{args})");
        let call = if results.is_empty() {
            call
        } else {
            format!("(drop {call})")
        };
        wat += &format!("          {call} (br $continue))\n");
        let _ = op;
    }
    // STORE, GROW, SPIN.
    let (arg0, arg1) = (PROGRAM + 4, PROGRAM + 12);
    wat += &format!(
        "          (i64.store (i32.load offset={arg0} (local.get $p)) (i64.load offset={arg1} (local.get $p))) (br $continue))\n"
    );
    wat += &format!(
        "          (drop (memory.grow (i32.and (i32.load offset={arg0} (local.get $p)) (i32.const 3)))) (br $continue))\n"
    );
    wat += &format!(
        "          (local.set $n (i32.and (i32.load offset={arg0} (local.get $p)) (i32.const 4095)))\n"
    );
    wat += r#"
          (loop $spin
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $spin (i32.gt_s (local.get $n) (i32.const 0)))))
        (local.set $p (i32.add (local.get $p) (i32.const "#;
    wat += &format!("{RECORD})))\n        (br $next))))\n)\n");
    wat
}

fn guest_module() -> &'static (Runtime, ModModule) {
    static GUEST: OnceLock<(Runtime, ModModule)> = OnceLock::new();
    GUEST.get_or_init(|| {
        assert_eq!(SIGNATURES.map(|(name, _, _)| name), WASI_FUNCTIONS);
        let wat = guest_wat();
        let wasm = wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"));
        let runtime = Runtime::new();
        let module = runtime.compile("wasi-fuzz", &wasm).expect("compiles");
        (runtime, module)
    })
}

/// The fuzz input, read front to back; zeros once it runs out.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    fn pick<T: Copy>(&mut self, choices: &[T]) -> T {
        choices[usize::from(self.byte()) % choices.len()]
    }

    /// An argument: small numbers, values near the ends of memory and of the integer
    /// ranges, or any 32 or 64 bits.
    fn arg(&mut self) -> u64 {
        const INTERESTING: [u64; 24] = [
            0x0,
            0x8,
            0x10,
            0x20,
            0x40,
            0x100,
            0x1000,
            0x8000,
            0xfff8,
            0xfffc,
            0xffff,
            0x1_0000,
            0x1_0008,
            0x1_fffc,
            0x2_0000,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_fff8,
            0xffff_fffc,
            0xffff_ffff,
            u64::MAX,
            i64::MAX as u64,
            1 << 63,
            1_000_000_000,
        ];
        match self.byte() {
            b @ 0..0x80 => u64::from(b),
            b @ 0x80..0xc0 => INTERESTING[usize::from(b - 0x80) % INTERESTING.len()],
            0xc0..0xf0 => {
                let mut word = [0; 4];
                word[..].copy_from_slice(&pad::<4>(self.bytes(4)));
                u64::from(u32::from_le_bytes(word))
            }
            _ => u64::from_le_bytes(pad::<8>(self.bytes(8))),
        }
    }
}

fn pad<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out[..bytes.len()].copy_from_slice(bytes);
    out
}

fuzz_target!(|data: &[u8]| {
    let (_, module) = guest_module();
    let mut input = Input(data);

    let fuel = input.pick(&[1u64, 50, 500, 5_000, 100_000]);
    let max_memory = input.pick(&[64usize << 10, 128 << 10, 1 << 20]);
    let limits = Limits::new()
        .with_max_memory(max_memory)
        .with_output_buffer(input.pick(&[0usize, 16, 256, 64 << 10]))
        .with_max_output_per_activation(input.pick(&[0usize, 100, 4096, 1 << 20]))
        .with_max_message_size(input.pick(&[1usize, 16, 1024, 1 << 20]))
        .with_max_input_buffer(input.pick(&[0usize, 64, 1 << 20]));
    let clock = VirtualClock::new(input.pick(&[0u64, 1_700_000_000_000_000_000, u64::MAX]));
    let config = ModConfig::default()
        .with_limits(limits)
        .with_name("wasi-fuzz")
        .with_args(["wasi-fuzz", "a b", ""])
        .with_env("KEY", "value")
        .with_env("", "=")
        .with_clock(clock.clone())
        .with_random_seed(7);
    let mut guest = match Guest::new(module, &config) {
        Ok(guest) => guest,
        Err(e) => {
            if std::env::var_os("WASI_FUZZ_DEBUG").is_some() {
                eprintln!("instantiation: {e}");
            }
            return;
        }
    };

    // The program.
    let records = usize::from(input.byte()) % (MAX_RECORDS + 1);
    let mut program = Vec::with_capacity(4 + records * RECORD);
    program.extend_from_slice(&(records as u32).to_le_bytes());
    for _ in 0..records {
        let op = usize::from(input.byte()) % OPS;
        program.extend_from_slice(&(op as u32).to_le_bytes());
        let params = match op {
            STORE => 2,
            GROW | SPIN => 1,
            _ => SIGNATURES[op].1.split_whitespace().count(),
        };
        for i in 0..9 {
            let arg = if i < params { input.arg() } else { 0 };
            program.extend_from_slice(&arg.to_le_bytes());
        }
    }
    guest.write_stdin(&program);
    let more = usize::from(input.byte());
    guest.write_stdin(&input.bytes(more).to_vec());

    let mut out = Vec::new();
    for _ in 0..256 {
        let status = guest.resume(fuel);
        if std::env::var_os("WASI_FUZZ_DEBUG").is_some() {
            eprintln!("{status:?}, fuel {}", guest.total_fuel());
        }
        assert!(
            guest.memory_size() <= max_memory.max(64 << 10),
            "memory {} over the limit {max_memory}",
            guest.memory_size()
        );
        match status {
            Err(_) | Ok(GuestStatus::Exited(_)) => break,
            Ok(GuestStatus::OutOfFuel) => {}
            Ok(GuestStatus::OutputFull) => {
                out.clear();
                guest.take_stdout(&mut out);
                let stderr = guest.take_stderr();
                guest.recycle_stderr(stderr);
                guest.reset_output_budget(4096);
            }
            Ok(GuestStatus::Sleeping { deadline, .. }) => match input.byte() % 3 {
                0 => clock.set(deadline),
                1 => clock.advance(1_000_000),
                _ => guest.write_stdin(b"x\n"),
            },
            Ok(GuestStatus::WaitingInput) => match input.byte() % 4 {
                0 => guest.close_stdin(),
                1 => {
                    out.clear();
                    guest.take_stdout_lines(&mut out);
                    guest.write_stdin(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}\n");
                }
                _ => {
                    let n = usize::from(input.byte());
                    let chunk = input.bytes(n).to_vec();
                    if chunk.is_empty() {
                        guest.close_stdin();
                    } else {
                        guest.write_stdin(&chunk);
                    }
                }
            },
        }
    }
    let _ = guest.is_runnable();
    let _ = guest.total_fuel();
    let _ = guest.has_stderr();
});

//! Test mod for the host runtime: plain requests, typed params, application errors,
//! state carried over a reload, nested and concurrent host calls, notifications both
//! ways, logging, and every fault a mod can commit (panic, endless loop, memory bomb,
//! output floods, exit, stack overflow), plus the WASI calls std makes for time, sleep,
//! args, environment and randomness.

use std::cell::Cell;
use std::future::poll_fn;
use std::hash::{BuildHasher, Hasher};
use std::hint::black_box;
use std::io::Write;
use std::task::Poll;
use std::time::{Duration, Instant};

use bevy_wasmi_plugins_pdk::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Default)]
struct Echo {
    count: Cell<i64>,
    ticks: Cell<i64>,
    /// The configuration `plugin.init` brought.
    config: std::cell::RefCell<Option<Json>>,
    /// Exit with this code when asked to shut down (`exit_on_shutdown`).
    exit_on_shutdown: Cell<Option<i32>>,
}

/// What `plugin.shutdown` hands to the next instance.
#[derive(Serialize, Deserialize)]
struct State {
    count: i64,
    ticks: i64,
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Serialize)]
struct Greeting {
    greeting: String,
}

#[derive(Deserialize)]
struct Times {
    times: u64,
}

#[derive(Serialize)]
struct Ping {
    i: u64,
}

#[derive(Deserialize)]
struct Iterations {
    iterations: u64,
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

#[derive(Deserialize)]
struct Millis {
    ms: u64,
}

#[derive(Deserialize)]
struct Code {
    code: i32,
}

/// A host call to make on the caller's behalf.
#[derive(Deserialize)]
struct Relay {
    method: String,
    params: Box<serde_json::value::RawValue>,
}

/// A host call to relay with an attachment (base64 here), and its answer's.
#[derive(Deserialize)]
struct RelayAttached {
    method: String,
    params: Box<serde_json::value::RawValue>,
    #[serde(default)]
    attachment: Option<String>,
}

#[derive(Serialize)]
struct Relayed {
    result: Json,
    attachment: Option<String>,
}

#[derive(Serialize)]
struct Env {
    args: Vec<String>,
    vars: Vec<(String, String)>,
}

impl Plugin for Echo {
    fn methods(methods: &mut Methods<Self>) {
        methods
            .add("echo", |_: &'static Self, params: Json| async move {
                Ok(params)
            })
            .add("add", |_: &'static Self, (a, b): (i64, i64)| async move {
                a.checked_add(b)
                    .ok_or_else(|| Error::invalid_params("a + b overflows"))
            })
            .add("greet", |_: &'static Self, p: Name| async move {
                Ok(Greeting {
                    greeting: format!("Hello, {}!", p.name),
                })
            })
            .add("fail", |_: &'static Self| async move {
                Err::<(), _>(Error::new(-32050, "failed on purpose"))
            })
            .add("count", Self::count)
            .add("config", |this: &'static Self| async move {
                Ok(this.config.borrow().clone())
            })
            .add("ticks", |this: &'static Self| async move {
                Ok(this.ticks.get())
            })
            .add("double_via_host", Self::double_via_host)
            .add("relay", |_: &'static Self, r: Relay| async move {
                host::call_raw(&r.method, &r.params).await
            })
            .add(
                "relay_attached",
                |_: &'static Self, r: RelayAttached| async move {
                    use bevy_wasmi_plugins_pdk::protocol::brp::packed::{pack, unpack};
                    let call = match &r.attachment {
                        Some(text) => {
                            let bytes = unpack(text).map_err(Error::invalid_params)?;
                            host::call_with_attachment::<Json>(&r.method, &r.params, &bytes)
                        }
                        None => host::call_raw(&r.method, &r.params),
                    };
                    let (result, attachment) = call.with_attachment().await?;
                    Ok(Relayed {
                        result,
                        attachment: attachment.map(|bytes| pack(&bytes)),
                    })
                },
            )
            .add("notify_host", Self::notify_host)
            .add("concurrent", Self::concurrent)
            .add("spin", Self::spin)
            .add("log", |_: &'static Self, p: Message| async move {
                log::info!("{}", p.message);
                Ok(())
            })
            .add("panic", Self::panic)
            .add("loop_forever", Self::loop_forever)
            .add("alloc_forever", Self::alloc_forever)
            .add("print_forever", Self::print_forever)
            .add("stdout_flood", Self::stdout_flood)
            .add("sleep", Self::sleep)
            .add("env", Self::env)
            .add("random", Self::random)
            .add("exit", Self::exit)
            .add(
                "exit_on_shutdown",
                |this: &'static Self, p: Code| async move {
                    this.exit_on_shutdown.set(Some(p.code));
                    Ok(())
                },
            )
            .add("stack_overflow", Self::stack_overflow)
            .add(
                "nesting",
                |_: &'static Self, value: serde_json::Value| async move { Ok(nesting(&value)) },
            );
    }

    fn events() -> &'static [&'static str] {
        &["game.tick"]
    }

    async fn init(&'static self, init: Init) -> Result<(), Error> {
        *self.config.borrow_mut() = init.config()?;
        if let Some(state) = init.state::<State>()? {
            self.count.set(state.count);
            self.ticks.set(state.ticks);
        }
        Ok(())
    }

    async fn notification(&'static self, method: &str, _params: Params<'_>) {
        if method == "game.tick" {
            self.ticks.set(self.ticks.get() + 1);
        }
    }

    async fn shutdown(&'static self) -> Result<Option<Json>, Error> {
        if let Some(code) = self.exit_on_shutdown.get() {
            std::process::exit(code);
        }
        host::notify("echo.shutdown", &[self.count.get()])?;
        let state = State {
            count: self.count.get(),
            ticks: self.ticks.get(),
        };
        Ok(Some(Json::of(&state)?))
    }
}

impl Echo {
    async fn count(&'static self) -> Result<i64, Error> {
        self.count.set(self.count.get() + 1);
        Ok(self.count.get())
    }

    async fn double_via_host(&'static self, (n,): (i64,)) -> Result<i64, Error> {
        let doubled: i64 = host::call("host.double", &[n]).await?;
        Ok(doubled + 1)
    }

    async fn notify_host(&'static self, p: Times) -> Result<u64, Error> {
        for i in 0..p.times {
            host::notify("echo.ping", &Ping { i })?;
        }
        Ok(p.times)
    }

    /// Two host calls in flight at once, joined by hand.
    async fn concurrent(&'static self, (a, b): (i64, i64)) -> Result<i64, Error> {
        let mut first = std::pin::pin!(host::call::<i64>("host.double", &[a]));
        let mut second = std::pin::pin!(host::call::<i64>("host.double", &[b]));
        let (mut x, mut y) = (None, None);
        poll_fn(|cx| {
            if x.is_none()
                && let Poll::Ready(r) = first.as_mut().poll(cx)
            {
                x = Some(r);
            }
            if y.is_none()
                && let Poll::Ready(r) = second.as_mut().poll(cx)
            {
                y = Some(r);
            }
            if x.is_some() && y.is_some() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        match (x, y) {
            (Some(x), Some(y)) => Ok(x? + y?),
            _ => Err(Error::internal("join finished early")),
        }
    }

    /// A busy loop the optimizer cannot remove: for fuel slicing.
    async fn spin(&'static self, p: Iterations) -> Result<u64, Error> {
        let mut checksum = 0u64;
        for i in 0..black_box(p.iterations) {
            checksum = black_box(checksum.wrapping_mul(31).wrapping_add(i));
        }
        Ok(checksum)
    }

    async fn panic(&'static self) -> Result<(), Error> {
        panic!("panic on purpose");
    }

    async fn loop_forever(&'static self) -> Result<(), Error> {
        let mut i = 0u64;
        loop {
            i = black_box(i.wrapping_add(1));
        }
    }

    async fn alloc_forever(&'static self) -> Result<(), Error> {
        let mut kept = Vec::new();
        loop {
            let chunk = vec![1u8; 1 << 20];
            kept.push(black_box(chunk));
        }
    }

    async fn print_forever(&'static self) -> Result<(), Error> {
        let mut stderr = std::io::stderr();
        let mut i = 0u64;
        loop {
            let _ = writeln!(stderr, "print_forever line {i}");
            i += 1;
        }
    }

    async fn stdout_flood(&'static self) -> Result<(), Error> {
        // On the heap: a 64 KiB array would not fit the mod's 64 KiB stack.
        let garbage = vec![b'x'; 64 * 1024];
        let mut stdout = std::io::stdout();
        loop {
            let _ = stdout.write_all(black_box(&garbage));
            let _ = stdout.flush();
        }
    }

    /// Sleeps (`poll_oneoff`) and measures it (`clock_time_get`).
    async fn sleep(&'static self, p: Millis) -> Result<u64, Error> {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(p.ms));
        Ok(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    async fn env(&'static self) -> Result<Env, Error> {
        Ok(Env {
            args: std::env::args().collect(),
            vars: std::env::vars().collect(),
        })
    }

    /// 16 bytes from std's hash seeds (`random_get`).
    async fn random(&'static self) -> Result<Vec<u8>, Error> {
        let mut bytes = Vec::with_capacity(16);
        for _ in 0..2 {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u64(0);
            bytes.extend_from_slice(&hasher.finish().to_le_bytes());
        }
        Ok(bytes)
    }

    async fn exit(&'static self, p: Code) -> Result<(), Error> {
        std::process::exit(p.code);
    }

    async fn stack_overflow(&'static self) -> Result<u64, Error> {
        Ok(recurse(0))
    }
}

/// How deeply `value`'s arrays and objects nest (`nesting` reads its params into a
/// `serde_json::Value`, which recurses once per level).
fn nesting(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        serde_json::Value::Object(members) => 1 + members.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

/// Recursion that is not a tail call (its frame is used after the call) and whose end
/// the optimizer cannot see.
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 256];
    frame[(depth % 256) as usize] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(u64::from(frame[0]))
}

register_plugin!(Echo);

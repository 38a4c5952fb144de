//! Where the engine's futures run for Python: one process-wide tokio runtime (shared with
//! asyncio through pyo3-async-runtimes), a per-thread one for blocking `run()`, and Ctrl-C.
//!
//! The GIL is released while the engine works, and every blocking wait polls `check_signals`
//! every 50 ms so Ctrl-C raises `KeyboardInterrupt` promptly.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

use super::errors::WsrunError;

/// The process-wide runtime: built once, shared by every call and by asyncio futures.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("wsrun")
            .build()
            .unwrap_or_else(|e| {
                // No runtime means no module at all; there is nothing better to do.
                eprintln!("wsrun: cannot start the async runtime: {e}");
                std::process::abort()
            })
    })
}

/// Runs `f` with this thread's single-threaded runtime, built on the thread's first `run()` and
/// reused after. A blocking `run()` then drives its sockets on the calling thread instead of
/// waking it from the shared runtime's workers. Measured in bench/ (1M messages, before LTO and
/// mimalloc): 1.16× the CLI's time this way, 1.21× awaited on the shared runtime, 1.52× spawned
/// onto its workers. `run_async` and `stream` keep using the shared runtime.
pub fn local_runtime<T>(f: impl FnOnce(&Runtime) -> PyResult<T>) -> PyResult<T> {
    thread_local! {
        static LOCAL: Option<Runtime> = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok();
    }
    LOCAL.with(|rt| match rt {
        Some(rt) => f(rt),
        None => Err(WsrunError::new_err("cannot start the async runtime")),
    })
}

/// Makes asyncio futures (pyo3-async-runtimes) run on [`runtime`]. Lazy, like the runtime: a
/// plain `import wsrun` starts no threads (and so stays safe to fork).
pub fn asyncio_runtime() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means it was set already: it is ours either way.
        let _ = pyo3_async_runtimes::tokio::init_with_runtime(runtime());
    });
}

/// Resolves when Python has a pending signal (Ctrl-C), with its exception.
pub async fn python_signal() -> PyErr {
    // The first check after 50 ms, not at once: a `stream()` waits here once per batch of
    // messages, and taking the GIL back for each batch would cost more than the batch.
    let every = Duration::from_millis(50);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            return e;
        }
    }
}

/// Runs `fut` on the shared runtime with the GIL released; a signal (Ctrl-C) drops the future and
/// raises the signal's exception (`KeyboardInterrupt`).
pub fn block_interruptibly<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    py.detach(|| {
        runtime().block_on(async {
            tokio::select! {
                out = fut => Ok(out),
                e = python_signal() => Err(e),
            }
        })
    })
}

//! systemd integration through `sd_notify`: `READY=1` once the store is open and the HTTP
//! server is listening (the unit is `Type=notify`, so dependants start only then),
//! `WATCHDOG=1` at half the unit's `WatchdogSec` while the runtime is alive, and
//! `STOPPING=1` on shutdown. Without `NOTIFY_SOCKET` (not under systemd) every call is a
//! no-op.
//!
//! The watchdog pings from a task on the same runtime as the engine and the server: a
//! wedged runtime (a blocking call on every worker, a deadlock) misses pings and systemd
//! restarts the service, which `Restart=on-failure` then brings back.

use std::time::Duration;

use sd_notify::NotifyState;

use crate::engine::Shutdown;

/// Tells systemd the service is ready, with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// Tells systemd the service is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The watchdog interval systemd asked for (`WATCHDOG_USEC`), if any — for this process:
/// when `WATCHDOG_PID` is set it must be ours (libsystemd's `sd_watchdog_enabled` rule;
/// the `sd-notify` crate's own check also refuses an unset `WATCHDOG_PID`).
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok().filter(|u| *u > 0)?;
    match std::env::var("WATCHDOG_PID") {
        Ok(pid) if pid.trim().parse::<u32>().ok() != Some(std::process::id()) => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

/// Pings the watchdog at half its interval until `shutdown`, when systemd asked for one.
pub fn spawn_watchdog(shutdown: Shutdown) -> Option<tokio::task::JoinHandle<()>> {
    let every = watchdog_interval()? / 2;
    tracing::info!(every_ms = every.as_millis() as u64, "systemd watchdog enabled");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => send(&[NotifyState::Watchdog]),
                () = shutdown.wait() => return,
            }
        }
    }))
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
    }
}

//! Naming this process among the instances sharing a store, and recognising a holder of
//! this host that has died.
//!
//! An instance id is `host:pid:suffix`. After a crash (`kill -9`, an OOM kill) the
//! restarted daemon on the same host would otherwise wait up to a lease's time to live for
//! its own dead predecessor: a holder naming this host and a process that no longer exists
//! is taken over at once. Getting that wrong is harmless — a holder still alive has its
//! pages refused by its fencing token — so the check can be simple.

use rand::Rng as _;

/// A name for this process, unique among the instances sharing a store: the host, the
/// process id and a random suffix (process ids repeat across hosts and restarts).
pub fn instance_id() -> String {
    format!("{}:{}:{:06x}", host(), std::process::id(), rand::thread_rng().gen_range(0..0x100_0000))
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_string())
}

/// Whether `holder` is an instance of this host whose process no longer exists, or is a
/// zombie (killed, not yet reaped by its parent: it can never write again) — Linux, where
/// `/proc` says; elsewhere never.
pub(crate) fn died_here(holder: &str) -> bool {
    let mut parts = holder.rsplitn(3, ':');
    let (Some(_suffix), Some(pid), Some(host_part)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if !cfg!(target_os = "linux") || host_part != host() || pid == std::process::id() {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S …`: the state follows the last `)` (a command may hold one).
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|s| matches!(s, "Z" | "X")),
        Err(_) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_vanished_process_of_this_host_counts_as_dead() {
        let me = instance_id();
        assert!(!died_here(&me), "this process is alive");
        let parent = format!("{}:{}:abcdef", host(), std::os::unix::process::parent_id());
        assert!(!died_here(&parent), "the parent process is alive");
        let vanished = format!("{}:{}:abcdef", host(), u32::MAX - 1);
        assert_eq!(died_here(&vanished), cfg!(target_os = "linux"));
        assert!(!died_here(&format!("elsewhere:{}:abcdef", u32::MAX - 1)), "another host's process");
        assert!(!died_here("garbage"));
    }

    #[test]
    fn a_zombie_of_this_host_counts_as_dead() {
        let mut child = std::process::Command::new("true").spawn().expect("spawn true");
        let holder = format!("{}:{}:abcdef", host(), child.id());
        let stat = format!("/proc/{}/stat", child.id());
        // Not reaped yet: once it exits it stays a zombie until `wait`.
        let zombie = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_to_string(&stat)
                .is_ok_and(|s| s.rsplit_once(')').is_some_and(|(_, r)| r.trim_start().starts_with('Z')))
        });
        if cfg!(target_os = "linux") {
            assert!(zombie, "the child became a zombie");
            assert!(died_here(&holder), "a zombie cannot write: its lease may be taken over");
        }
        child.wait().expect("reap");
    }
}

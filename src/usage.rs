//! What this process has used so far — CPU time and peak resident memory — for the
//! benchmarks that report them (`zveno bench cost`, `zveno bench resolve`). Read from
//! `/proc/self`, so Linux only; elsewhere the figures are `None`.

/// Clock ticks per second of `/proc/<pid>/stat`'s times: the kernel's `USER_HZ`, which is
/// 100 on every architecture Linux exposes to user space (see proc(5)).
const USER_HZ: f64 = 100.0;

/// CPU time this process has spent, user plus system, in seconds: every thread's,
/// finished ones included (10 ms resolution).
pub fn cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_ticks(&stat).map(|ticks| ticks as f64 / USER_HZ)
}

/// `utime + stime` from a `/proc/<pid>/stat` line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its closing parenthesis: there,
/// `utime` and `stime` (fields 14 and 15) are the 12th and 13th.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// The process's peak resident set (`VmHWM`), in MiB.
pub fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name_whatever_it_holds() {
        let stat = "4242 (zveno (bench) x) S 1 4242 4242 0 -1 4194304 900 0 0 0 1234 56 0 0 20 0 9 0 100 0 0";
        assert_eq!(cpu_ticks(stat), Some(1290));
        assert_eq!(cpu_ticks("4242 (zveno) S 1"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_peak_and_cpu_time() {
        assert!(peak_mib().is_some_and(|m| m > 0.0));
        assert!(cpu_secs().is_some());
    }
}

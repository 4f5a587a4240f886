//! The `zveno` binary: everything lives in the library; see `zveno::cli`.

use std::os::unix::process::CommandExt as _;

/// mimalloc instead of the system allocator: a sync allocates and frees many small,
/// short-lived values (JSON nodes, strings, bound parameters), and glibc's malloc spent a
/// quarter of a full sync's CPU on them (`zveno bench cost` under perf: `_int_malloc`,
/// `unlink_chunk`, `malloc_consolidate`, `_int_free`). Set in the binary only: the library
/// leaves the choice to whoever embeds it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's options that keep resident memory down, with the values zveno runs with:
/// arenas committed as they are used rather than up front, and freed memory returned to
/// the OS after 50 ms rather than after a second. With mimalloc's defaults a full sync of
/// 50,000 records peaked at 201 MiB and the incremental one after it at 132 MiB (glibc:
/// 166 and 72); returning memory at once (a delay of 0), 136 and 73. A delay of 0 made the
/// kernel unmap and fault in the same pages over and over (page faults and `madvise` were
/// about 6% of a full sync's CPU in `.ci/profile`); 50 ms, measured side by side with 0 and
/// 10 (`zveno bench cost`, 50,611 records, two runs each): 71–74 ms of CPU per 1k records
/// against 78–79, peak 116–118 MiB against 109–111.
const ALLOCATOR_OPTIONS: [(&str, &str); 2] = [("MIMALLOC_ARENA_EAGER_COMMIT", "0"), ("MIMALLOC_PURGE_DELAY", "50")];

fn main() -> std::process::ExitCode {
    reexec_with_allocator_options();
    zveno::cli::main()
}

/// mimalloc reads its options from the environment once, on the first allocation, which
/// happens before `main`; so when none is set, the process starts itself again (same pid,
/// arguments and descriptors) with [`ALLOCATOR_OPTIONS`] in its environment. An operator's
/// own `MIMALLOC_*` settings are left alone, and a failed `exec` just runs on as is.
fn reexec_with_allocator_options() {
    if ALLOCATOR_OPTIONS.iter().any(|(name, _)| std::env::var_os(name).is_some()) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    let error = command.args(args).envs(ALLOCATOR_OPTIONS).exec();
    eprintln!("warning: could not restart with the allocator's options ({error}); running with its defaults");
}

//! Stamps the binary with the commit it was built from, for `zveno --version`.
//!
//! From a git checkout: `git describe` (the short hash, `-dirty` with local changes). From
//! a source tarball without `.git`: `ZVENO_COMMIT` if the packager sets it, else "unknown"
//! — the build never fails for want of git.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=ZVENO_COMMIT");
    let commit = std::env::var("ZVENO_COMMIT").ok().filter(|c| !c.is_empty()).or_else(git_commit);
    println!("cargo:rustc-env=ZVENO_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}

fn git_commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    // Rebuild when HEAD moves (a worktree's git dir is elsewhere, so ask git where).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        println!("cargo:rerun-if-changed={dir}/HEAD");
        if let Some(reference) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
                println!("cargo:rerun-if-changed={common}/{reference}");
            }
        }
    }
    git(&["describe", "--always", "--dirty", "--abbrev=12", "--exclude", "*"]).filter(|c| !c.is_empty())
}

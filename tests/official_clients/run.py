#!/usr/bin/env python3
"""Official vendor client libraries against zveno's simulators.

A simulator is only worth its name if the vendor's own SDK works against it. This script
starts `zveno demo` on a small world (in a temporary directory), waits for the
`simulators.json` it writes once its first sync has committed, and runs one check per
simulator, each driving the vendor's official client library:

    hubspot   hubspot-api-client (PyPI)   checks/hubspot_check.py
    jira      jira, pycontribs (PyPI)     checks/jira_check.py
    bitrix24  fast-bitrix24 (PyPI)        checks/bitrix24_check.py
    pipedrive pipedrive (npm, Node.js)    checks/pipedrive_check.mjs

A check gets its simulator's entry of `simulators.json` (url, options, credentials) as JSON
on stdin, makes its own assertions (paging, reads by id, search, batch, 401 and 404
answers) and prints one JSON object on stdout: the library it used, the client ids and
the {task id: title} it read. This script then compares them with what zveno stored, from
`zveno clients --json` and `zveno tasks --json`: the same ids, the same titles, nothing
missing and nothing extra. Any difference, error, or a simulator without a check fails
the run (exit 1). The demo is stopped on every exit path, signals included.

Adding a client: write `checks/<vendor>_check.<ext>` speaking the same stdin/stdout
protocol (in any language) and add one line to CHECKS below.

Usage: python tests/official_clients/run.py [--zveno target/debug/zveno] [--clients 150]
(`.ci/run` installs the pinned libraries from requirements.txt into a venv and runs it.)
"""

from __future__ import annotations

import argparse
import ctypes
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKS_DIR = HERE / "checks"

# vendor -> the command that checks its simulator (run in CHECKS_DIR).
CHECKS: dict[str, list[str]] = {
    "hubspot": [sys.executable, "hubspot_check.py"],
    "jira": [sys.executable, "jira_check.py"],
    "bitrix24": [sys.executable, "bitrix24_check.py"],
    "pipedrive": ["node", "pipedrive_check.mjs"],
}

READY_TIMEOUT_SECS = 180
CHECK_TIMEOUT_SECS = 300


class Failure(Exception):
    """A check failed; the message says what differed."""


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="zveno-official-clients-"))
    demo = None
    # SIGTERM (CI stopping us) unwinds like Ctrl-C, so `finally` stops the demo.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        demo = start_demo(args, workdir)
        manifest = wait_ready(demo, workdir)
        stored = read_store(args.zveno, manifest["config"])
        passed, failed = 0, 0
        for sim in manifest["simulators"]:
            try:
                line = run_check(sim, stored)
                print(f"ok      {line}", flush=True)
                passed += 1
            except Failure as e:
                print(f"FAILED  {sim['connector']}: {e}", flush=True)
                failed += 1
        print(f"official_clients: {passed} passed, {failed} failed")
        return 0 if failed == 0 else 1
    except Failure as e:
        print(f"FAILED  {e}", flush=True)
        show_log(workdir)
        return 1
    finally:
        stop_demo(demo)
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_zveno = HERE.parent.parent / "target" / "debug" / "zveno"
    parser.add_argument("--zveno", type=Path, default=default_zveno, help="the zveno binary (default: %(default)s)")
    parser.add_argument("--clients", type=int, default=150,
                        help="clients in the demo world; the checks need every list to span several pages "
                             "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the demo world (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the demo's directory (store, config, log)")
    args = parser.parse_args()
    args.zveno = args.zveno.resolve()
    if not args.zveno.is_file():
        parser.error(f"no zveno binary at {args.zveno} (cargo build, or pass --zveno)")
    return args


def die_with_parent() -> None:
    """In the demo's process, before exec: Linux sends it SIGKILL if this script dies
    without a chance to clean up (SIGKILL), so no simulator outlives its run."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError:
        pass


def start_demo(args: argparse.Namespace, workdir: Path) -> subprocess.Popen:
    log = open(workdir / "demo.log", "wb")
    command = [str(args.zveno), "demo", "--data-dir", str(workdir / "demo"), "--clients", str(args.clients),
               "--seed", str(args.seed), "--interval-secs", "3600"]
    print(f"starting: {' '.join(command)}", flush=True)
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            preexec_fn=die_with_parent)


def wait_ready(demo: subprocess.Popen, workdir: Path) -> dict:
    manifest = workdir / "demo" / "simulators.json"
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    while not manifest.exists():
        if demo.poll() is not None:
            raise Failure(f"zveno demo exited with {demo.returncode} before its first sync finished")
        if time.monotonic() > deadline:
            raise Failure(f"zveno demo wrote no {manifest} within {READY_TIMEOUT_SECS} s")
        time.sleep(0.2)
    return json.loads(manifest.read_text())


def stop_demo(demo: subprocess.Popen | None) -> None:
    if demo is None or demo.poll() is not None:
        return
    demo.send_signal(signal.SIGINT)  # the demo stops after the page in flight
    try:
        demo.wait(timeout=15)
    except subprocess.TimeoutExpired:
        demo.kill()
        demo.wait()


def show_log(workdir: Path) -> None:
    log = workdir / "demo.log"
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-30:]
        print("--- last lines of the demo's output ---\n" + "\n".join(tail))


def zveno_json(zveno: Path, config: str, *command: str):
    done = subprocess.run([str(zveno), "--config", config, *command, "--json"], capture_output=True, text=True,
                          timeout=120)
    if done.returncode != 0:
        raise Failure(f"zveno {' '.join(command)} --json exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout)


def read_store(zveno: Path, config: str) -> dict:
    """What zveno stored, per connector: {"clients": {ids}, "tasks": {id: title}}."""
    stored: dict[str, dict] = {}

    def slot(connector: str) -> dict:
        return stored.setdefault(connector, {"clients": set(), "tasks": {}})

    for client in zveno_json(zveno, config, "clients"):
        for source in client["sources"]:
            slot(source["connector"])["clients"].add(source["external_id"])
    for task in zveno_json(zveno, config, "tasks"):
        for source in task["sources"]:
            slot(source["connector"])["tasks"][source["external_id"]] = task["title"]
    return stored


def run_check(sim: dict, stored: dict) -> str:
    vendor, connector = sim["vendor"], sim["connector"]
    command = CHECKS.get(vendor)
    if command is None:
        raise Failure(f"no official-client check for vendor {vendor!r}: add one to CHECKS in {Path(__file__).name}")
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=CHECKS_DIR, input=json.dumps(sim), capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        raise Failure(f"{' '.join(command[1:])} did not finish within {CHECK_TIMEOUT_SECS} s") from None
    if done.returncode != 0:
        raise Failure(f"{' '.join(command[1:])} exited {done.returncode}:\n{indent(done.stderr or done.stdout)}")
    try:
        read = json.loads(done.stdout)
    except json.JSONDecodeError as e:
        raise Failure(f"{' '.join(command[1:])} printed no JSON report ({e}):\n{indent(done.stdout)}") from None
    mine = stored.get(connector, {"clients": set(), "tasks": {}})
    problems = compare("client", set(read.get("clients", [])), mine["clients"])
    problems += compare_titles(read.get("tasks", {}), mine["tasks"])
    if not read.get("clients") and not read.get("tasks"):
        problems.append("the library read nothing")
    if problems:
        raise Failure(f"{read.get('library', '?')} disagrees with zveno's store:\n" + indent("\n".join(problems)))
    counts = [f"{len(read[k])} {k}" for k in ("clients", "tasks") if read.get(k)]
    summary = f"{connector:<9} {read.get('library', '?')}: {' and '.join(counts)} read, as zveno stored them"
    notes = "; ".join(read.get("checked", []))
    return f"{summary} ({time.monotonic() - started:.1f} s)" + (f"\n        checked: {notes}" if notes else "")


def compare(kind: str, seen: set, stored: set) -> list[str]:
    problems = []
    if seen - stored:
        extra = sorted(seen - stored)
        problems.append(f"{len(extra)} {kind}(s) the library read are not in the store: {extra[:10]}")
    if stored - seen:
        problems.append(f"{len(stored - seen)} stored {kind}(s) the library did not read: {sorted(stored - seen)[:10]}")
    return problems


def compare_titles(seen: dict, stored: dict) -> list[str]:
    problems = compare("task", set(seen), set(stored))
    differ = [(i, seen[i], stored[i]) for i in sorted(set(seen) & set(stored)) if seen[i] != stored[i]]
    if differ:
        problems.append(f"{len(differ)} task title(s) differ (id, library, store): {differ[:5]}")
    return problems


def indent(text: str) -> str:
    return "\n".join("        " + line for line in text.strip().splitlines()[-40:])


if __name__ == "__main__":
    sys.exit(main())

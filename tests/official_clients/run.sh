#!/usr/bin/env bash
# Official vendor client libraries against zveno's simulators (tests/official_clients/run.py).
#
# Installs the pinned libraries of requirements.txt into a virtualenv kept under
# ~/.cache/zveno (one per requirements file and Python version, so a CI run reuses it and a
# changed pin gets a fresh one), and the pinned Node.js clients of node/package.json next to
# it (npm registry), builds the zveno binary if needed, and runs the checks.
# Arguments go to run.py (e.g. --keep, --clients N). ZVENO_BIN names a zveno binary to use
# instead of building one (.ci/run passes the one `cargo test` just built and tested).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

python="${PYTHON:-python3}"
key="$( (cat "$here/requirements.txt"; "$python" --version) | sha256sum | cut -c1-16)"
venv="${XDG_CACHE_HOME:-$HOME/.cache}/zveno/official-clients-$key"
if [ ! -f "$venv/.installed" ]; then
  echo "installing the official client libraries into $venv"
  rm -rf "$venv"
  if ! "$python" -m venv "$venv"; then
    # Debian ships venv separately; this machine kind runs CI as root with apt available.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get install -y -qq python3-venv >/dev/null
      rm -rf "$venv"
      "$python" -m venv "$venv"
    else
      echo "cannot create a virtualenv with $python: install Python's venv module (Debian: python3-venv)" >&2
      exit 1
    fi
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  touch "$venv/.installed"
fi

# The Node.js clients of node/package.json, pinned with their dependencies by
# node/package-lock.json (npm ci), in a cache keyed like the virtualenv.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Node.js is not installed; installing Debian's nodejs and npm for the Node.js clients"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "the Node.js clients need node and npm (Debian: nodejs, npm)" >&2
    exit 1
  fi
fi
nodekey="$( (cat "$here/node/package.json" "$here/node/package-lock.json"; node --version) | sha256sum | cut -c1-16)"
nodedir="${XDG_CACHE_HOME:-$HOME/.cache}/zveno/official-clients-node-$nodekey"
if [ ! -f "$nodedir/.installed" ]; then
  echo "installing the official Node.js clients into $nodedir"
  rm -rf "$nodedir"
  mkdir -p "$nodedir"
  cp "$here/node/package.json" "$here/node/package-lock.json" "$nodedir/"
  (cd "$nodedir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  touch "$nodedir/.installed"
fi
export ZVENO_NODE_MODULES="$nodedir"

zveno="${ZVENO_BIN:-}"
if [ -z "$zveno" ]; then
  (cd "$root" && cargo build --locked --quiet --bin zveno)
  zveno="$root/target/debug/zveno"
fi
exec "$venv/bin/python" "$here/run.py" --zveno "$zveno" "$@"

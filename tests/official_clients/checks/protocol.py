"""The protocol between run.py and a check: the simulator's entry of `simulators.json` comes
as JSON on stdin; the check prints one JSON report on stdout and exits 0, or explains on
stderr and exits non-zero. Checks in other languages speak the same protocol."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from typing import Callable


class Check:
    """One check run: the simulator it talks to, and what it verified on the way."""

    def __init__(self, package: str) -> None:
        self.sim = json.load(sys.stdin)
        self.library = f"{package} {metadata.version(package)}"
        self.checked: list[str] = []

    def expect(self, condition: bool, what: str) -> None:
        """Records `what` as verified, or fails the check with it."""
        if not condition:
            raise AssertionError(f"{self.library} against {self.sim['url']}: expected {what}")
        if what not in self.checked:
            self.checked.append(what)

    def report(self, clients: list[str], tasks: dict[str, str]) -> None:
        """Prints what the library read: client ids and {task id: title}."""
        if clients:
            self.expect(len(clients) == len(set(clients)), "every client listed once")
        json.dump({"library": self.library, "clients": clients, "tasks": tasks, "checked": self.checked},
                  sys.stdout, ensure_ascii=False)


def failure_status(call: Callable[[], object], error: type[Exception], field: str = "status") -> int | None:
    """The HTTP status of the `error` that `call` raised (its attribute `field`), or None
    when it succeeded: how a check asserts the vendor's 401s and 404s."""
    try:
        call()
    except error as e:
        return getattr(e, field, None)
    return None

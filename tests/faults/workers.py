"""`seabus run` workers as subprocesses that can be SIGKILLed (whole process tree) and restarted.

Each incarnation writes its stderr to its own file in the run directory
(``worker-1.3.log``: worker 1, third start), so nothing is piped into memory and
a worker never blocks on a full pipe.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support import REPO


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children of children too), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Worker:
    """One member of the bus's consumer group: same app id and prefix as the others, its own data dir and ports."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.log_file: Path | None = None

    def start(self) -> None:
        if self.alive():
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        self.log_file = self.log_dir / f"{self.name}.{self.starts}.log"
        with self.log_file.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "seabus.deploy.cli.main", "run"],
                env=self.env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,  # its own process group: one killpg reaches every child
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log_text(self) -> str:
        if self.log_file is None:
            return ""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self.log_text().strip().splitlines()[-lines:])

    def ready(self) -> bool:
        return "seabus worker ready" in self.log_text()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            if self.ready():
                return
            if not self.alive():
                code = self.proc.returncode if self.proc else None
                raise RuntimeError(
                    f"{self.name} exited (status {code}) during start-up; {self.log_file} ends with:\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} not ready after {timeout_s:.0f}s; {self.log_file} ends with:\n"
                    + self.log_tail()
                )
            time.sleep(0.25)

    def kill(self, timeout_s: float = 30.0) -> None:
        """SIGKILL the worker, its process group and any descendant that left the group."""
        if self.proc is None:
            return
        pid = self.proc.pid
        victims = _descendants(pid) if self.proc.poll() is None else []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        for child in [pid, *victims]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(child, signal.SIGKILL)
        self.proc.wait(timeout=timeout_s)

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGINT (a clean stop), then SIGKILL of the whole tree if it does not end in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        # Whatever it started and left behind goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

"""Subprocesses ccmatrix starts (mitmdump, LiteLLM): spawned in a process group of
their own, stopped with everything they started, their logs kept for errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ccmatrix.errors import CcmatrixError


class StackError(CcmatrixError):
    """A process ccmatrix started did not start, or died; the message carries its log tail."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 8.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            os.killpg(self.popen.pid, signal.SIGCONT)  # a stopped (hung) process handles SIGTERM only once resumed
            self.popen.wait(timeout)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise StackError(f"{self.name} exited with code {self.popen.returncode}; log {self.log}:\n{tail(self.log)}")


def spawn(name: str, cmd: list[str], env: dict[str, str], log: Path, cwd: Path | None = None) -> Process:
    fh = log.open("wb")
    try:
        popen = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() takes its children too
        )
    finally:
        fh.close()
    return Process(name, popen, log)


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside: SIGTERM (a CI cancel) unwinds like Ctrl-C, so every `finally`
    stops LiteLLM and mitmdump. Only where no handler is set, and only in the main thread."""
    old = None
    try:
        if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
            old = signal.signal(signal.SIGTERM, _raise_interrupt)
    except ValueError:  # not the main thread
        pass
    try:
        yield
    finally:
        if old is not None:
            try:
                signal.signal(signal.SIGTERM, old)
            except ValueError:
                pass

"""Subprocesses ccmatrix starts (mitmdump, LiteLLM): spawned in a process group of
their own, stopped with everything they started, their logs kept for errors."""

from __future__ import annotations

import functools
import os
import random
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy.litellm_fork import ForkedChild


class StackError(CcmatrixError):
    """A process ccmatrix started did not start, or died; the message carries its log tail."""


# Where the kernel takes the local port of an outgoing connection (Linux's
# ip_local_port_range; the kernel's ip-sysctl documentation). A listening port chosen
# there can be taken by any process's connection between the choice and the listener's
# bind, seconds later for LiteLLM (its import comes first): "address already in use" in
# a clean-clone run, 2026-12-07. Ports below the range are never handed out that way.
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LISTEN_SPAN = 12_000  # how many ports below the ephemeral range ccmatrix chooses among
_chosen: set[int] = set()  # handed out by this process (stacks start side by side)
_choosing = threading.Lock()


@functools.cache  # the kernel's setting, read once
def _listen_ports() -> range:
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    return range(max(1024, low - _LISTEN_SPAN), low)


def free_port() -> int:
    """A loopback port free now and outside the kernel's ephemeral range, not handed out
    before by this process: what a process ccmatrix starts will listen on."""
    ports = _listen_ports()
    with _choosing:
        for _ in range(200):
            port = random.choice(ports)
            if port in _chosen:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _chosen.add(port)
            return port
    with socket.socket() as s:  # a crowded range: any free port, as the kernel picks it
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
    popen: subprocess.Popen | ForkedChild  # spawned, or forked by a LiteLLM fork server (litellm_fork)
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 8.0) -> None:
        stop_all([self], timeout)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise StackError(f"{self.name} exited with code {self.popen.returncode}; log {self.log}:\n{tail(self.log)}")


def stop_all(processes: list[Process], timeout: float = 8.0) -> None:
    """SIGTERM to every process group at once, then SIGKILL for any still running after
    `timeout`: processes stopped together cost the slowest one's shutdown, not the sum."""
    running = [p for p in processes if p.popen.poll() is None]
    for p in running:
        p._signal(signal.SIGTERM)
        p._signal(signal.SIGCONT)  # a stopped (hung) process handles SIGTERM only once resumed
    deadline = time.monotonic() + timeout
    for p in running:
        try:
            p.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p._signal(signal.SIGKILL)
            try:
                p.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass  # unkillable (in the kernel): nothing more to do from here


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

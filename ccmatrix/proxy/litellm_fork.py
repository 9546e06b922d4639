"""LiteLLM proxies forked from an interpreter that imported LiteLLM once, instead of
each started from scratch: most of a start is LiteLLM's import (1.110.2: 7.0 of 7.7
CPU-seconds; forked after the import, 1.2; bench/litellm_start_bench.py). For a process
that starts many proxies of one release, as the test suite does (some fifty a run).

Opt-in, by the variable CCMATRIX_LITELLM_FORKSERVER naming a fork server's socket
(`ForkServer.serving()` sets it for its own process and the processes it starts); unset,
every LiteLLM is started as `litellm --config ...`, as a user runs it.

    with ForkServer.serving():
        ...  # every LiteLLMProxy of a release environment started here, or in a ccmatrix
             # process started from here, is forked

Per release environment (interpreter and PYTHONPATH), one LiteLLM fork server
(litellm_zygote.py) imports LiteLLM's proxy with the environment every LiteLLM
process gets (base_environment) and forks a child per proxy that runs LiteLLM's own
command-line entry with the proxy's arguments. What differs from a start from scratch:
the stack's own variables (its HTTPS proxy and CA, the credentials, HOME) are set after
the import, not before. LiteLLM reads them when it builds a client for a provider
request, after the import; the two clients built during the import that read the
proxy (`_license_check`, `jwt_handler` in proxy_server, found with gc referrers in
1.83.14, 1.93.0 and 1.110.2) are not on a provider request's way in ccmatrix's config.

A forked proxy is signalled, waited for and reported like a spawned one: a session of
its own (so its process group is stopped with everything it started), its exit code as
subprocess gives it (-9 when killed), its output in its log. A caller that dies takes
its proxies with it (the fork server kills a child whose caller hung up), and the fork
servers end with the process that serves them.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import socketserver
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping

VARIABLE = "CCMATRIX_LITELLM_FORKSERVER"
# in the folder on every LiteLLM process's PYTHONPATH, not here: run as a script, its folder comes
# first on sys.path, and this one holds a litellm.py
ZYGOTE = Path(__file__).parent / "litellm_site" / "litellm_zygote.py"
IMPORT_TIMEOUT = 180.0  # seconds for a fork server's import (a loaded 2-core machine)


def spawned_litellm(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for a process whose LiteLLMs must be started from scratch, as a user's run
    starts them: one traced with strace (a forked proxy is not its child), or one in a
    network namespace of its own (a forked proxy would be outside it)."""
    return {name: value for name, value in environ.items() if name != VARIABLE}


class ForkedChild:
    """A forked LiteLLM as subprocess.Popen presents a spawned one: pid, poll, wait,
    returncode. Its exit code comes over its connection to the fork server."""

    def __init__(self, connection: socket.socket, pid: int) -> None:
        self._connection, self.pid = connection, pid
        self.returncode: int | None = None
        self._buffer = b""

    def _receive(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        readable, _, _ = select.select([self._connection], [], [], timeout)
        if not readable:
            return
        chunk = self._connection.recv(4096)
        self._buffer += chunk
        if b"\n" in self._buffer:
            self.returncode = int(json.loads(self._buffer.split(b"\n", 1)[0])["exit"])
        elif not chunk:  # the fork server died, and killed its children as it went
            self.returncode = -9
        if self.returncode is not None:
            self._connection.close()

    def poll(self) -> int | None:
        self._receive(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(["litellm"], timeout or 0)
            self._receive(left)
        return self.returncode


def fork(python: Path, import_environ: dict[str, str], argv: list[str], environ: dict[str, str],
         log: Path, cwd: Path) -> ForkedChild | None:
    """`argv` forked by the fork server of `python`'s LiteLLM, with `environ`, in `cwd`,
    its output in `log`; None when no fork server is set (or it cannot serve this
    environment: the caller starts LiteLLM itself)."""
    address = os.environ.get(VARIABLE)
    if not address:
        return None
    try:
        server = _ask(address, {"python": str(python), "env": import_environ}, timeout=IMPORT_TIMEOUT + 10)
    except (OSError, ValueError):
        return None  # the server is gone (its owner ended): start LiteLLM as usual
    if "socket" not in server:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(server["socket"])
        connection.sendall(json.dumps({"argv": argv, "env": environ, "cwd": str(cwd), "log": str(log)}).encode()
                           + b"\n")
        pid = int(_read_line(connection, timeout=30)["pid"])
    except (OSError, ValueError, KeyError):  # KeyError: it answered an error, not a pid
        connection.close()
        return None
    return ForkedChild(connection, pid)


def _read_line(connection: socket.socket, timeout: float) -> dict:
    connection.settimeout(timeout)
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("the fork server hung up")
        data += chunk
    connection.settimeout(None)
    return json.loads(data)


def _ask(address: str, request: dict, timeout: float) -> dict:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(address)
        connection.sendall(json.dumps(request).encode() + b"\n")
        return _read_line(connection, timeout)


class _Zygote:
    """One fork server (litellm_zygote.py) for one LiteLLM environment."""

    def __init__(self, python: str, environ: dict[str, str], folder: Path) -> None:
        self.socket = str(folder / "litellm.sock")
        self.log = folder / "zygote.log"
        folder.mkdir(parents=True)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([python, str(ZYGOTE), self.socket], env=environ, cwd=folder,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                            start_new_session=True)
        self.error: str | None = None

    def wait_ready(self) -> None:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], IMPORT_TIMEOUT)
        line = self.process.stdout.readline() if readable else b""
        if line.strip() != b"ready":
            self.error = f"the LiteLLM fork server did not start; {self.log}: {self.log.read_text()[-2000:]}"

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()  # it kills its children and exits
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ForkServer:
    """The fork servers of one process, one per LiteLLM environment, started on first
    use, reached by this process and the processes it starts through one socket."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="ccmatrix-fork-")
        self.address = str(Path(self._folder.name) / "server.sock")
        self._zygotes: dict[tuple[str, str], _Zygote] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count()  # each fork server's folder
        pool = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = json.loads(self.rfile.readline())
                zygote = pool._zygote(request["python"], request["env"])
                answer = {"error": zygote.error} if zygote.error else {"socket": zygote.socket}
                self.wfile.write(json.dumps(answer).encode() + b"\n")

        self._server = socketserver.ThreadingUnixStreamServer(self.address, Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="litellm-fork-server", daemon=True)
        self._thread.start()

    def _zygote(self, python: str, environ: dict[str, str]) -> _Zygote:
        key = (python, environ.get("PYTHONPATH", ""))
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # two callers of one environment import it once; other environments meanwhile
            zygote = self._zygotes.get(key)
            if zygote is None:
                zygote = _Zygote(python, environ, Path(self._folder.name) / str(next(self._numbers)))
                zygote.wait_ready()
                with self._lock:
                    self._zygotes[key] = zygote
        return zygote

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            zygotes = list(self._zygotes.values())
        for zygote in zygotes:
            zygote.stop()
        self._folder.cleanup()

    @classmethod
    @contextmanager
    def serving(cls) -> Iterator["ForkServer"]:
        """A fork server for this process and the processes it starts (the variable set
        while inside)."""
        server = cls()
        before = os.environ.get(VARIABLE)
        os.environ[VARIABLE] = server.address
        try:
            yield server
        finally:
            if before is None:
                os.environ.pop(VARIABLE, None)
            else:
                os.environ[VARIABLE] = before
            server.close()


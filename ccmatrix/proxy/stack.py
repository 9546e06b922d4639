"""The running parts of a ccmatrix session: mitmdump with the recorder addon, and
the real LiteLLM proxy behind it, each a subprocess on loopback.

    with Stack.start(mode="replay", cassettes=dir, litellm=env) as stack:
        stack.begin_cell(cell); ...client requests to stack.litellm_url...; stack.end_cell()

Both processes run in their own process group and are stopped on exit, on
Ctrl-C and on failure. LiteLLM gets a clean environment: only what it needs,
so a developer's real cloud credentials never reach a replay.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from ccmatrix import catalog, litellm_config
from ccmatrix.bundled import RECORDER_SCRIPT
from ccmatrix.credentials import fake_credentials, live_credentials
from ccmatrix.litellm_env import LiteLLMEnv, cache_dir

Upstream = Literal["replay", "emulate", "live"]
CONTROL_HOST = "ccmatrix.control"


class StackError(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 8.0) -> None:
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(timeout)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise StackError(f"{self.name} exited with code {self.popen.returncode}; log {self.log}:\n{_tail(self.log)}")


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


def mitm_confdir() -> Path:
    path = cache_dir() / "mitmproxy"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_mitm_ca() -> Path:
    """The mitmproxy CA, made once. Two mitmdumps starting together on a fresh
    machine (pytest -n 2) would each make one, and LiteLLM could trust the wrong one."""
    import fcntl

    confdir = mitm_confdir()
    ca = confdir / "mitmproxy-ca-cert.pem"
    with open(confdir / ".ca.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not ca.exists():
            from mitmproxy.certs import CertStore
            from mitmproxy.options import CONF_BASENAME, KEY_SIZE

            CertStore.from_store(confdir, CONF_BASENAME, KEY_SIZE)
    return ca


def ca_bundle(path: Path, mitm_ca: Path) -> Path:
    """certifi's CAs plus the mitmproxy CA, for LiteLLM's aiohttp/httpx and requests."""
    import certifi

    path.write_text(Path(certifi.where()).read_text() + "\n" + mitm_ca.read_text())
    return path


@dataclass
class Stack:
    mode: Upstream
    cassettes: Path
    litellm: LiteLLMEnv
    workdir: Path
    mitm_port: int
    litellm_port: int
    credentials: dict[str, str] | None = None  # None: fake ones offline, the environment's live
    processes: list[Process] = field(default_factory=list)
    _clients: dict[str, httpx.Client] = field(default_factory=dict)
    _exit: ExitStack = field(default_factory=ExitStack)

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def start(
        cls,
        mode: Upstream,
        cassettes: Path,
        litellm: LiteLLMEnv,
        providers: list[catalog.Provider] | None = None,
        workdir: Path | None = None,
        startup_timeout: float = 90.0,
        credentials: dict[str, str] | None = None,
    ) -> "Stack":
        exit_stack = ExitStack()
        if workdir is None:
            workdir = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="ccmatrix-")))
        stack = cls(mode, cassettes, litellm, workdir, free_port(), free_port(), credentials, _exit=exit_stack)
        try:
            stack._start_mitmdump(startup_timeout)
            stack._start_litellm(providers, startup_timeout)
        except BaseException:
            stack.stop()
            raise
        return stack

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()
        self._exit.close()

    def _start_mitmdump(self, timeout: float) -> None:
        ensure_mitm_ca()
        if not RECORDER_SCRIPT.exists():
            raise StackError(f"the recorder addon is missing from the installed package: {RECORDER_SCRIPT}")
        mitmdump = shutil.which("mitmdump", path=str(Path(sys.executable).parent)) or shutil.which("mitmdump")
        if not mitmdump:
            raise StackError("mitmdump not found (mitmproxy is a ccmatrix dependency)")
        cmd = [
            mitmdump, "-q", "-s", str(RECORDER_SCRIPT),
            "--listen-host", "127.0.0.1", "--listen-port", str(self.mitm_port),
            # lazy: no upstream connection on CONNECT, only when the addon lets a request through
            "--set", "connection_strategy=lazy",
            "--set", f"confdir={mitm_confdir()}",
            "--set", f"ccmatrix_upstream={self.mode}",
            "--set", f"ccmatrix_cassettes={self.cassettes}",
        ]
        env = dict(os.environ)
        env.pop("HTTPS_PROXY", None), env.pop("HTTP_PROXY", None)
        proc = spawn("mitmdump", cmd, env, self.workdir / "mitmdump.log")
        self.processes.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc.check_alive()
            try:
                r = self.control("GET", "/health", timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise StackError(f"mitmdump did not become ready in {timeout:.0f}s; log:\n{_tail(proc.log)}")

    def _litellm_env(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{self.mitm_port}"
        bundle = ca_bundle(self.workdir / "ca-bundle.pem", ensure_mitm_ca())
        home = self.workdir / "home"
        home.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
            "SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle),
            # nothing fetched from the internet at start or on the first request
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
            "LITELLM_MASTER_KEY": litellm_config.MASTER_KEY,
            "LITELLM_LOG": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        if self.credentials is not None:
            env.update(self.credentials)
        else:
            env.update(live_credentials() if self.mode == "live" else fake_credentials(self.workdir))
        return env

    def _start_litellm(self, providers: list[catalog.Provider] | None, timeout: float) -> None:
        config = litellm_config.write_config(self.workdir / "litellm-config.yaml", providers)
        cli = self.litellm.python.parent / "litellm"
        base = [str(cli)] if cli.exists() else [str(self.litellm.python), "-m", "litellm.proxy.proxy_cli"]
        cmd = base + ["--config", str(config), "--host", "127.0.0.1", "--port", str(self.litellm_port)]
        proc = spawn("litellm", cmd, self._litellm_env(), self.workdir / "litellm.log", cwd=self.workdir)
        self.processes.append(proc)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc.check_alive()
            try:
                if self.http.get("/health/liveliness", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise StackError(f"LiteLLM did not answer /health/liveliness in {timeout:.0f}s; log:\n{_tail(proc.log)}")

    # ------------------------------------------------------------ use
    @property
    def litellm_url(self) -> str:
        return f"http://127.0.0.1:{self.litellm_port}"

    def litellm_log_tail(self) -> str:
        return _tail(self.workdir / "litellm.log")

    def _client(self, name: str, **options: Any) -> httpx.Client:
        # one pooled client each, made once: building an httpx.Client loads the CA
        # store (~30 ms), which per request cost more than the requests themselves
        if name not in self._clients:
            self._clients[name] = httpx.Client(trust_env=False, verify=False, **options)
        return self._clients[name]

    @property
    def http(self) -> httpx.Client:
        """A client for the LiteLLM proxy (plain HTTP on loopback)."""
        return self._client("litellm", base_url=self.litellm_url, timeout=120)

    def control(self, method: str, path: str, json: Any = None, timeout: float = 30) -> httpx.Response:
        """Talk to the addon: plain HTTP to a reserved host, through mitmdump itself."""
        client = self._client("control", proxy=f"http://127.0.0.1:{self.mitm_port}")
        return client.request(method, f"http://{CONTROL_HOST}{path}", json=json, timeout=timeout)

    def begin_cell(self, cell: catalog.Cell, provenance: dict[str, Any]) -> None:
        r = self.control("POST", "/cell/begin", json={"cell": cell.id, "provenance": provenance})
        if r.status_code != 200:
            raise StackError(f"recorder refused cell {cell.id}: {r.text}")

    def end_cell(self) -> dict[str, Any]:
        r = self.control("POST", "/cell/end", json={})
        if r.status_code != 200:
            raise StackError(f"recorder failed to end the cell: {r.text}")
        return r.json()

    def write_cell(self, verdict: dict[str, Any]) -> Path:
        r = self.control("POST", "/cell/write", json={"verdict": verdict})
        if r.status_code != 200:
            raise StackError(f"recorder failed to write the cassette: {r.text}")
        return Path(r.json()["cassette"])

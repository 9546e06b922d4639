"""mitmdump with the recorder addon: LiteLLM's HTTPS proxy, on a loopback port.

    part = Mitmdump("replay", cassettes, log=workdir / "mitmdump.log")
    part.start(timeout=90); part.control("GET", "/health"); part.stop()
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from ccmatrix.bundled import RECORDER_SCRIPT
from ccmatrix.fsutil import cache_dir
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice
from ccmatrix.proxy.process import Process, StackError, free_port, spawn, tail
from ccmatrix.recorder.control import CONTROL_HOST, BeginCell, Health
from ccmatrix.recorder.exchanges import CellEnd
from ccmatrix.recorder.mode import Upstream


def mitm_confdir() -> Path:
    path = cache_dir() / "mitmproxy"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_mitm_ca() -> Path:
    """The mitmproxy CA, made once. Two mitmdumps starting together on a fresh
    machine (pytest -n 2) would each make one, and LiteLLM could trust the wrong one."""
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


def mitmdump_executable() -> str:
    found = shutil.which("mitmdump", path=str(Path(sys.executable).parent)) or shutil.which("mitmdump")
    if not found:
        raise StackError("mitmdump not found (mitmproxy is a ccmatrix dependency)")
    return found


@dataclass
class Mitmdump:
    upstream: Upstream
    cassettes: Path
    log: Path
    # the client leg: where the reverse-proxy port forwards (LiteLLM's URL); None: no client leg
    client_target: str | None = None
    port: int = field(default_factory=free_port)
    client_port: int = field(default_factory=free_port)
    control_timeout: float = 30.0  # each call to the addon
    # the addon script mitmdump loads (another one must answer the control channel too)
    script: Path = RECORDER_SCRIPT
    process: Process | None = None
    _client: httpx.Client | None = None

    @property
    def proxy_url(self) -> str:
        """The provider leg: LiteLLM's HTTPS proxy."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_url(self) -> str:
        """The client leg: LiteLLM, as the client reaches it (through the recorder)."""
        if self.client_target is None:
            raise StackError("this mitmdump has no client leg (no client_target)")
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def client_target_port(self) -> int:
        """The port the client leg forwards to: where LiteLLM must listen behind it."""
        if self.client_target is None:
            raise StackError("this mitmdump has no client leg (no client_target)")
        return int(self.client_target.rsplit(":", 1)[-1])

    def command(self) -> list[str]:
        modes = ["--mode", f"regular@{self.port}"]
        if self.client_target is not None:
            modes += ["--mode", f"reverse:{self.client_target}@{self.client_port}"]
        return [
            mitmdump_executable(), "-q", "-s", str(self.script),
            "--listen-host", "127.0.0.1", *modes,
            # lazy: no upstream connection on CONNECT, only when the addon lets a request through
            "--set", "connection_strategy=lazy",
            "--set", f"confdir={mitm_confdir()}",
            "--set", f"ccmatrix_upstream={self.upstream}",
            "--set", f"ccmatrix_cassettes={self.cassettes}",
        ]

    def start(self, timeout: float = 90.0) -> Health:
        """Spawn it and wait until the addon answers on its control channel."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Spawn it without waiting (several can then start side by side)."""
        ensure_mitm_ca()
        if not self.script.exists():
            raise StackError(f"the addon script is missing: {self.script}")
        env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
        self.process = spawn("mitmdump", self.command(), env, self.log)

    def wait_ready(self, timeout: float = 90.0) -> Health:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.process.check_alive()
            try:
                r = self.control("GET", "/health", timeout=2)
                if r.status_code == 200:
                    return Health.model_validate_json(r.content)
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise StackError(f"mitmdump did not become ready in {timeout:.0f}s; log:\n{tail(self.log)}")

    def control(self, method: str, path: str, json: Any = None, timeout: float | None = None) -> httpx.Response:
        """Talk to the addon: plain HTTP to a reserved host, through mitmdump itself."""
        if self._client is None:
            self._client = httpx.Client(trust_env=False, proxy=self.proxy_url)
        return self._client.request(method, f"http://{CONTROL_HOST}{path}", json=json,
                                    timeout=self.control_timeout if timeout is None else timeout)

    # ------------------------------------------------------------ the recorder's cells
    def _cell_control(self, path: str, json: Any) -> httpx.Response:
        try:
            return self.control("POST", path, json=json)
        except httpx.HTTPError as exc:
            raise StackError(f"the recorder did not answer {path}: {type(exc).__name__}: {exc}") from None

    def begin_cell(self, cell_id: str, claude_code: str, provenance: dict[str, Any], chunking: str = "coalesced",
                   native: bool = False, credentials: CredentialChoice = DEFAULT_CHOICE,
                   root: Path | None = None) -> None:
        """Select the cell tier in the recorder; its cassette is in Claude Code `claude_code`'s
        tree (`native`: what is recorded is its native reference; `credentials`: the modes
        LiteLLM's deployments were set up with, each request is held to its provider's;
        `root`: the cassette directory it is replayed from, default this mitmdump's)."""
        begin = BeginCell(cell=cell_id, claude_code=claude_code, provenance=provenance, chunking=chunking,  # type: ignore[arg-type]
                          native=native, credentials=credentials.encode(),
                          root=str(root) if root is not None else None)
        r = self._cell_control("/cell/begin", begin.model_dump(mode="json"))
        if r.status_code != 200:
            raise StackError(f"recorder refused cell {cell_id}: {r.text}")

    def end_cell(self) -> CellEnd:
        r = self._cell_control("/cell/end", {})
        if r.status_code != 200:
            raise StackError(f"recorder failed to end the cell: {r.text}")
        try:
            return CellEnd.model_validate_json(r.content)
        except ValidationError as exc:
            raise StackError(f"the recorder's /cell/end answer does not fit the protocol: {exc}") from None

    def close_control(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def stop(self, timeout: float = 8.0) -> None:
        self.close_control()
        if self.process is not None:
            self.process.stop(timeout)

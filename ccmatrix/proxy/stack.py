"""The running parts of a ccmatrix session: mitmdump with the recorder addon, and the
real LiteLLM proxy behind it, each a subprocess on loopback.

    with Stack.start(mode="replay", cassettes=dir, litellm_env=env) as stack:
        stack.begin_cell(cell_tier, provenance); ...client requests via stack.http...; stack.end_cell()

Both processes run in their own process group and are stopped on exit, on
Ctrl-C and on failure. LiteLLM gets a clean environment: only what it needs,
so a developer's real cloud credentials never reach a replay.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from ccmatrix import catalog
from ccmatrix.cassette import RecordedVerdict
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials, live_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.mitmdump import Mitmdump, ca_bundle, ensure_mitm_ca
from ccmatrix.proxy.process import Process, StackError, free_port
from ccmatrix.recorder.protocol import BeginCell, CellEnd, Upstream, WriteCell, Written


def proxied_environment(workdir: Path, mitmdump: Mitmdump, credentials: dict[str, str]) -> dict[str, str]:
    """LiteLLM's environment with mitmdump as its HTTPS proxy, trusting mitmproxy's CA."""
    proxy = mitmdump.proxy_url
    bundle = ca_bundle(workdir / "ca-bundle.pem", ensure_mitm_ca())
    env = base_environment(workdir / "home")
    env.update({
        "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle),
    })
    env.update(credentials)
    return env


@dataclass
class Stack:
    mode: Upstream
    cassettes: Path
    litellm_env: LiteLLMEnv
    workdir: Path
    mitmdump: Mitmdump
    litellm: LiteLLMProxy | None = None
    proxy_config: litellm_config.ProxyConfig | None = None
    # how long each part took to start, in seconds ("mitmdump", "litellm")
    start_seconds: dict[str, float] = field(default_factory=dict)
    _http: httpx.Client | None = None
    _exit: ExitStack = field(default_factory=ExitStack)

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def start(
        cls,
        mode: Upstream,
        cassettes: Path,
        litellm_env: LiteLLMEnv,
        providers: list[catalog.Provider] | None = None,
        workdir: Path | None = None,
        startup_timeout: float = 90.0,
        credentials: dict[str, str] | None = None,
        proxy_config: litellm_config.ProxyConfig | None = None,
    ) -> "Stack":
        """`credentials`: None for throwaway ones offline and the environment's live.
        `proxy_config`: LiteLLM's config (default: ccmatrix's, with the live harness's settings)."""
        proxy_config = proxy_config or litellm_config.default_config(providers)
        exit_stack = ExitStack()
        if workdir is None:
            workdir = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="ccmatrix-")))
        litellm_port = free_port()  # known up front: mitmdump's client leg forwards to it
        mitmdump = Mitmdump(mode, cassettes, log=workdir / "mitmdump.log", client_target=f"http://127.0.0.1:{litellm_port}")
        stack = cls(mode, cassettes, litellm_env, workdir, mitmdump, _exit=exit_stack)
        try:
            t0 = time.perf_counter()
            mitmdump.start(startup_timeout)
            stack.start_seconds["mitmdump"] = time.perf_counter() - t0
            if credentials is None:
                credentials = live_credentials() if mode == "live" else fake_credentials(workdir)
            config = litellm_config.write_config(workdir / "litellm-config.yaml", proxy_config)
            stack.proxy_config = proxy_config
            environ = proxied_environment(workdir, mitmdump, credentials)
            if mode != "live":
                # a user's config may read credentials under other names: throwaway ones for those too
                for name in proxy_config.env_names():
                    environ.setdefault(name, f"ccmatrix-placeholder-{name.lower()}")
            stack.litellm = LiteLLMProxy(litellm_env, config, environ, workdir, port=litellm_port)
            t0 = time.perf_counter()
            stack.litellm.start(startup_timeout)
            stack.start_seconds["litellm"] = time.perf_counter() - t0
        except BaseException:
            stack.stop()
            raise
        return stack

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.litellm is not None:
            self.litellm.stop()
        self.mitmdump.stop()
        self._exit.close()

    @property
    def processes(self) -> list[Process]:
        return [part.process for part in (self.mitmdump, self.litellm) if part is not None and part.process]

    # ------------------------------------------------------------ use
    @property
    def litellm_url(self) -> str:
        assert self.litellm is not None
        return self.litellm.url

    def litellm_log_tail(self) -> str:
        return self.litellm.log_tail() if self.litellm is not None else "(LiteLLM not started)"

    @property
    def client_url(self) -> str:
        """Where clients reach LiteLLM: through mitmdump's client leg, which records
        what they send and what LiteLLM answers."""
        return self.mitmdump.client_url

    @property
    def http(self) -> httpx.Client:
        """A client for the LiteLLM proxy (through the client leg), with its key.

        One pooled client, made once: building an httpx.Client loads the CA store
        (~30 ms), which per request cost more than the requests themselves."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.client_url, timeout=120, trust_env=False,
                                      headers={"authorization": f"Bearer {litellm_config.MASTER_KEY}"})
        return self._http

    def begin_cell(self, cell: catalog.CellTier, provenance: dict[str, Any], chunking: str = "coalesced") -> None:
        begin = BeginCell(cell=cell.id, provenance=provenance, chunking=chunking)  # type: ignore[arg-type]
        r = self.mitmdump.control("POST", "/cell/begin", json=begin.model_dump(mode="json"))
        if r.status_code != 200:
            raise StackError(f"recorder refused cell {cell.id}: {r.text}")

    def end_cell(self) -> CellEnd:
        r = self.mitmdump.control("POST", "/cell/end", json={})
        if r.status_code != 200:
            raise StackError(f"recorder failed to end the cell: {r.text}")
        try:
            return CellEnd.model_validate_json(r.content)
        except ValidationError as exc:
            raise StackError(f"the recorder's /cell/end answer does not fit the protocol: {exc}") from None

    @property
    def config_label(self) -> str:
        return self.proxy_config.label if self.proxy_config else litellm_config.DEFAULT_LABEL

    def write_cell(self, verdict: RecordedVerdict, provenance: dict[str, Any] | None = None) -> Path:
        write = WriteCell(verdict=verdict, provenance=provenance or {})
        r = self.mitmdump.control("POST", "/cell/write", json=write.model_dump(mode="json"))
        if r.status_code != 200:
            raise StackError(f"recorder failed to write the cassette: {r.text}")
        return Path(Written.model_validate_json(r.content).cassette)

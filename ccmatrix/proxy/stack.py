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
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ccmatrix import catalog
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials, live_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.mitmdump import Mitmdump, ca_bundle, ensure_mitm_ca
from ccmatrix.proxy.process import Process, free_port, stop_all, tail
from ccmatrix.recorder.exchanges import CellEnd
from ccmatrix.recorder.mode import Upstream


def proxied_environment(workdir: Path, mitmdump: Mitmdump, credentials: dict[str, str]) -> dict[str, str]:
    """LiteLLM's environment with mitmdump as its HTTPS proxy, trusting mitmproxy's CA."""
    proxy = mitmdump.proxy_url
    bundle = ca_bundle(workdir / "ca-bundle.pem", ensure_mitm_ca())
    env = base_environment(workdir / "home")
    env.update({
        "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        # botocore (STS for an assumed role) reads its own variable, not requests'
        "SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle), "AWS_CA_BUNDLE": str(bundle),
    })
    env.update(credentials)
    return env


@dataclass
class Timeouts:
    """Every wait a run makes is bounded; these are the bounds, in seconds."""

    start: float = 90.0  # each process until it answers
    request: float = 120.0  # each client request to LiteLLM (a CLI run has its row's own timeout)
    control: float = 30.0  # each call to the recorder addon
    health: float = 3.0  # the liveness probe after something went wrong
    stop: float = 8.0  # SIGTERM to SIGKILL, per process


@dataclass
class Stack:
    mode: Upstream
    cassettes: Path
    litellm_env: LiteLLMEnv
    workdir: Path
    mitmdump: Mitmdump
    litellm: LiteLLMProxy | None = None
    proxy_config: litellm_config.ProxyConfig | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    # how long each part took to start, in seconds ("mitmdump", "litellm")
    start_seconds: dict[str, float] = field(default_factory=dict)
    restarts: int = 0
    # the mitmdump is the caller's (SharedMitmdumps): only LiteLLM is started and stopped here
    shared_mitmdump: bool = False
    # each provider's credential mode: LiteLLM's deployments and environment, and what the
    # recorder holds each upstream request to
    credential_choice: CredentialChoice = DEFAULT_CHOICE
    _credentials: dict[str, str] = field(default_factory=dict)
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
        credentials: dict[str, str] | None = None,
        proxy_config: litellm_config.ProxyConfig | None = None,
        timeouts: Timeouts | None = None,
        mitmdump: Mitmdump | None = None,
        credential_choice: CredentialChoice = DEFAULT_CHOICE,
    ) -> "Stack":
        """`credentials`: None for throwaway ones offline and the environment's live, of the
        modes `credential_choice` names (default: the live harness's).
        `proxy_config`: LiteLLM's config (default: ccmatrix's, with the live harness's settings).
        `mitmdump`: a launched one to put LiteLLM behind (SharedMitmdumps), kept running at stop."""
        mode = Upstream(mode)  # a caller may name it ("replay")
        exit_stack = ExitStack()
        if workdir is None:
            workdir = Path(exit_stack.enter_context(tempfile.TemporaryDirectory(prefix="ccmatrix-")))
        if credentials is None:
            # only the run's providers': another provider's variable could change how LiteLLM
            # authenticates these (AWS_BEARER_TOKEN_BEDROCK, credentials.conflict)
            credentials = live_credentials(choice=credential_choice, among=providers) if not mode.holds_credentials \
                else fake_credentials(workdir, choice=credential_choice, among=providers)
        stack = cls(mode, cassettes, litellm_env, workdir, mitmdump=mitmdump,  # type: ignore[arg-type]
                    proxy_config=proxy_config or litellm_config.default_config(providers, credential_choice),
                    timeouts=timeouts or Timeouts(), shared_mitmdump=mitmdump is not None,
                    credential_choice=credential_choice, _credentials=credentials, _exit=exit_stack)
        try:
            stack._launch()
        except BaseException:
            stack.stop()
            raise
        return stack

    def _launch(self) -> None:
        """Start mitmdump and LiteLLM behind it, on fresh ports, side by side: LiteLLM only
        needs mitmdump's port to start (it sends nothing upstream until a request), and
        its import (~9 s) dwarfs mitmdump's start (~1.3 s), which is so hidden."""
        assert self.proxy_config is not None
        if self.shared_mitmdump:
            # the port its client leg forwards to, which each LiteLLM behind it takes in turn
            litellm_port = self.mitmdump.client_target_port
        else:
            litellm_port = free_port()  # known up front: mitmdump's client leg forwards to it
            self.mitmdump = Mitmdump(self.mode, self.cassettes, log=self.workdir / "mitmdump.log",
                                     client_target=f"http://127.0.0.1:{litellm_port}",
                                     control_timeout=self.timeouts.control)
        config = litellm_config.write_config(self.workdir / "litellm-config.yaml", self.proxy_config)
        environ = proxied_environment(self.workdir, self.mitmdump, self._credentials)
        if self.mode.holds_credentials:
            # a user's config may read credentials under other names: throwaway ones for those too
            for name in self.proxy_config.env_names():
                environ.setdefault(name, f"ccmatrix-placeholder-{name.lower()}")
        self.litellm = LiteLLMProxy(self.litellm_env, config, environ, self.workdir, port=litellm_port)
        t0 = time.perf_counter()
        if not self.shared_mitmdump:
            self.mitmdump.launch()
        self.litellm.launch()
        self.mitmdump.wait_ready(self.timeouts.start)
        self.start_seconds["mitmdump"] = time.perf_counter() - t0
        self.litellm.wait_ready(self.timeouts.start)
        self.start_seconds["litellm"] = time.perf_counter() - t0

    def restart(self) -> None:
        """Both processes stopped (a hung one killed) and started again, as at the start;
        the logs of the previous pair are kept beside the new ones (`*.log.<n>`).
        Raises StackError when they do not start again."""
        self._stop_processes()
        self.restarts += 1
        for log in (self.workdir / "mitmdump.log", self.workdir / "litellm.log"):
            if log.exists():
                log.rename(log.with_name(f"{log.name}.{self.restarts}"))
        self._launch()

    def faults(self, probe: bool = False) -> list[str]:
        """What is wrong with the running parts, one entry per part: a process that exited
        (its code and log tail), or with `probe`, one that no longer answers within
        `timeouts.health` (hung). Empty when both are fine."""
        found = []
        for name, part in (("mitmdump", self.mitmdump), ("LiteLLM", self.litellm)):
            process = part.process if part is not None else None
            if process is not None and process.popen.poll() is not None:
                found.append(f"{name} exited with code {process.popen.returncode}; "
                             f"{name} log tail:\n{tail(process.log, 15)}")
        if found or not probe:
            return found
        try:
            self.mitmdump.control("GET", "/health", timeout=self.timeouts.health)
        except httpx.HTTPError:
            found.append(f"mitmdump stopped answering (no /health answer in {self.timeouts.health:.0f}s); "
                         f"mitmdump log tail:\n{tail(self.mitmdump.log, 15)}")
        if self.litellm is not None:
            try:
                httpx.get(f"{self.litellm.url}/health/liveliness", timeout=self.timeouts.health, trust_env=False)
            except httpx.HTTPError:
                found.append(f"LiteLLM stopped answering (no /health/liveliness answer in "
                             f"{self.timeouts.health:.0f}s); LiteLLM log tail:\n{self.litellm.log_tail(15)}")
        return found

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _stop_processes(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.mitmdump is not None and not self.shared_mitmdump:
            self.mitmdump.close_control()
        stop_all([p for p in self.processes if not (self.shared_mitmdump and p is self.mitmdump.process)],
                 self.timeouts.stop)

    def stop(self) -> None:
        self._stop_processes()
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
            self._http = httpx.Client(base_url=self.client_url, timeout=self.timeouts.request, trust_env=False,
                                      headers={"authorization": f"Bearer {litellm_config.MASTER_KEY}"})
        return self._http

    def begin_cell(self, cell: catalog.CellTier, claude_code: str, provenance: dict[str, Any],
                   chunking: str = "coalesced", root: Path | None = None) -> None:
        """Select the cell tier in the recorder; its cassette is in Claude Code `claude_code`'s tree
        (in `root`, default the stack's cassettes)."""
        self.mitmdump.begin_cell(cell.id, claude_code, provenance, chunking, credentials=self.credential_choice,
                                 root=root)

    def end_cell(self) -> CellEnd:
        return self.mitmdump.end_cell()

    @property
    def config_label(self) -> str:
        return self.proxy_config.label if self.proxy_config else litellm_config.DEFAULT_LABEL


class SharedMitmdumps:
    """One mitmdump per thread, launched on its first use and put in front of every
    LiteLLM that thread starts (`Stack.start(mitmdump=...)`), for a command that starts
    many stacks in turn (bisect's probes): mitmdump's start, ~2 s of a core, is paid once
    per job instead of once per candidate. Each has its own LiteLLM port, which the
    LiteLLM of each stack behind it takes in turn; one that died is replaced."""

    def __init__(self, mode: Upstream, cassettes: Path, timeouts: Timeouts | None = None) -> None:
        self.mode, self.cassettes, self.timeouts = mode, cassettes, timeouts or Timeouts()
        self._local = threading.local()
        self._started: list[Mitmdump] = []
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="ccmatrix-mitmdump-")

    def get(self) -> Mitmdump:
        mitmdump: Mitmdump | None = getattr(self._local, "mitmdump", None)
        if mitmdump is None or mitmdump.process is None or mitmdump.process.popen.poll() is not None:
            with self._lock:
                log = Path(self._dir.name) / f"mitmdump-{len(self._started)}.log"
                mitmdump = Mitmdump(self.mode, self.cassettes, log=log, client_target=f"http://127.0.0.1:{free_port()}",
                                    control_timeout=self.timeouts.control)
                self._started.append(mitmdump)
            mitmdump.launch()  # not waited for: the stack waits, while its LiteLLM imports
            self._local.mitmdump = mitmdump
        return mitmdump

    def close(self) -> None:
        for mitmdump in self._started:
            mitmdump.close_control()
        stop_all([m.process for m in self._started if m.process is not None], self.timeouts.stop)
        self._dir.cleanup()

    def __enter__(self) -> "SharedMitmdumps":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

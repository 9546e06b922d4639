"""The real LiteLLM proxy as a subprocess: its command, its environment, its readiness.

    proxy = LiteLLMProxy(env, config, environ, workdir)
    proxy.start(timeout=90)   # until /health/liveliness answers
    proxy.url; proxy.stop()

The Stack gives it mitmdump as its HTTPS proxy; the bench's floor runs the same
part pointed straight at a loopback server.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ccmatrix.proxy import litellm_fork
from ccmatrix.proxy.litellm_config import MASTER_KEY
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.process import Process, StackError, free_port, spawn, tail

POLL_INTERVAL = 0.2  # seconds between /health/liveliness probes while it starts


SITE_DIR = Path(__file__).parent / "litellm_site"


def base_environment(home: Path) -> dict[str, str]:
    """What every LiteLLM process gets, proxied or not: nothing from the caller's
    environment (no real cloud credential reaches a replay), nothing fetched from
    the internet at start or on the first request."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOG": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(SITE_DIR),  # its sitecustomize: fewer collections during the long import
    }


@dataclass
class LiteLLMProxy:
    env: LiteLLMEnv
    config: Path
    environ: dict[str, str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / "litellm.log"

    def command(self) -> list[str]:
        cli = self.env.python.parent / "litellm"
        base = [str(cli)] if cli.exists() else [str(self.env.python), "-m", "litellm.proxy.proxy_cli"]
        return base + ["--config", str(self.config), "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, timeout: float = 90.0) -> None:
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Spawn it without waiting (mitmdump can start beside it)."""
        environ = dict(self.environ)
        if self.env.overlay is not None:
            # a source tree: its packages before the release environment's (litellm_source.overlay)
            environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(self.env.overlay), environ.get("PYTHONPATH")) if p)
        child = None
        if self.env.tree is None:  # a release's environment: many starts of it (a source tree's, one each)
            # the import under what every LiteLLM process gets: the stack's own variables come after it
            base = {name: environ[name] for name in base_environment(self.workdir / "home") if name in environ}
            child = litellm_fork.fork(self.env.python, base, self.command(), environ, self.log, self.workdir)
        if child is not None:
            self.process = Process("litellm", child, self.log)
        else:
            self.process = spawn("litellm", self.command(), environ, self.log, cwd=self.workdir)

    def wait_ready(self, timeout: float = 90.0) -> None:
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        with httpx.Client(trust_env=False, timeout=2) as probe:
            while time.monotonic() < deadline:
                self.process.check_alive()
                try:
                    if probe.get(f"{self.url}/health/liveliness").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(POLL_INTERVAL)
        raise StackError(f"LiteLLM did not answer /health/liveliness in {timeout:.0f}s; log:\n{tail(self.log)}")

    def log_tail(self, lines: int = 25) -> str:
        return tail(self.log, lines)

    def stop(self, timeout: float = 8.0) -> None:
        if self.process is not None:
            self.process.stop(timeout)

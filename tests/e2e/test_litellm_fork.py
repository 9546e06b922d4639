"""The suite's LiteLLM fork server (ccmatrix/proxy/litellm_fork.py): a forked proxy is a
proxy like a spawned one (it serves the config, it is signalled, reaped and reported
the same way), and nothing it forked outlives its caller or the server.

The rest of the suite runs on forked proxies (tests/conftest.py); whether verdicts are
the same either way is a comparison of `ccmatrix run`'s JSON, in docs/architecture.md.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ccmatrix.proxy import litellm_config, litellm_fork
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_fork import ForkedChild, ForkServer

pytestmark = pytest.mark.proxy


def _proxy(litellm_env, work: Path) -> LiteLLMProxy:
    config = litellm_config.write_config(work / "config.yaml", litellm_config.default_config())
    return LiteLLMProxy(litellm_env, config, {**base_environment(work / "home"), **fake_credentials(work)}, work)


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_a_forked_proxy_serves_its_config_and_reports_a_kill_as_a_spawned_one_does(litellm_env, tmp_path):
    proxy = _proxy(litellm_env, tmp_path)
    proxy.start()
    try:
        assert isinstance(proxy.process.popen, ForkedChild)  # the suite's fork server took it
        models = httpx.get(f"{proxy.url}/v1/models", timeout=10, trust_env=False,
                           headers={"authorization": f"Bearer {litellm_config.MASTER_KEY}"}).json()["data"]
        assert {m["id"] for m in models} == set(litellm_config.default_config().model_names)
        assert proxy.process.popen.poll() is None
        os.killpg(proxy.process.pid, signal.SIGKILL)
        assert proxy.process.popen.wait(10) == -9
        with pytest.raises(Exception, match="litellm exited with code -9"):
            proxy.process.check_alive()
    finally:
        proxy.stop()


def test_a_stopped_proxy_ends_with_sigterm_and_its_output_is_in_its_log(litellm_env, tmp_path):
    proxy = _proxy(litellm_env, tmp_path)
    proxy.start()
    proxy.stop()
    assert proxy.process.popen.returncode in (0, -15)  # uvicorn's own shutdown, or the signal
    assert "claude-opus-4-7-azure" in proxy.log.read_text()  # LiteLLM lists the models it loaded


CALLER = """
import sys
from pathlib import Path
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_env import resolve
work = Path(sys.argv[1])
config = litellm_config.write_config(work / "config.yaml", litellm_config.default_config())
proxy = LiteLLMProxy(resolve(None), config, {**base_environment(work / "home"), **fake_credentials(work)}, work)
proxy.start()
print(type(proxy.process.popen).__name__, proxy.process.pid, flush=True)
sys.stdin.read()  # until killed
"""


def test_a_caller_that_dies_takes_its_forked_proxy_with_it(tmp_path):
    caller = subprocess.Popen([sys.executable, "-c", CALLER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        kind, pid = caller.stdout.readline().split()
        assert kind == "ForkedChild"
        caller.kill()
        caller.wait(10)
        assert _gone(int(pid)), "the forked LiteLLM outlived the process that started it"
    finally:
        caller.kill()


def test_closing_the_fork_server_ends_what_it_forked(litellm_env, tmp_path, monkeypatch):
    with ForkServer.serving():
        proxy = _proxy(litellm_env, tmp_path)
        proxy.start()
        assert isinstance(proxy.process.popen, ForkedChild)
        pid = proxy.process.pid
    assert _gone(pid)
    assert proxy.process.popen.poll() == -9


@pytest.mark.parametrize("server", ["unset", "gone"])
def test_without_a_fork_server_litellm_is_spawned(litellm_env, tmp_path, monkeypatch, server):
    if server == "unset":
        monkeypatch.delenv(litellm_fork.VARIABLE)
    else:  # the variable names a server that has ended
        monkeypatch.setenv(litellm_fork.VARIABLE, str(tmp_path / "no-such-socket"))
    proxy = _proxy(litellm_env, tmp_path)
    proxy.launch()
    try:
        assert isinstance(proxy.process.popen, subprocess.Popen)
    finally:
        proxy.stop()

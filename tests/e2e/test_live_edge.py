"""Live mode up to the network edge, without a network.

`ccmatrix record --upstream live` runs in a network namespace of its own that has
only a loopback interface: LiteLLM, mitmdump and the recorder behave exactly as
in a nightly run, and the request leaves ccmatrix for the real provider host,
where the missing network stops it. No packet can reach the internet from there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.proxy.credentials import LIVE_VARIABLES
from ccmatrix.proxy.litellm_fork import spawned_litellm

pytestmark = pytest.mark.proxy
CELL = "basic_messaging_non_streaming/anthropic/haiku"


def _isolated(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    if not shutil.which("unshare"):
        pytest.fail("unshare (util-linux) is needed to run live mode without a network")
    script = "ip link set lo up && exec " + " ".join(f"'{c}'" for c in cmd)
    # LiteLLM started inside the namespace: one the suite's fork server forked would be outside it
    return subprocess.run(["unshare", "-rn", "sh", "-c", script], env=spawned_litellm(env), capture_output=True,
                          text=True, timeout=300)


def test_live_record_forwards_to_the_real_host(cassette_copy, litellm_env):
    env = {**os.environ, "COLUMNS": "200"}
    env.update({v: f"ccmatrix-fake-{v.lower()}" for v in LIVE_VARIABLES})
    env["AZURE_AI_API_BASE"] = "https://ccmatrix-foundry.services.ai.azure.com/anthropic"
    feature, provider, tier = CELL.split("/")
    proc = _isolated([sys.executable, "-m", "ccmatrix", "record", "--upstream", "live", "-f", feature, "-p", provider,
                      "-t", tier, "--cassettes", str(cassette_copy)], env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    written = json.loads(catalog.CellTier.parse(CELL).cassette_path(cassette_copy, CLAUDE_CODE_VERSION).read_text())
    assert written["provenance"]["source"] == "live"
    assert written["verdict"]["status"] == "fail"
    # mitmproxy tried the real provider: the failure is at the network edge, naming it
    assert "upstream error: POST https://api.anthropic.com/v1/messages" in written["verdict"]["error"]
    assert written["interactions"] == []  # nothing came back, nothing recorded


def test_live_record_needs_every_credential():
    env = {k: v for k, v in os.environ.items() if k not in LIVE_VARIABLES}
    proc = subprocess.run([sys.executable, "-m", "ccmatrix", "record", "--upstream", "live"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    for variable in LIVE_VARIABLES:
        assert variable in proc.stderr

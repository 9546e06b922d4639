"""`ccmatrix capture-native`: the real Claude Code CLI talks to a provider itself (no
LiteLLM), through mitmdump against the emulator, and what it sent is kept as the
tier's native reference, redacted, answers reduced to their status. Loopback only:
mitmdump refuses every host that is not the cell's provider (the CLI's telemetry)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.verdict.native import judge_native, main_request

pytestmark = [pytest.mark.proxy, pytest.mark.claude_cli]
CELLS = ("thinking/vertex_ai/sonnet", "thinking/bedrock_invoke/sonnet", "thinking/azure/sonnet")


def test_capture_native_keeps_what_claude_code_sends_each_provider_itself(tmp_path):
    root = tmp_path / "cassettes"
    run = subprocess.run([sys.executable, "-m", "ccmatrix", "capture-native", "-f", "thinking", "-t", "sonnet",
                          "--cassettes", str(root)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "captured 3 native reference(s)" in run.stdout and "(0 where the CLI itself failed)" in run.stdout
    bundled = catalog.DEFAULT_CASSETTE_DIR
    for cell_id in CELLS:
        cell = catalog.CellTier.parse(cell_id)
        reference = load(cell.native_path(root, CLAUDE_CODE_VERSION), root)
        assert reference.provenance.claude_code_version == CLAUDE_CODE_VERSION and reference.verdict.status == "pass"
        assert all(i.response.body is None and i.response.stream is None for i in reference.interactions)
        requests = [i.request for i in reference.interactions]
        assert all(cell.provider.owns_host(r.url.split("/")[2]) for r in requests), [r.url for r in requests]
        main = main_request(requests, cell.model_id)
        body = main.body.value()
        assert body["output_config"]["effort"] == "max"  # what --effort max asks, sent natively
        secrets = [v for k, v in main.headers.items() if k in ("authorization", "x-api-key")]
        assert secrets and all("<redacted>" in v for v in secrets), main.headers
        # the bundled default LiteLLM's recording of the same tier holds up against it
        recorded = load(cell.cassette_path(bundled, CLAUDE_CODE_VERSION), bundled)
        held = judge_native(cell, requests, recorded.client, [i.request for i in recorded.interactions])
        assert held is not None and held.failures == [], held
    # Vertex gets no `model` in the body: it is in the URL
    vertex = load(catalog.CellTier.parse(CELLS[0]).native_path(root, CLAUDE_CODE_VERSION), root)
    assert "model" not in main_request([i.request for i in vertex.interactions], "claude-sonnet-4-6").body.value()

"""The pull-request gate on LiteLLM's own layout, offline: a small repository whose
first commit is the default release's tree laid out as LiteLLM's repository is
(tests/e2e/litellm_repo.py: maturin, a Rust crate, a uv workspace it lacks), and a
second commit that drops `output_config` in the Bedrock Invoke messages
transformation, as a pull request might. `ccmatrix gate` names exactly the tiers
that commit broke, lists what its base already failed as pre-existing, and reads in
a minute (a short summary.md, a short terminal, an HTML page without hovering).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION
from tests.e2e.litellm_repo import OFFLINE, build_repo

pytestmark = pytest.mark.proxy
# Bedrock Invoke's messages transformation (anthropic_claude3_transformation.py up to
# 1.108, anthropic_claude_transformation.py from 1.110): the module that ends with this
TRANSFORMATIONS = Path("litellm/llms/bedrock/messages/invoke_transformations")
END_OF_TRANSFORM = ("        anthropic_messages_request = self._strip_unsupported_bedrock_invoke_fields("
                    "anthropic_messages_request)\n\n        return anthropic_messages_request\n")
# one stack per side: a second would only split these few cells (the suite runs on 2 cores)
SELECTION = ("-p", "bedrock_invoke", "-p", "vertex_ai", "--jobs", "1")


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("litellm-gate") / "litellm"
    build_repo(path, [DEFAULT_LITELLM_VERSION])
    found = [f for f in sorted((path / TRANSFORMATIONS).glob("*.py")) if END_OF_TRANSFORM in f.read_text()]
    assert len(found) == 1, "the release's Bedrock Invoke transformation ends otherwise: update the test"
    source = found[0]
    text = source.read_text()
    source.write_text(text.replace(END_OF_TRANSFORM, END_OF_TRANSFORM.replace(
        "\n        return", "\n        anthropic_messages_request.pop(\"output_config\", None)\n        return")))
    # a Rust change too: the gate names it as not covered (the bridge is the release's)
    (path / "litellm-rust" / "crates" / "python-bridge" / "lib.rs").write_text("// a change to the bridge\n")
    git = ["git", "-C", str(path), "-c", "user.name=ccmatrix", "-c", "user.email=ccmatrix@example.invalid"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "Drop output_config on Bedrock Invoke"], check=True)
    return path


def _ccmatrix(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ccmatrix", *args], capture_output=True, text=True, timeout=900,
                          env={**os.environ, **OFFLINE, "COLUMNS": "80"})


def test_the_gate_names_exactly_the_tiers_a_commit_breaks(repo, tmp_path):
    out = tmp_path / "out"
    proc = _ccmatrix("gate", "--base", f"{repo}@main~1", "--head", f"{repo}@main", *SELECTION, "--out", str(out))
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    verdict = json.loads((out / "ccmatrix-gate.json").read_text())
    regressed = sorted(f"{t['feature']}/{t['provider']}/{t['tier']}" for t in verdict["tiers"]
                       if t["outcome"] == "regressed")
    assert regressed == ["thinking/bedrock_invoke/opus", "thinking/bedrock_invoke/sonnet",
                         "thinking_with_tool_use/bedrock_invoke/opus", "thinking_with_tool_use/bedrock_invoke/sonnet"]
    for t in verdict["tiers"]:
        if t["outcome"] == "regressed":
            assert [d["path"] for d in t["lost"]] == ["body.output_config.effort"], t
    assert "body.output_config.effort missing" in proc.stdout
    assert "litellm/llms/bedrock/messages/invoke_transformations/" in proc.stdout  # where to look
    assert "not covered: the Rust crate: 1 file(s) under litellm-rust/ changed" in proc.stdout
    # read in a minute: a short terminal at 80 columns, a job summary that fits
    assert len(proc.stdout.splitlines()) <= 120, proc.stdout
    summary = (out / "summary.md").read_text()
    assert len(summary.splitlines()) <= 300 and "body.output_config.effort" in summary
    assert "thinking x bedrock_invoke" in summary
    page = (out / "gate.html").read_text()
    assert "What failed and why" in page and "thinking/bedrock_invoke/sonnet" in page
    for run in ("base", "head"):
        assert (out / run / "compatibility-matrix.json").exists()


def test_a_head_that_is_its_base_is_replayed_once_and_passes(repo, tmp_path):
    """Base = head: one replay for both; the base's result is reused when its tree did
    not change (the test above replayed it)."""
    proc = _ccmatrix("gate", "--base", f"{repo}@main~1", "--head", f"{repo}@main~1", *SELECTION,
                     "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "(result reused: tree unchanged)" in proc.stdout
    assert proc.stderr.count("replaying ") == 0  # neither replayed again
    assert "0 regressed" not in proc.stdout and "regressed" not in proc.stdout.split("gate: ")[1].splitlines()[0]


def test_what_the_base_already_fails_is_pre_existing_not_a_regression(tmp_path):
    """1.83.14 loses output_config.effort on Bedrock Invoke and Vertex: as base and head,
    those tiers are listed as pre-existing and the gate passes."""
    proc = _ccmatrix("gate", "--base", "1.83.14", "--head", "1.83.14", "-f", "thinking", *SELECTION,
                     "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "pre-existing (fail on the base too, not blocking): thinking x bedrock_invoke, thinking x vertex_ai" \
        in " ".join(proc.stdout.split())
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Pre-existing" in summary and "no regression" in summary

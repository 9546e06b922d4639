"""The model case: LiteLLM 1.83.14 strips `output_config.effort` from Bedrock Invoke
and Vertex AI requests, so Claude Code's `--effort` silently loses its effect.
Replay must turn those thinking cells red, naming the field, and keep them green
on the project's default LiteLLM, with either client (the recorded client leg sent
again, or the pinned Claude Code CLI itself).
"""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.proxy.litellm_env import resolve
from ccmatrix.run import runner

pytestmark = pytest.mark.proxy
REGRESSED_RELEASE = "1.83.14"
AFFECTED = ("bedrock_invoke", "vertex_ai")


def _thinking(litellm, client: str = "captured") -> dict:
    cells = catalog.select(features=["thinking"], providers=AFFECTED)
    result = runner.execute(cells, mode="replay", litellm=litellm, client=client)
    row = next(r for r in result.rows if r.id == "thinking")
    return {p: row.cells[p] for p in AFFECTED}


@pytest.mark.parametrize("client", ["captured", pytest.param("cli", marks=pytest.mark.claude_cli)])
def test_litellm_1_83_14_loses_effort_on_invoke_and_vertex(client):
    cells = _thinking(resolve(REGRESSED_RELEASE), client)
    for provider, cell in cells.items():
        assert cell.status == "fail", provider
        assert cell.regressed, provider  # recorded pass -> fail: exit 3 for `ccmatrix run`
        assert "body.output_config.effort missing" in cell.error, cell.error
        by_tier = {t.tier: t for t in cell.tiers}
        # Haiku sends no effort (thinking with a budget): nothing to lose there
        assert by_tier["haiku"].status == "pass"
        for tier in ("sonnet", "opus"):
            [diff] = [d for d in by_tier[tier].diffs if d.load_bearing]
            assert (diff.path, diff.kind) == ("body.output_config.effort", "missing")


@pytest.mark.parametrize("client", ["captured", pytest.param("cli", marks=pytest.mark.claude_cli)])
def test_default_litellm_keeps_effort(litellm_env, client):
    for provider, cell in _thinking(litellm_env, client).items():
        assert cell.status == "pass", (provider, cell.error)

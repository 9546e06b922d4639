"""The model case: LiteLLM 1.83.14 strips `output_config.effort` from Bedrock Invoke
and Vertex AI requests, so Claude Code's `--effort` silently loses its effect.
Replay must turn those thinking cells red, naming the field, and keep them green
on the project's default LiteLLM, with either client (the recorded client leg sent
again, or the pinned Claude Code CLI itself) and with each bundled Claude Code release's
requests.
"""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS, CLAUDE_CODE_VERSION
from ccmatrix.proxy.litellm_env import resolve
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions

pytestmark = pytest.mark.proxy
REGRESSED_RELEASE = "1.83.14"
AFFECTED = ("bedrock_invoke", "vertex_ai")


@pytest.fixture(scope="module")
def regressed_stack():
    """1.83.14 behind one mitmdump, for every client and release below."""
    from ccmatrix.proxy.stack import Stack
    from ccmatrix.recorder.mode import Upstream

    with Stack.start(Upstream.REPLAY, catalog.DEFAULT_CASSETTE_DIR, resolve(REGRESSED_RELEASE)) as stack:
        yield stack


def _thinking(stack, client: str = "captured", claude_code: str | None = None) -> dict:
    cells = catalog.select(features=["thinking"], providers=AFFECTED)
    result = runner.execute(cells, stack.litellm_env, RunOptions(client=client, claude_code=claude_code), stack=stack)
    assert result.claude_code_version == (claude_code or CLAUDE_CODE_VERSION)
    row = next(r for r in result.rows if r.id == "thinking")
    return {p: row.cells[p] for p in AFFECTED}


EFFORT_LOST = ("body.output_config.effort", "missing")
# the JSON schema the recording LiteLLM (1.108.7) moved into the user message of 2.1.228's
# session-title request on Bedrock Invoke's Opus 4.7, and 1.83.14 does not
TITLE_SCHEMA_LOST = [("body.messages[0].content[1].text", "missing"), ("body.messages[0].content[1].type", "missing")]


def _expected_losses(claude_code: str | None, provider: str, tier: str) -> list[tuple[str, str]]:
    """The load-bearing losses of a thinking tier on 1.83.14: the effort of Claude Code's
    turn; with 2.1.228, also its session-title request's, which goes to the cell's own
    deployment with effort 'high' (docs/red-cells.md, "Per Claude Code release")."""
    if claude_code != "2.1.228":
        return [EFFORT_LOST]
    return [EFFORT_LOST] * 2 + (TITLE_SCHEMA_LOST if (provider, tier) == ("bedrock_invoke", "opus") else [])


# every bundled release's captured requests, and the default release's CLI
CLIENTS = [*(pytest.param("captured", r, id=f"captured-{r}") for r in BUNDLED_VERSIONS),
           pytest.param("cli", None, id="cli", marks=pytest.mark.claude_cli)]


@pytest.mark.parametrize("client,claude_code", CLIENTS)
def test_litellm_1_83_14_loses_effort_on_invoke_and_vertex(regressed_stack, client, claude_code):
    cells = _thinking(regressed_stack, client, claude_code)
    for provider, cell in cells.items():
        assert cell.status == "fail", provider
        assert cell.regressed, provider  # recorded pass -> fail: exit 3 for `ccmatrix run`
        assert "body.output_config.effort missing" in cell.error, cell.error
        by_tier = {t.tier: t for t in cell.tiers}
        # Haiku sends no effort (thinking with a budget): nothing to lose there
        assert by_tier["haiku"].status == "pass"
        for tier in ("sonnet", "opus"):
            lost = sorted((d.path, d.kind) for d in by_tier[tier].diffs if d.load_bearing)
            assert lost == sorted(_expected_losses(claude_code, provider, tier)), (provider, tier, lost)


@pytest.mark.parametrize("client,claude_code", CLIENTS)
def test_default_litellm_keeps_effort(replay_stack, client, claude_code):
    for provider, cell in _thinking(replay_stack, client, claude_code).items():
        assert cell.status == "pass", (provider, cell.error)

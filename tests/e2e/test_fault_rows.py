"""The fault rows, replayed offline through the real LiteLLM: the provider fails on
purpose (the recorded fault), then recovers (the recorded retry). What LiteLLM hands
Claude Code is held to what the native API gives it (docs/faults.md), with either
client: the recorded client leg sent again, or the pinned Claude Code CLI, which must
retry past the fault and finish the conversation.
"""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.client import driver
from ccmatrix.run import cell as cell_run
from ccmatrix.run import runner
from ccmatrix.run.runner import RunOptions

pytestmark = pytest.mark.proxy
FAULT_ROWS = [f.id for f in catalog.FAULT_FEATURES]
# What the default LiteLLM gets wrong, measured on the emulator (docs/faults.md): it drops
# the retry-after of a first-party 429. (1.108.7 also closed a cut Converse stream with
# message_stop, a truncated answer taken as complete; 1.110.2 ends it with an error event
# and Claude Code retries: tests/unit/test_faults.py keeps the truncation rule.)
RETRY_AFTER_DROPPED = {("fault_rate_limited", "anthropic"), ("fault_rate_limited", "azure")}
TRUNCATED: set[tuple[str, str]] = set()
# ... and keeps its upstream Bedrock Invoke stream open after Claude Code gave up on a stall
LEFT_OPEN = {("fault_stream_stall", "bedrock_invoke")}
# The captured client gives up on a stalled stream as the CLI does, at the CLI's 10 s floor
# (tests/unit/test_faults.py). Here it gives up after 3 s: what follows (LiteLLM's retry
# answered, its upstream stream closed or left open) is the same, and the stall row's 15
# tiers wait 45 s instead of 150 s.
STALL_WATCHDOG_SECONDS = 3.0


@pytest.fixture
def quicker_stall_watchdog(monkeypatch: pytest.MonkeyPatch) -> None:
    def watchdog(cli_env):  # type: ignore[no-untyped-def]
        return STALL_WATCHDOG_SECONDS if driver.stream_idle_timeout(cli_env) else None

    monkeypatch.setattr(cell_run, "stream_idle_timeout", watchdog)


def test_fault_rows_replay_with_their_recorded_verdicts(litellm_env, replay_stack, quicker_stall_watchdog):
    result = runner.execute(catalog.select(features=FAULT_ROWS), litellm_env, stack=replay_stack)
    assert [row.id for row in result.rows if any(c.status != "not_tested" for c in row.cells.values())] == []
    assert [row.id for row in result.fault_rows] == FAULT_ROWS
    for row in result.fault_rows:
        for provider, cell in row.cells.items():
            for tier in cell.tiers:
                assert tier.status == tier.recorded_status, (tier.feature, provider, tier.tier, tier.error)
            if (row.id, provider) in RETRY_AFTER_DROPPED:
                assert cell.status == "fail" and "without the provider's retry-after (1)" in cell.error, cell.error
            elif (row.id, provider) in TRUNCATED:
                assert cell.status == "fail" and "a truncated answer taken as complete" in cell.error, cell.error
            else:
                assert cell.status == "pass", (row.id, provider, cell.error)
            left_open = [t for t in cell.tiers if any(f.kind == "upstream-left-open" for f in t.findings)]
            assert len(left_open) == (3 if (row.id, provider) in LEFT_OPEN else 0), (row.id, provider)
    overloaded = next(r for r in result.fault_rows if r.id == "fault_overloaded").cells["anthropic"].tiers[0]
    # 1.108.7 turned Anthropic's 529 overloaded_error into a 500 api_error (a fault-mapping
    # finding); 1.110.2 passes the 529 through as the API sends it
    assert not [f for f in overloaded.findings if f.kind == "fault-mapping"], overloaded.findings


@pytest.mark.claude_cli
def test_the_cli_retries_past_each_fault_and_finishes(litellm_env, replay_stack):
    cells = [catalog.CellTier.parse(f"{row}/bedrock_invoke/haiku") for row in FAULT_ROWS]  # every fault clears
    cells.append(catalog.CellTier.parse("fault_rate_limited/anthropic/haiku"))
    result = runner.execute(cells, litellm_env, RunOptions(client="cli"), stack=replay_stack)
    tiers = {(t.feature, t.provider): t for c in result.cells() for t in c.tiers}
    # the stall row needs a CLI that gets past a stall in seconds: not 2.1.126's (its watchdog waits
    # 300 s at least) nor 2.1.228's (it ends the run when its watchdog fires)
    for release in ("2.1.126", "2.1.228"):
        older = runner.execute([catalog.CellTier.parse("fault_stream_stall/bedrock_invoke/haiku")], litellm_env,
                               RunOptions(client="cli", claude_code=release), stack=replay_stack)
        [stall] = [t for c in older.cells() for t in c.tiers]
        assert stall.status == "not_tested" and "needs Claude Code 2.1.332 or newer" in stall.reason, release
    for (feature, provider), tier in tiers.items():
        assert tier.client == "cli"
        if (feature, provider) in RETRY_AFTER_DROPPED:
            # the CLI finished on its own backoff; the verdict is the dropped retry-after alone
            assert tier.status == "fail" and "Claude Code stops" not in tier.error and \
                "claude returned empty assistant text" not in tier.error, tier.error
        else:
            assert tier.status == "pass", (feature, provider, tier.error)

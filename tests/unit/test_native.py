"""The native reference: LiteLLM's upstream request held to what Claude Code sends the
provider itself. The blind spot it closes is a field the recording release of LiteLLM
already dropped: such a cassette matches its own replay, so only the native comparison
can turn the cell red. The broken recordings here are derived in code from recorded
ones (a load-bearing field or beta stripped from LiteLLM's upstream requests)."""

from __future__ import annotations

import copy

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import Body, load
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.recorder.exchanges import CellEnd, ClientLegExchange, ReplayedExchange
from ccmatrix.recorder.match import match
from ccmatrix.run.runner import RunOptions, plan
from ccmatrix.verdict.judge import judge
from ccmatrix.verdict.native import judge_native, main_request, view

ROOT = catalog.DEFAULT_CASSETTE_DIR


def _recorded(cell_id: str):
    cell = catalog.CellTier.parse(cell_id)
    return cell, load(cell.cassette_path(ROOT, CLAUDE_CODE_VERSION), ROOT)


def _native(cell) -> list:
    return plan([cell], RunOptions(root=ROOT)).native[cell.id]


def _strip(cassette, strip):
    """The cassette as a LiteLLM that dropped the field would have recorded it."""
    broken = copy.deepcopy(cassette)
    for interaction in broken.interactions:
        body = interaction.request.body.value() if interaction.request.body else None
        if isinstance(body, dict):
            strip(body, interaction.request.headers)
            interaction.request.body = Body(json_=body)
    return broken


def _replayed(cell, cassette) -> CellEnd:
    """What the recorder reports when LiteLLM sends exactly what the cassette recorded:
    every request served by its own recording."""
    exchanges = []
    for n, interaction in enumerate(cassette.interactions):
        found = match(cassette.interactions, interaction.request, cell.feature.load_bearing(cell.provider))
        assert found.index == n and found.error is None and not [d for d in found.diffs if d.load_bearing]
        exchanges.append(ReplayedExchange(request=interaction.request, auth=False, served=n, closest=n,
                                          diffs=found.diffs, mismatch=None))
    client = [ClientLegExchange(request=r) for r in cassette.client]
    return CellEnd(cell=cell.id, exchanges=exchanges, client=client)


def _passing(cassette) -> ClientOutcome:
    """Claude Code finished with what these rows need (an answer, a thinking block)."""
    return ClientOutcome(client="captured", text="ok",
                         blocks=[{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "ok"}])


def _drop_effort(body, headers):
    for fields in (body, body.get("additionalModelRequestFields") or {}):  # Messages, Converse
        (fields.get("output_config") or {}).pop("effort", None)


def _drop_1m(body, headers):
    headers["anthropic-beta"] = ",".join(b for b in headers.get("anthropic-beta", "").split(",")
                                         if b != "context-1m-2025-08-07")
    if isinstance(body.get("anthropic_beta"), list):
        body["anthropic_beta"] = [b for b in body["anthropic_beta"] if b != "context-1m-2025-08-07"]


@pytest.mark.parametrize("cell_id,strip,field", [
    ("thinking/vertex_ai/sonnet", _drop_effort, "body.output_config.effort"),
    ("thinking/bedrock_invoke/opus", _drop_effort, "body.output_config.effort"),
    ("thinking/bedrock_converse/sonnet", _drop_effort, "body.output_config.effort"),  # Invoke's reference, mapped
    ("long_context_1m/vertex_ai/sonnet", _drop_1m, "beta.context-1m-2025-08-07"),
    ("long_context_1m/bedrock_invoke/sonnet", _drop_1m, "beta.context-1m-2025-08-07"),
    ("thinking/anthropic/sonnet", _drop_effort, "body.output_config.effort"),  # the client leg is the reference
])
def test_a_field_the_recording_already_lost_is_red_by_the_native_reference(cell_id, strip, field):
    cell, recorded = _recorded(cell_id)
    native = _native(cell) if cell.provider.native_reference != "client" else None
    broken = _strip(recorded, strip)
    end = _replayed(cell, broken)  # the broken request matches its (broken) recording
    if native is not None:  # (the first-party API's reference is the client leg: always there)
        blind = judge(cell, _passing(broken), end, broken)
        assert blind.status == "pass", blind.error  # the recording alone cannot see it
    held = judge(cell, _passing(broken), end, broken, native=native)
    assert held.status == "fail"
    assert f"native reference: Claude Code sends {field}=" in held.error and "LiteLLM sent none" in held.error
    # the intact recording is not red by the same comparison
    intact = judge(cell, _passing(recorded), _replayed(cell, recorded), recorded, native=native)
    assert intact.status == "pass", intact.error


def test_the_comparison_reads_betas_wherever_they_sit_and_tools_by_name():
    cell, recorded = _recorded("thinking/bedrock_invoke/sonnet")
    request = main_request([i.request for i in recorded.interactions], cell.model_id)
    seen = view(request)
    # Bedrock Invoke carries betas in the body; a header beta is read the same way
    assert "beta.effort-2025-11-24" in seen and not any(p.startswith("body.anthropic_beta") for p in seen)
    assert any(p.startswith("body.tools.Bash.") for p in seen)
    # only the conversation's request counts: a one-token quota check is not it
    assert main_request([i.request for i in recorded.interactions], "no-such-model") is None


def test_what_claude_code_sends_only_natively_is_no_loss_of_litellm_s():
    cell, recorded = _recorded("thinking/bedrock_invoke/sonnet")
    native = copy.deepcopy(_native(cell))
    reference = main_request(native, cell.model_id)
    reference.headers["anthropic-beta"] += ",only-native-2099-01-01"
    held = judge_native(cell, native, recorded.client, [i.request for i in recorded.interactions])
    assert held is not None and not held.failures
    assert not any("only-native-2099-01-01" in finding.message for finding in held.findings)

"""The verdict's policy on a request the provider refused (a contract rule): it fails
the tier when Claude Code did not get past it, and is a finding when Claude Code
finished with the row's criteria met (the live run would pass the cell). The requests
are the ones recorded: 2.1.332's WebSearch request on Bedrock Converse, which LiteLLM
1.108.7 sends with `tool_choice` inside `inferenceConfig`."""

from __future__ import annotations

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.recorder.protocol import CellEnd, ContractNote, RecordedExchange
from ccmatrix.verdict.judge import judge

CELL = catalog.CellTier.parse("web_search/bedrock_converse/haiku")
RELEASE = "2.1.332"


def _end() -> tuple[CellEnd, str]:
    """The cell's recorded upstream traffic as the recorder reports it, the refused
    request carrying the contract's note."""
    cassette = load(CELL.cassette_path(catalog.DEFAULT_CASSETTE_DIR, RELEASE), catalog.DEFAULT_CASSETTE_DIR)
    exchanges, refused = [], None
    for interaction in cassette.interactions:
        violation = None
        if interaction.response.status == 400:
            refused = interaction.response.body.value()["message"]
            violation = ContractNote(rule="bedrock_converse.request-schema", message=refused)
        exchanges.append(RecordedExchange(request=interaction.request, auth=False, chunks=None,
                                          response=interaction.response, violation=violation))
    assert refused is not None and "tool_choice" in refused
    return CellEnd(cell=CELL.id, exchanges=exchanges, client=[]), refused


def test_a_refused_side_request_claude_code_got_past_is_a_finding():
    end, refused = _end()
    finished = ClientOutcome(client="cli", text="Here is what I found.",
                             blocks=[{"type": "tool_use", "name": "WebSearch", "input": {"query": "q"}}])
    result = judge(CELL, finished, end, None)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "provider-refused"]
    assert finding.severity == "high" and refused in finding.message and "got past" in finding.message


def test_a_refused_request_fails_the_tier_when_claude_code_did_not_get_past_it():
    end, refused = _end()
    no_search = ClientOutcome(client="cli", text="I could not search.")  # the row's criterion unmet
    result = judge(CELL, no_search, end, None)
    assert result.status == "fail" and result.error.startswith(f"contract bedrock_converse.request-schema: {refused}")
    stopped = ClientOutcome(client="cli", failure=f"Claude Code stops: API Error: {refused}")
    result = judge(CELL, stopped, end, None)
    assert result.status == "fail" and result.error == f"contract bedrock_converse.request-schema: {refused}"
    assert not [f for f in result.findings if f.kind == "provider-refused"]


def test_a_lost_field_on_claude_codes_session_title_request_is_a_finding_not_a_failure():
    """2.1.228 sends its session-title request on the cell's model beside the first turn:
    LiteLLM 1.83.14 drops the title's JSON schema on Bedrock Invoke, a side request Claude
    Code does not wait for (the live run passes the cell); the same loss on a main turn fails it."""
    from ccmatrix.client.driver import session_title
    from ccmatrix.recorder.protocol import ClientLegExchange, ReplayedExchange

    cell = catalog.CellTier.parse("tool_use/bedrock_invoke/opus")
    cassette = load(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, "2.1.228"), catalog.DEFAULT_CASSETTE_DIR)
    client = [ClientLegExchange(request=r) for r in cassette.client]
    assert [r for r in cassette.client if session_title(r.body.value())], "2.1.228 sends its title request"
    lost = "ccmatrix replay: no recorded request matches; load-bearing differences: body.messages[0].content[1] missing"

    def end(mismatched: int) -> CellEnd:
        exchanges = [ReplayedExchange(request=i.request, auth=False, served=None if n == mismatched else n,
                                      closest=n, diffs=[], mismatch=lost if n == mismatched else None)
                     for n, i in enumerate(cassette.interactions)]
        return CellEnd(cell=cell.id, exchanges=exchanges, client=client)

    upstream_title = next(n for n, i in enumerate(cassette.interactions)
                          if "title" in str(i.request.body.value()).lower() and not i.request.body.value().get("tools"))
    finished = ClientOutcome(client="captured", text="pong", blocks=[{"type": "tool_use", "name": "Bash",
                                                                       "input": {"command": "echo pong"}}])
    result = judge(cell, finished, end(upstream_title), None)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "side-request-lost"]
    assert lost in finding.message and "session-title" in finding.message
    main = next(n for n in range(len(cassette.interactions)) if n != upstream_title)
    result = judge(cell, finished, end(main), None)
    assert result.status == "fail" and lost in result.error

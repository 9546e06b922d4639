"""The verdict's typed failures, and its rules one at a time (test_verdict_rules.py runs
them together on every recorded tier).

First, the verdict's policy on a request the provider refused (a contract rule): it
fails the tier when Claude Code did not get past it, and is a finding when Claude Code
finished with the row's criteria met (the live run would pass the cell). The requests
are the ones recorded: 2.1.332's WebSearch request on Bedrock Converse, which LiteLLM
1.108.7 sends with `tool_choice` inside `inferenceConfig`."""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import RecordedRequest, RecordedResponse, load
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.recorder.exchanges import CellEnd, ContractNote, FailedExchange, RecordedExchange, RefusedExchange
from ccmatrix.verdict import judge as rules
from ccmatrix.verdict.judge import judge
from ccmatrix.verdict.results import Failure, Finding, TierResult, failure_lines, render_error

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
    from ccmatrix.recorder.exchanges import ClientLegExchange, ReplayedExchange

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


# ---------------------------------------------------------------- the typed failures and their text



@pytest.mark.parametrize("failure, text", [
    (Failure(kind="upstream-refused", message="POST https://x.example/v1"), "upstream refused: POST https://x.example/v1"),
    (Failure(kind="upstream-error", message="POST https://x/v1: Connection killed."),
     "upstream error: POST https://x/v1: Connection killed."),
    (Failure(kind="contract-refused", message="extraneous key [x]", field="bedrock_invoke.top-level-fields"),
     "contract bedrock_invoke.top-level-fields: extraneous key [x]"),
    (Failure(kind="replay-mismatch", message="ccmatrix replay: no recorded request", field="body.system[1]"),
     "ccmatrix replay: no recorded request"),
    (Failure(kind="side-request-lost", message="ccmatrix replay: no recorded request"),
     "ccmatrix replay: no recorded request"),
    (Failure(kind="native-lost", message="Claude Code sends a=1 natively to P; LiteLLM sent none", field="a"),
     "native reference: Claude Code sends a=1 natively to P; LiteLLM sent none"),
    (Failure(kind="client-failed", message="claude CLI failed: exit=1"), "claude CLI failed: exit=1"),
    (Failure(kind="criteria-unmet", message="claude returned empty assistant text", field="assistant_text"),
     "claude returned empty assistant text"),
    (Failure(kind="fault", message="LiteLLM answered 429 x"), "LiteLLM answered 429 x"),
    (Failure(kind="strict-findings", message="a: b; c: d"), "findings (--strict): a: b; c: d"),
    (Failure(kind="strict-drift", message="body.x missing"), "drift (--strict): body.x missing"),
    (Failure(kind="strict-changed", message="new turn: u"), "changed (--strict): new turn: u"),
    (Failure(kind="run-error", message="LiteLLM exited with code -9\nKilled"), "LiteLLM exited with code -9\nKilled"),
    (Failure(kind="chunking", message="mid-char", field="chunking:mid-char"), "under chunking mid-char"),
])
def test_each_failure_reads_as_the_error_has_always_read(failure, text):
    assert failure.describe() == text


def test_the_error_is_the_failures_texts_once_each_a_chunking_leading_the_first():
    a, b = Failure(kind="client-failed", message="a"), Failure(kind="fault", message="b")
    assert render_error([]) is None
    assert render_error([a, b, a]) == "a | b"
    chunking = Failure(kind="chunking", message="events", field="chunking:events")
    assert failure_lines([chunking, a, b]) == ["under chunking events: a", "b"]
    assert render_error([chunking]) == "under chunking events: failed"


def _tier(**kw) -> TierResult:  # type: ignore[no-untyped-def]
    return TierResult(feature="thinking", provider="anthropic", tier="haiku", model_alias="claude-haiku-4-5", **kw)


def test_a_verdict_s_error_and_failed_checks_come_from_its_failures():
    unmet = Failure(kind="criteria-unmet", message="no `thinking` content block observed", field="thinking_block")
    mismatch = Failure(kind="replay-mismatch", message="ccmatrix replay: x", field="body.thinking")
    result = _tier(status="fail", failures=[mismatch, unmet])
    assert result.error == "ccmatrix replay: x | no `thinking` content block observed"
    assert result.failed_checks == ["thinking_block"]  # the criterion's name, not its words
    assert result.failure_texts() == ["ccmatrix replay: x", "no `thinking` content block observed"]
    back = TierResult.model_validate_json(result.model_dump_json())
    assert (back.error, back.failed_checks, back.failures) == (result.error, result.failed_checks, result.failures)
    # a verdict read from a file written before failures were typed keeps its text
    legacy = _tier(status="fail", error="x | y", failed_checks=["claude returned empty assistant text"])
    assert (legacy.failures, legacy.failure_texts(), legacy.failed_checks) == \
        ([], ["x | y"], ["claude returned empty assistant text"])


def test_a_verdict_under_a_chunking_names_it_first():
    unmet = Failure(kind="criteria-unmet", message="bad UTF-8", field="stream_events")
    result = _tier(status="fail", failures=[unmet])
    result.under_chunking("mid-char")
    assert result.error == "under chunking mid-char: bad UTF-8"
    assert result.failed_checks == ["chunking:mid-char", "stream_events"]
    assert result.failure_texts() == ["under chunking mid-char: bad UTF-8"]
    assert [f.kind for f in result.failures] == ["chunking", "criteria-unmet"]
    untyped = _tier(status="fail")
    untyped.under_chunking("events")
    assert (untyped.error, untyped.failed_checks) == ("under chunking events: failed", ["chunking:events"])


def test_a_run_error_is_a_failure_of_its_own_kind():
    cell = catalog.CellTier.parse("thinking/anthropic/haiku")
    result = TierResult.run_error(cell, "LiteLLM exited with code -9; log tail:\nKilled")
    assert result.status == "error" and result.error == "LiteLLM exited with code -9; log tail:\nKilled"
    assert [f.kind for f in result.failures] == ["run-error"] and result.failed_checks == []


# ---------------------------------------------------------------- the rules, one at a time


def _request(url: str = "https://api.anthropic.com/v1/messages") -> RecordedRequest:
    return RecordedRequest(method="POST", url=url)


def test_a_request_that_never_reached_a_provider_fails():
    assert rules.upstream_broke(RefusedExchange(refused="POST https://x.example/")) == \
        Failure(kind="upstream-refused", message="POST https://x.example/")
    assert rules.upstream_broke(FailedExchange(error="POST https://x/: killed")).kind == "upstream-error"
    assert rules.upstream_broke(RecordedExchange(request=_request(), auth=False, chunks=None,
                                                 response=RecordedResponse(status=200))) is None


def test_a_contract_refusal_is_typed_and_a_live_provider_that_took_the_request_disagrees():
    note = ContractNote(rule="anthropic.top-level-fields", message="x: Extra inputs are not permitted",
                        evidence=["https://docs.claude.com/"])
    replayed = rules.ReplayedExchange(request=_request(), auth=False, served=0, closest=0, diffs=[], mismatch=None,
                                      violation=note)
    assert rules.contract_refusal(replayed) == Failure(kind="contract-refused", message=note.message,
                                                       field=note.rule, evidence=note.evidence)
    assert rules.contract_findings(replayed) == []
    took = RecordedExchange(request=_request(), auth=False, chunks=None, response=RecordedResponse(status=200),
                            violation=note, warnings=[ContractNote(rule="w", message="thin", action="warn")])
    assert rules.contract_refusal(took) is None
    assert [(f.kind, f.severity) for f in rules.contract_findings(took)] == \
        [("contract-warning", "warning"), ("contract-disagrees", "high")]
    refused = took.model_copy(update={"response": RecordedResponse(status=400), "warnings": []})
    assert rules.contract_refusal(refused).field == note.rule and rules.contract_findings(refused) == []


def test_a_mismatch_names_the_load_bearing_field_it_lost():
    lost = FieldDiff(path="body.thinking", kind="missing", recorded={"type": "adaptive"}, load_bearing=True)
    drift = FieldDiff(path="body.metadata", kind="missing", recorded={}, load_bearing=False)
    u = rules.UpstreamExchange("https://x/v1/messages", None, "ccmatrix replay: no match", [drift, lost], None)
    assert rules.mismatch_failure(u, side_request=False) == \
        Failure(kind="replay-mismatch", message="ccmatrix replay: no match", field="body.thinking")
    assert rules.mismatch_failure(u, side_request=True).kind == "side-request-lost"
    assert rules.load_bearing_changed(u) is None  # nothing answered it
    changed = FieldDiff(path="body.max_tokens", kind="changed", recorded=1234, observed=32000, load_bearing=True)
    served = rules.UpstreamExchange("https://x/v1/messages", 0, None, [changed], None)
    finding = rules.load_bearing_changed(served)
    assert finding.severity == "high" and finding.message.startswith("/v1/messages: body.max_tokens changed")


@pytest.mark.parametrize("client_failure, earlier, said_again", [
    ("Claude Code stops: API Error: 400 ccmatrix replay: no recorded request ...",
     [Failure(kind="replay-mismatch", message="ccmatrix replay: no recorded request in a.json")], True),
    # the replay's answer, with nothing the verdict has to say it again
    ("Claude Code stops: API Error: 400 ccmatrix replay: no recorded request ...", [], False),
    ("Claude Code stops: API Error: 400 x: Extra inputs are not permitted",
     [Failure(kind="contract-refused", message="x: Extra inputs are not permitted", field="r")], True),
    ("Claude Code stops: API Error: 400 " + "m" * 80 + " (cut)",
     [Failure(kind="contract-refused", message="m" * 80 + " and more the client was not shown", field="r")], True),
    ("claude CLI failed: exit=1; (no diagnostic output)",
     [Failure(kind="upstream-refused", message="POST https://x.example/")], False),
])
def test_claude_code_s_failure_is_said_once_when_it_repeats_the_verdict_s(client_failure, earlier, said_again):
    assert rules.says_again(client_failure, earlier) is said_again


def _traffic(**outcome) -> rules.TierTraffic:  # type: ignore[no-untyped-def]
    return rules.TierTraffic(CELL, ClientOutcome(client="cli", **outcome), CellEnd(cell=CELL.id, exchanges=[]))


def test_refusals_and_lost_side_requests_fail_only_when_claude_code_did_not_get_past_them():
    refusal = Failure(kind="contract-refused", message="m", field="r")
    lost = Failure(kind="side-request-lost", message="ccmatrix replay: x")
    past = _traffic(text="ok", blocks=[{"type": "tool_use", "name": "WebSearch"}])
    verdict = rules.Verdict(refused=[refusal], side_lost=[lost])
    rules.side_requests_rule(past, verdict)
    assert verdict.failures == [] and [f.kind for f in verdict.findings] == ["provider-refused", "side-request-lost"]
    stopped = rules.Verdict(failures=[Failure(kind="client-failed", message="c")], refused=[refusal], side_lost=[lost])
    rules.side_requests_rule(_traffic(failure="c"), stopped)
    assert [f.kind for f in stopped.failures] == ["contract-refused", "client-failed", "side-request-lost"]


def test_strict_fails_a_tier_nothing_else_fails_on_its_findings_drift_and_changes():
    drift = FieldDiff(path="body.x", kind="missing", recorded=1)
    findings = [Finding(kind=f"k{n}", message=str(n)) for n in range(7)]
    strict = rules.TierTraffic(CELL, ClientOutcome(client="cli"), CellEnd(cell=CELL.id, exchanges=[]), strict=True)
    verdict = rules.Verdict(findings=findings, diffs=[drift])
    rules.strict_rule(strict, verdict)
    assert [f.describe() for f in verdict.failures] == ["findings (--strict): k0: 0; k1: 1; k2: 2; k3: 3; k4: 4",
                                                        "drift (--strict): body.x missing (recorded 1)"]
    red = rules.Verdict(failures=[Failure(kind="fault", message="f")], findings=findings)
    rules.strict_rule(strict, red)
    assert [f.kind for f in red.failures] == ["fault"]  # a red tier says why it is red, not what strict adds
    lenient = rules.Verdict(findings=findings)
    rules.strict_rule(_traffic(), lenient)
    assert lenient.failures == []

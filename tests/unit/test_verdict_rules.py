"""The verdict's rules (ccmatrix/verdict/judge.py) in-process, on recorded traffic.

Every case starts from a recorded cassette of the default Claude Code release, replayed
as the recorder replays it: each request LiteLLM sent (as recorded) matched against the
recording by recorder/match.py and held to its provider's contract, and the client's
outcome read from the recorded answers (what the recorded pass says Claude Code had).
Then one thing changes in code (the recording, what LiteLLM sent, what the client ended
with) and the case checks what the verdict says. tests/e2e/test_replay.py runs a few of
the same changes through a real LiteLLM; here they run on every recorded tier.

The mutation checks at the end take each rule out of judge.RULES in turn and show a
case whose verdict then changes: every rule is load-bearing for these tests.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Callable
from urllib.parse import urlsplit

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import Body, Cassette, RecordedRequest, RecordedResponse, load
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.driver import main_turn, session_title
from ccmatrix.client.inputs import PDF_MARKER
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.client.probes import ProbeResult
from ccmatrix.providers.contract import ProviderRequest
from ccmatrix.recorder.exchanges import (
    CellEnd,
    ClientLegExchange,
    ContractNote,
    FailedExchange,
    RecordedExchange,
    RefusedExchange,
    ReplayedExchange,
)
from ccmatrix.recorder.match import match, view
from ccmatrix.verdict import judge as judge_module
from ccmatrix.verdict.criteria import CRITERIA
from ccmatrix.verdict.judge import judge, provider_of_url
from ccmatrix.verdict.results import TierResult
from ccmatrix.wire.sse import encode_sse_event

ROOT = catalog.DEFAULT_CASSETTE_DIR
TITLE_RELEASE = "2.1.228"  # the release that sends its session-title request on the cell's own model
LOST = "ccmatrix: a system block the proxy no longer sends"


# ---------------------------------------------------------------- recorded traffic, as the recorder reports it


def _recorded_tiers(release: str) -> list[catalog.CellTier]:
    return [cell for cell in (catalog.CellTier(f, p, t) for f in catalog.FEATURES + catalog.FAULT_FEATURES
                              for p in catalog.PROVIDERS for t in catalog.TIERS)
            if cell.feature.implemented and not cell.not_applicable_reason
            and cell.cassette_path(ROOT, release).exists()]


@lru_cache(maxsize=None)
def _cassette(cell_id: str, release: str = CLAUDE_CODE_VERSION) -> Cassette:
    cell = catalog.CellTier.parse(cell_id)
    return load(cell.cassette_path(ROOT, release), ROOT)


def recorded(cell: catalog.CellTier, release: str = CLAUDE_CODE_VERSION) -> Cassette:
    """The tier's cassette, its recorded requests copies of their own to change (the
    answers are shared: no case changes them)."""
    cassette = _cassette(cell.id, release)
    return cassette.model_copy(update={"interactions": [
        i.model_copy(update={"request": i.request.model_copy(deep=True)}) for i in cassette.interactions]})


@lru_cache(maxsize=None)
def native_reference(cell_id: str, release: str = CLAUDE_CODE_VERSION) -> tuple[RecordedRequest, ...] | None:
    """The native reference the run would judge the tier with (run/plan.py's choice)."""
    cell = catalog.CellTier.parse(cell_id)
    source = cell.provider.native_reference
    if source == "client" or cell.feature.cli is None:
        return None
    path = cell.native_path(ROOT, release, None if source == "capture" else catalog.provider(source))
    return tuple(i.request for i in load(path, ROOT).interactions) if path.exists() else None


def contract_notes(request: RecordedRequest, cell: catalog.CellTier) -> tuple[ContractNote | None, list[ContractNote]]:
    """What the provider's contract makes of a request (the recorder's provider gate)."""
    provider = provider_of_url(request.url, cell.provider) or cell.provider
    body = request.body.value() if request.body is not None else None
    verdict = provider.check(ProviderRequest.of(request.method, request.url, None, request.headers, body))

    def note(v):  # type: ignore[no-untyped-def]
        return ContractNote(rule=v.rule.id, message=v.message, evidence=list(v.rule.evidence), action=v.rule.action)

    return (note(verdict.rejected) if verdict.rejected else None), [note(w) for w in verdict.warnings]


def replayed(cell: catalog.CellTier, cassette: Cassette, sent: list[RecordedRequest] | None = None) -> CellEnd:
    """What the recorder reports when LiteLLM sends `sent` (by default what was recorded)
    in a replay of `cassette` (recorder/addons/replay.py): each request matched, held to
    the contract, answered by its recording, refused, or `changed`."""
    interactions = cassette.interactions
    sent = [i.request for i in interactions] if sent is None else sent
    bearing = cell.feature.load_bearing(cell.provider)
    views = [view(i.request) for i in interactions]  # as the replay addon keeps them
    exchanges, used = [], set()
    for request in sent:
        found = match(interactions, request, bearing, views=views, used=used)
        violation, warnings = contract_notes(request, cell)
        changed = None
        if violation is None and found.index is None and (
                found.route_recordings == 0 or found.new_conversation or found.new_turn):
            changed = ("new route" if found.route_recordings == 0
                       else "new conversation" if found.new_conversation else "new turn")
        if found.index is not None:
            used.add(found.index)
        exchanges.append(ReplayedExchange(
            request=request, auth=False, served=found.index, closest=found.closest, diffs=found.diffs,
            mismatch=None if violation or changed else found.error, changed=changed, violation=violation,
            warnings=warnings))
    return CellEnd(cell=cell.id, exchanges=exchanges, client=[ClientLegExchange(request=r) for r in cassette.client])


def replayed_again(cell: catalog.CellTier, cassette: Cassette, end: CellEnd,
                   sent: list[RecordedRequest] | None = None) -> CellEnd:
    """The same traffic (LiteLLM's requests, or `sent`; the client's leg) replayed against `cassette`."""
    again = replayed(cell, cassette, [e.request for e in end.exchanges] if sent is None else sent)
    again.client = end.client
    return again


def refusals(end: CellEnd) -> list[str]:
    """The contract refusals already in the traffic (a recorded one: 2.1.332's WebSearch
    request on Bedrock Converse), as the error reads them when they fail the tier."""
    return list(dict.fromkeys(f"contract {e.violation.rule}: {e.violation.message}" for e in end.exchanges
                              if getattr(e, "violation", None) is not None))


# What the recorded pass vouches Claude Code had, for each criterion: what a provider's
# own format does not show (Converse's answers carry no Anthropic stream events; a
# probe's answer is LiteLLM's, not the provider's) is filled in from it.
_VOUCHED: dict[str, Callable[[ClientOutcome], None]] = {
    "assistant_text": lambda o: setattr(o, "text", o.text + " ok"),
    "stream_events": lambda o: setattr(o, "stream_events", max(o.stream_events, 2)),
    "tool_use_block": lambda o: o.blocks.append({"type": "tool_use", "name": "Bash", "input": {}}),
    "input_json_delta": lambda o: setattr(o, "input_json_deltas", max(o.input_json_deltas, 1)),
    "thinking_block": lambda o: o.blocks.append({"type": "thinking", "thinking": "..."}),
    "cache_tokens": lambda o: o.usage.update(cache_read_input_tokens=1),
    "pdf_marker": lambda o: setattr(o, "text", o.text + f" {PDF_MARKER}"),
    "websearch_tool_use": lambda o: o.blocks.append({"type": "tool_use", "name": "WebSearch", "input": {}}),
    "structured_output": lambda o: setattr(o, "structured_output", {"answer": 4}),
    "probe": lambda o: None,
}


def finished(cell: catalog.CellTier, cassette: Cassette) -> ClientOutcome:
    """What Claude Code ended with when the tier passed: the recorded answers, read as
    captured_outcome reads LiteLLM's (client/driver.py), the row's criteria met."""
    if cell.feature.probe is not None:
        return ClientOutcome(client="probe", probe=ProbeResult(cell.feature.probe, 200,
                                                               {"input_tokens": 12, "content": []}))
    outcome = ClientOutcome(client=cassette.provenance.client or "captured")
    for interaction in cassette.interactions:
        response, path = interaction.response, urlsplit(interaction.request.url).path
        provider = provider_of_url(interaction.request.url, cell.provider)
        if response.status != 200 or provider is None or "count" in path:
            continue
        message = provider.decode_response(path, response.headers.get("content-type", ""), response.content())
        outcome.blocks += message.content
        outcome.text += message.text
        outcome.usage = dict(message.raw_usage) or outcome.usage
        outcome.stream_events += message.event_count
        outcome.input_json_deltas += message.input_json_deltas
    for name in cell.feature.criteria:
        if CRITERIA[name](outcome) is not None:
            _VOUCHED[name](outcome)
    return outcome


def faithful_client_leg(cell: catalog.CellTier, cassette: Cassette) -> list[ClientLegExchange] | None:
    """A fault row's client leg as a proxy that relays the provider's answers as they are
    gives it (Claude Code's own turns, in order); None when the provider's answers are not
    in the client's format (Bedrock's event streams) or do not pair with the turns."""
    own = [r for r in cassette.client if main_turn(r.body.value() if r.body else None, cell.proxy_model)]
    answers = [i.response for i in cassette.interactions]
    if len(own) != len(answers) or any(a.stream is not None and a.stream.format != "sse" for a in answers):
        return None
    return [ClientLegExchange(request=r, response=a) for r, a in zip(own, answers)]


@lru_cache(maxsize=None)
def _traffic(cell_id: str) -> tuple[CellEnd, ClientOutcome] | None:
    """The tier replayed as recorded, and what its client ended with (None: a fault row
    whose client leg cannot be told from the recording)."""
    cell = catalog.CellTier.parse(cell_id)
    cassette = _cassette(cell_id)
    end = replayed(cell, cassette)
    if cell.feature.fault is not None:
        leg = faithful_client_leg(cell, cassette)
        if leg is None:
            return None
        end.client = leg
    return end, finished(cell, cassette)


def traffic(cell: catalog.CellTier) -> tuple[CellEnd, ClientOutcome]:
    found = _traffic(cell.id)
    assert found is not None, "a fault row answered in the provider's own format: not in ALL_TIERS"
    end, outcome = found
    # copies of what the cases change: the lists, each exchange's fields (not the requests' bodies)
    exchanges = [e.model_copy(update={"warnings": list(e.warnings)}) for e in end.exchanges]
    return end.model_copy(update={"exchanges": exchanges, "client": list(end.client)}), copy.deepcopy(outcome)


def judged(cell: catalog.CellTier, outcome: ClientOutcome, end: CellEnd, cassette: Cassette | None = None,
           strict: bool = False, native: bool = False) -> TierResult:
    """The verdict on the traffic; held to the tier's native reference too with `native`
    (the as-recorded cases and test_native.py do: it is the slow part of a verdict, and
    the other cases change nothing it reads)."""
    cassette = cassette if cassette is not None else _cassette(cell.id)
    reference = native_reference(cell.id) if native else None
    return judge(cell, outcome, end, cassette, strict, list(reference) if reference is not None else None)


def _body(request: RecordedRequest) -> Any:
    return request.body.value() if request.body is not None else None


def _change_bodies(cassette: Cassette, change: Callable[[dict], bool]) -> int:
    """Apply `change` to every recorded request body it takes (it says whether it did)."""
    changed = 0
    for interaction in cassette.interactions:
        body = _body(interaction.request)
        if isinstance(body, dict) and change(body):
            interaction.request.body = Body(json_=body)
            changed += 1
    return changed


def _one_tier_per_cell(tiers: list[catalog.CellTier]) -> list[catalog.CellTier]:
    """A cell's tiers differ by model only: the cases that change the traffic take one of
    each cell's, in turn haiku, sonnet, opus across the cells (every tier is judged as
    recorded below)."""
    by_cell: dict[str, list[catalog.CellTier]] = {}
    for cell in tiers:
        by_cell.setdefault(f"{cell.feature.id}/{cell.provider.id}", []).append(cell)
    return [cells[n % len(cells)] for n, cells in enumerate(by_cell.values())]


# the providers whose answers are in the client's own format (Anthropic Messages): a
# relay of them is what the client gets from a faithful proxy
RELAYED_AS_IS = ("anthropic", "vertex_ai", "azure")
# every recorded tier; of the fault rows, those whose client leg the recording tells
# (faithful_client_leg): the others' verdicts are tests/unit/test_faults.py's
ALL_TIERS = [c for c in _recorded_tiers(CLAUDE_CODE_VERSION)
             if c.feature.fault is None or c.provider.id in RELAYED_AS_IS]
TIERS = _one_tier_per_cell(ALL_TIERS)
NOT_FAULT_TIERS = [c for c in TIERS if c.feature.fault is None]
CLI_TIERS = [c for c in NOT_FAULT_TIERS if c.feature.cli is not None]
PROBE_TIERS = [c for c in TIERS if c.feature.probe is not None]
TITLE_TIERS = [c for c in _one_tier_per_cell(_recorded_tiers(TITLE_RELEASE))
               if c.feature.cli is not None and c.feature.fault is None]


def _id(cell: catalog.CellTier) -> str:
    return cell.id


# ---------------------------------------------------------------- as recorded


@pytest.mark.parametrize("cell", ALL_TIERS, ids=_id)
def test_a_recording_replayed_as_recorded_passes(cell):
    end, outcome = traffic(cell)
    result = judged(cell, outcome, end, native=True)
    assert result.status == "pass", result.error
    assert (result.failures, result.error, result.failed_checks, result.changes) == ([], None, [], [])
    assert not [f for f in result.findings if f.kind in ("request-not-sent", "load-bearing-changed")]


@pytest.mark.parametrize("cell", [c for c in ALL_TIERS if c.feature.fault is not None], ids=_id)
def test_a_fault_row_passes_when_the_proxy_relays_the_provider_s_failure_as_it_is(cell):
    """The recorded verdict was LiteLLM's (1.110.2 drops the first party's retry-after: red);
    the provider's own answers, relayed as they are, are what Claude Code handles."""
    end, outcome = traffic(cell)
    result = judged(cell, outcome, end)
    assert result.status == "pass", result.error
    assert not [f for f in result.findings if f.kind == "fault-not-reached"]


# ---------------------------------------------------------------- load-bearing fields


def _append_system_block(body: dict) -> bool:
    """The recording carries a system block the proxy's request now lacks (either dialect)."""
    if not isinstance(body.get("system"), list):
        return False
    converse = all("type" not in b for b in body["system"] if isinstance(b, dict))
    body["system"].append({"text": LOST} if converse else {"type": "text", "text": LOST})
    return True


def _lost_field_case(cell):  # type: ignore[no-untyped-def]
    cassette = recorded(cell)
    if not _change_bodies(cassette, _append_system_block):
        pytest.skip("no recorded request of this tier has a system list")
    end, outcome = traffic(cell)
    return cassette, replayed_again(cell, cassette, end), outcome


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_a_lost_load_bearing_field_turns_the_tier_red_naming_it(cell):
    cassette, end, outcome = _lost_field_case(cell)
    result = judged(cell, outcome, end, cassette)
    assert result.status == "fail" and result.regressed
    assert {f.kind for f in result.failures} == {"replay-mismatch"}
    assert all(f.field.startswith("body.system[") for f in result.failures)
    assert LOST in result.error and result.error.startswith("ccmatrix replay: no recorded request")
    assert ("missing", LOST) in [(d.kind, d.recorded) for d in result.diffs if d.load_bearing]
    assert judged(cell, outcome, end, cassette, strict=True).error == result.error  # strict adds nothing to a red tier


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_the_client_failure_a_mismatch_made_is_said_once(cell):
    """LiteLLM relays the mismatch answer to Claude Code, which stops on it: one failure."""
    cassette, end, outcome = _lost_field_case(cell)
    mismatch = next(e.mismatch for e in end.exchanges if e.mismatch)
    stopped = ClientOutcome(client="captured", failure=f"Claude Code stops: API Error: 400 {mismatch}")
    result = judged(cell, stopped, end, cassette)
    # (Claude Code stopped: a refusal it got past when it finished fails the tier too, first)
    assert [f.kind for f in result.failures] == \
        ["contract-refused"] * len(refusals(end)) + ["replay-mismatch"] * (len(result.failures) - len(refusals(end)))
    assert result.error == " | ".join([*refusals(end), judged(cell, outcome, end, cassette).error])
    other = ClientOutcome(client="cli", failure="claude CLI failed: exit=1; (no diagnostic output)")
    result = judged(cell, other, end, cassette)
    assert result.failures[-1].kind == "client-failed" and result.error.endswith(" | " + other.failure)


def _max_tokens_to_1234(body: dict) -> bool:
    for fields, key in ((body, "max_tokens"), (body.get("inferenceConfig"), "maxTokens")):
        if isinstance(fields, dict) and isinstance(fields.get(key), int) and fields[key] > 1:
            fields[key] = 1234
            return True
    return False


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_a_changed_load_bearing_value_is_a_finding_not_a_failure(cell):
    cassette = recorded(cell)
    if not _change_bodies(cassette, _max_tokens_to_1234):
        pytest.skip("no recorded request of this tier asks for more than one token")
    end, outcome = traffic(cell)
    end = replayed_again(cell, cassette, end)
    result = judged(cell, outcome, end, cassette)
    assert result.status == "pass", result.error
    changed = [f for f in result.findings if f.kind == "load-bearing-changed"]
    assert changed and all(f.severity == "high" and "changed: 1234 -> " in f.message for f in changed)
    strict = judged(cell, outcome, end, cassette, strict=True)
    assert strict.status == "fail" and [f.kind for f in strict.failures] == ["strict-findings"]
    assert strict.error.startswith("findings (--strict): ") and "load-bearing-changed: " in strict.error


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_a_dropped_message_stays_red(cell):
    """Fewer messages than a recorded turn is a loss, not a turn the recording never reached."""
    from ccmatrix.recorder.match import _messages

    cassette = recorded(cell)
    last = max(len(_messages(_body(i.request)) or []) for i in cassette.interactions)

    def two_more_messages(body: dict) -> bool:
        messages = _messages(body)
        if not messages or len(messages) != last:
            return False
        messages[1:1] = [{"role": "assistant", "content": [{"type": "text", "text": "Running it."}]},
                         {"role": "user", "content": [{"type": "text", "text": "Go on."}]}]
        return True

    if not last or not _change_bodies(cassette, two_more_messages):
        pytest.skip("no conversation recorded")
    end, outcome = traffic(cell)
    result = judged(cell, outcome, replayed_again(cell, cassette, end), cassette)
    assert result.status == "fail" and not result.changes
    assert "no recorded request" in result.error and "replay-mismatch" in {f.kind for f in result.failures}


# ---------------------------------------------------------------- drift, and what the recording never saw


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_drift_is_reported_and_fails_only_under_strict(cell):
    def one_more_field(body: dict) -> bool:
        body["ccmatrix_drift"] = {"edits": []}  # a field no row names: not load-bearing
        return True

    cassette = recorded(cell)
    if not _change_bodies(cassette, one_more_field):
        pytest.skip("no JSON body recorded")
    end, outcome = traffic(cell)
    end = replayed_again(cell, cassette, end)
    lenient = judged(cell, outcome, end, cassette)
    assert lenient.status == "pass", lenient.error
    assert [d.path for d in lenient.drift][:1] == ["body.ccmatrix_drift.edits"]
    strict = judged(cell, outcome, end, cassette, strict=True)
    assert strict.status == "fail" and "strict-drift" in {f.kind for f in strict.failures}
    assert "drift (--strict): body.ccmatrix_drift.edits missing" in strict.error


def _messages_of(request: RecordedRequest) -> int:
    from ccmatrix.recorder.match import _messages

    return len(_messages(_body(request)) or [])


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_a_turn_beyond_the_recordings_last_is_changed_not_red(cell):
    cassette = recorded(cell)
    turns = {_messages_of(i.request) for i in cassette.interactions}
    if len(turns) < 2:
        pytest.skip("one turn recorded")
    last = max(turns)
    end, outcome = traffic(cell)
    cassette.interactions = [i for i in cassette.interactions if _messages_of(i.request) != last]
    end = replayed_again(cell, cassette, end)
    result = judged(cell, outcome, end, cassette)
    assert result.status == "changed", result.error
    assert {c.reason for c in result.changes} == {"new turn"} and result.passed and not result.regressed
    strict = judged(cell, outcome, end, cassette, strict=True)
    assert strict.status == "fail" and strict.failures[-1].kind == "strict-changed"
    assert "changed (--strict): new turn: " in strict.error


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_a_conversation_the_recording_never_saw_is_changed(cell):
    def another_prompt(body: dict) -> bool:
        from ccmatrix.recorder.match import _messages

        messages = _messages(body)
        content = messages[0].get("content") if messages else None
        texts = [b for b in content if isinstance(b, dict) and b.get("text")] if isinstance(content, list) else []
        if not texts:
            return False
        texts[-1]["text"] = "Count from 1 to 6, one number per line."
        return True

    cassette = recorded(cell)
    if not _change_bodies(cassette, another_prompt):
        pytest.skip("no conversation recorded")
    end, outcome = traffic(cell)
    result = judged(cell, outcome, replayed_again(cell, cassette, end), cassette)
    assert result.status == "changed", result.error
    assert "new conversation" in {c.reason for c in result.changes}
    assert all(c.diffs for c in result.changes if c.reason == "new conversation")  # what to review


@pytest.mark.parametrize("cell", CLI_TIERS + PROBE_TIERS, ids=_id)
def test_a_route_the_recording_never_saw_is_changed(cell):
    cassette = recorded(cell)
    for interaction in cassette.interactions:
        parts = urlsplit(interaction.request.url)
        interaction.request.url = parts._replace(path=parts.path + "-old").geturl()
    end, outcome = traffic(cell)
    result = judged(cell, outcome, replayed_again(cell, cassette, end), cassette)
    assert result.status == "changed", result.error
    assert {c.reason for c in result.changes} == {"new route"}


@pytest.mark.parametrize("cell", NOT_FAULT_TIERS, ids=_id)
def test_a_recorded_request_not_sent_is_a_finding(cell):
    """(A fault row's verdict reads every upstream answer: tests/unit/test_faults.py.)"""
    end, outcome = traffic(cell)
    dropped = len(end.exchanges) - 1
    del end.exchanges[dropped]
    result = judged(cell, outcome, end)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "request-not-sent"]
    assert finding.severity == "high" and finding.message.startswith(f"recorded upstream request #{dropped} (")


# ---------------------------------------------------------------- where requests went


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_request_to_a_host_no_provider_lives_on_fails(cell):
    end, outcome = traffic(cell)
    end.exchanges.append(RefusedExchange(refused="POST https://elsewhere.example/v1/messages"))
    result = judged(cell, outcome, end)
    assert result.status == "fail"
    assert result.failures[0].kind == "upstream-refused"
    assert result.error == "upstream refused: POST https://elsewhere.example/v1/messages"
    # Claude Code stopping on the proxy's error about it is another failure: it does not quote the request
    stopped = ClientOutcome(client="captured", failure="Claude Code stops: API Error: 502 ccmatrix: elsewhere.example "
                                                       "is not a host of any provider; refused")
    result = judged(cell, stopped, end)
    kinds = ["contract-refused"] * len(refusals(end)) + ["upstream-refused", "client-failed"]
    assert [f.kind for f in result.failures] == kinds


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_request_mitmproxy_could_not_complete_fails(cell):
    end, outcome = traffic(cell)
    end.exchanges.insert(0, FailedExchange(error="POST https://host.example/v1/messages: Connection killed."))
    result = judged(cell, outcome, end)
    assert result.status == "fail"
    assert result.error == "upstream error: POST https://host.example/v1/messages: Connection killed."


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_request_to_another_provider_is_an_info_finding(cell):
    end, outcome = traffic(cell)
    end.exchanges[0].foreign_provider = "elsewhere"
    result = judged(cell, outcome, end)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "other-provider"]
    assert finding.severity == "info" and f"went to elsewhere, not {cell.provider.id}" in finding.message


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_stream_left_open_is_a_warning_that_fails_only_under_strict(cell):
    end, outcome = traffic(cell)
    end.left_open = [f"POST {end.exchanges[0].request.url}"]
    result = judged(cell, outcome, end)
    assert result.status == "pass" and [f.kind for f in result.findings].count("upstream-left-open") == 1
    strict = judged(cell, outcome, end, strict=True)
    assert strict.status == "fail" and "upstream-left-open: POST " in strict.error


# ---------------------------------------------------------------- the provider's contract


def _unknown_field(cell):  # type: ignore[no-untyped-def]
    """The tier's traffic with an unknown top-level field in LiteLLM's first main request:
    every provider's contract refuses it."""
    end, outcome = traffic(cell)
    sent = [e.request for e in end.exchanges]
    bodies = [n for n, r in enumerate(sent) if isinstance(_body(r), dict)]
    first = next((n for n in bodies if "count" not in sent[n].url), bodies[0])  # a probe row: its own
    sent[first] = sent[first].model_copy(deep=True)
    body = _body(sent[first])
    body["ccmatrix_unknown"] = True
    sent[first].body = Body(json_=body)
    end = replayed_again(cell, _cassette(cell.id), end, sent)
    note = end.exchanges[first].violation
    if note is None:
        pytest.skip("the request's wrapper takes any top-level field (Bedrock's count-tokens input)")
    return end, outcome, note


@pytest.mark.parametrize("cell", NOT_FAULT_TIERS, ids=_id)
def test_a_refused_request_fails_the_tier_unless_claude_code_got_past_it(cell):
    end, outcome, note = _unknown_field(cell)
    refused = f"contract {note.rule}: {note.message}"
    every = refusals(end)  # with those recorded (2.1.332's WebSearch request on Converse)
    result = judged(cell, outcome, end)
    if outcome.client == "probe":  # a probe is the request: it never gets past it
        assert result.status == "fail" and result.error == refused
        return
    # Claude Code finished with the row's criteria met: the live run passes it
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "provider-refused" and f.message.startswith(refused + ": ")]
    assert finding.severity == "high" and "the provider refused a request Claude Code got past" in finding.message
    # the row's criteria unmet: the refusals lead the failures
    result = judged(cell, ClientOutcome(client=outcome.client), end)
    assert result.status == "fail" and result.error.startswith(" | ".join(every) + " | ")
    assert [f.kind for f in result.failures] == ["contract-refused"] * len(every) + \
        ["criteria-unmet"] * len(result.failed_checks)
    [failure] = [f for f in result.failures if f.message == note.message]
    assert (failure.field, failure.evidence) == (note.rule, note.evidence)
    # Claude Code stopped on the provider's error, relayed: said once
    stopped = ClientOutcome(client=outcome.client, failure=f"Claude Code stops: API Error: 400 {note.message}")
    result = judged(cell, stopped, end)
    assert result.error == " | ".join(every) and not [f for f in result.findings if f.kind == "provider-refused"]


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_rule_a_live_provider_disagreed_with_is_a_finding(cell):
    end, outcome = traffic(cell)
    answers = _cassette(cell.id).interactions
    n = next(n for n, e in enumerate(end.exchanges) if answers[e.served].response.status < 400)
    note = ContractNote(rule=f"{cell.provider.id}.some-rule", message="refused", evidence=["https://example.com"])
    end.exchanges[n] = RecordedExchange(request=end.exchanges[n].request, auth=False, chunks=None,
                                        response=answers[end.exchanges[n].served].response, violation=note)
    result = judged(cell, outcome, end)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "contract-disagrees"]
    assert finding.severity == "high" and finding.message.startswith(f"{note.rule} says the provider refuses")


@pytest.mark.parametrize("cell", TIERS, ids=_id)
def test_a_contract_warning_is_a_finding(cell):
    end, outcome = traffic(cell)
    end.exchanges[0].warnings.append(ContractNote(rule="x.thin-evidence", message="maybe", action="warn"))
    result = judged(cell, outcome, end)
    assert result.status == "pass", result.error
    assert "contract-warning: x.thin-evidence: maybe" in [f.describe() for f in result.findings]


# ---------------------------------------------------------------- Claude Code's side


@pytest.mark.parametrize("cell", NOT_FAULT_TIERS, ids=_id)
def test_the_row_s_criteria_unmet_fail_the_tier_naming_each(cell):
    end, outcome = traffic(cell)
    empty = ClientOutcome(client=outcome.client, probe=ProbeResult(cell.feature.probe or "x", 500, "down")
                          if outcome.client == "probe" else None)
    result = judged(cell, empty, end)
    expected = [(name, CRITERIA[name](empty)) for name in cell.feature.criteria]
    assert result.status == "fail"
    assert result.failed_checks == [name for name, _ in expected]
    assert [(f.field, f.message) for f in result.failures if f.kind == "criteria-unmet"] == expected
    assert result.error == " | ".join([*refusals(end), *(message for _, message in expected)])


@pytest.mark.parametrize("cell", CLI_TIERS, ids=_id)
def test_claude_code_failing_fails_the_tier_in_its_words(cell):
    end, outcome = traffic(cell)
    failed = ClientOutcome(client="cli", failure="claude CLI failed: exit=1; api_status=400; text=API Error: nope")
    result = judged(cell, failed, end)
    assert result.status == "fail" and result.error == " | ".join([*refusals(end), failed.failure])
    assert result.failures[-1].kind == "client-failed" and result.failed_checks == []


def _title_case(cell):  # type: ignore[no-untyped-def]
    cassette = _cassette(cell.id, TITLE_RELEASE)
    titles = [conversation for r in cassette.client if session_title(_body(r))
              and (conversation := judge_module.conversation_of(_body(r))) is not None]
    upstream = [n for n, i in enumerate(cassette.interactions)
                if judge_module.serves_side_request(i, titles)]
    main = [n for n, i in enumerate(cassette.interactions) if n not in upstream and "count" not in i.request.url]
    if not upstream or not main:
        pytest.skip("no session-title request on the cell's own model")
    lost = "ccmatrix replay: no recorded request matches; load-bearing differences: body.messages[0].content[1] missing"

    def end(mismatched: int) -> CellEnd:
        exchanges = [ReplayedExchange(request=i.request, auth=False, served=None if n == mismatched else n,
                                      closest=n, diffs=[], mismatch=lost if n == mismatched else None)
                     for n, i in enumerate(cassette.interactions)]
        return CellEnd(cell=cell.id, exchanges=exchanges, client=[ClientLegExchange(request=r) for r in cassette.client])

    return cassette, end(upstream[0]), end(main[0]), finished(cell, cassette), lost


@pytest.mark.parametrize("cell", TITLE_TIERS, ids=_id)
def test_a_field_lost_from_the_session_title_request_is_a_finding_unless_claude_code_stopped(cell):
    cassette, title_lost, main_lost, outcome, lost = _title_case(cell)
    result = judge(cell, outcome, title_lost, cassette)
    assert result.status == "pass", result.error
    [finding] = [f for f in result.findings if f.kind == "side-request-lost"]
    assert finding.message.startswith(lost + ": Claude Code's session-title request")
    # the row's criteria unmet: the side request's loss is a failure, after theirs
    result = judge(cell, ClientOutcome(client=outcome.client), title_lost, cassette)
    assert result.status == "fail" and result.failures[-1].kind == "side-request-lost" and result.error.endswith(lost)
    # the same loss on a main turn fails it
    result = judge(cell, outcome, main_lost, cassette)
    assert result.status == "fail" and [f.kind for f in result.failures] == ["replay-mismatch"]


# ---------------------------------------------------------------- the wire checks


def relayed(cell: catalog.CellTier) -> tuple[CellEnd, ClientOutcome]:
    """The tier's traffic, its client leg answered as a faithful proxy answers it: with
    the provider's own answers (where they are in the client's format)."""
    end, outcome = traffic(cell)
    leg = faithful_client_leg(cell, _cassette(cell.id))
    if leg is None:
        pytest.skip("the client's turns do not pair with the provider's answers (a side request, a token count)")
    end.client = leg
    return end, outcome


def answer_saying(text: str) -> RecordedResponse:
    """A well-formed streamed answer with this text."""
    events = [{"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                      "content": [], "usage": {"input_tokens": 1}}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
              {"type": "content_block_stop", "index": 0},
              {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}},
              {"type": "message_stop"}]
    stream = b"".join(encode_sse_event({"event": e["type"], "data": e}) for e in events)
    return RecordedResponse(status=200, headers={"content-type": "text/event-stream"}, body=Body(text=stream.decode()))


WIRE_CHECKED = [c for c in TIERS if c.provider.id in RELAYED_AS_IS and c.feature.checks]


@pytest.mark.parametrize("cell", WIRE_CHECKED, ids=_id)
def test_what_the_provider_sent_changed_on_its_way_to_the_client_is_a_finding(cell):
    end, outcome = relayed(cell)
    faithful = judged(cell, outcome, end)
    assert faithful.status == "pass", faithful.error
    assert not [f for f in faithful.findings if f.kind in cell.feature.checks and f.severity == "high"]
    end.client[-1].response = answer_saying("tampered")
    tampered = judged(cell, outcome, end)
    assert tampered.status == "pass", tampered.error
    [finding] = [f for f in tampered.findings if f.kind == "upstream_content_intact" and ": text: " in f.message]
    assert finding.severity == "high" and "client got 'tampered'" in finding.message
    assert judged(cell, outcome, end, strict=True).failures[0].kind == "strict-findings"


# ---------------------------------------------------------------- mutation checks: every rule is load-bearing


def _case_lost_field(cell):  # type: ignore[no-untyped-def]
    cassette, end, outcome = _lost_field_case(cell)
    return outcome, end, cassette, False


def _case_refused_host(cell):  # type: ignore[no-untyped-def]
    end, outcome = traffic(cell)
    end.exchanges.append(RefusedExchange(refused="POST https://elsewhere.example/v1/messages"))
    return outcome, end, None, False


def _case_refused_request(cell):  # type: ignore[no-untyped-def]
    end, outcome, _ = _unknown_field(cell)
    return outcome, end, None, False


def _case_left_open(cell):  # type: ignore[no-untyped-def]
    end, outcome = traffic(cell)
    end.left_open = ["POST https://x.example/"]
    return outcome, end, None, False


def _case_not_sent(cell):  # type: ignore[no-untyped-def]
    end, outcome = traffic(cell)
    del end.exchanges[-1]
    return outcome, end, None, False


def _case_native_lost(cell):  # type: ignore[no-untyped-def]
    """LiteLLM's request without the effort Claude Code sends natively, as recorded so."""
    cassette = recorded(cell)

    def drop_effort(body: dict) -> bool:
        dropped = False
        for fields in (body, body.get("additionalModelRequestFields") or {}):
            dropped = (fields.get("output_config") or {}).pop("effort", None) is not None or dropped
        return dropped

    if not _change_bodies(cassette, drop_effort):
        pytest.skip("no effort recorded")
    end, outcome = traffic(cell)
    return outcome, replayed_again(cell, cassette, end), cassette, False


def _case_criteria_unmet(cell):  # type: ignore[no-untyped-def]
    end, outcome = traffic(cell)
    return ClientOutcome(client=outcome.client), end, None, False


def _case_fault_swallowed(cell):  # type: ignore[no-untyped-def]
    """A proxy that answered the provider's failure with the clean answer."""
    end, outcome = traffic(cell)
    clean = end.client[-1].response
    end.client = [ex.model_copy(update={"response": clean}) for ex in end.client]
    return outcome, end, None, False


def _case_checks(cell):  # type: ignore[no-untyped-def]
    end, outcome = relayed(cell)
    end.client[-1].response = answer_saying("tampered")
    return outcome, end, None, False


def _case_strict_drift(cell):  # type: ignore[no-untyped-def]
    cassette = recorded(cell)
    _change_bodies(cassette, lambda body: body.update(ccmatrix_drift=1) is None)
    end, outcome = traffic(cell)
    return outcome, replayed_again(cell, cassette, end), cassette, True


MUTATIONS = [
    ("broken_exchanges_rule", _case_refused_host, "basic_messaging_streaming/anthropic/haiku"),
    ("sent_requests_rule", _case_refused_request, "tool_use/bedrock_converse/sonnet"),
    ("left_open_rule", _case_left_open, "basic_messaging_streaming/vertex_ai/opus"),
    ("replay_rule", _case_lost_field, "basic_messaging_non_streaming/bedrock_invoke/haiku"),
    ("replay_rule", _case_lost_field, "thinking/azure/sonnet"),
    ("not_sent_rule", _case_not_sent, "tool_use/anthropic/sonnet"),
    ("native_rule", _case_native_lost, "thinking/vertex_ai/sonnet"),
    ("client_rule", _case_criteria_unmet, "thinking/bedrock_converse/opus"),
    ("client_rule", _case_criteria_unmet, "count_tokens/anthropic/haiku"),
    ("side_requests_rule", _case_refused_request, "basic_messaging_streaming/azure/sonnet"),
    ("fault_rule", _case_fault_swallowed, "fault_stream_cut/anthropic/haiku"),
    ("checks_rule", _case_checks, "thinking/anthropic/sonnet"),
    ("strict_rule", _case_strict_drift, "vision/bedrock_invoke/haiku"),
]


@pytest.mark.parametrize("rule,case,cell_id", MUTATIONS, ids=[f"{r}-{c}" for r, _, c in MUTATIONS])
def test_each_rule_is_load_bearing_for_these_tests(monkeypatch, rule, case, cell_id):
    """Take the rule out of the pipeline: the case's verdict changes (so a rule that broke,
    or went missing, would fail the tests above that cover it)."""
    cell = catalog.CellTier.parse(cell_id)
    outcome, end, cassette, strict = case(cell)

    def verdict() -> tuple[Any, ...]:
        result = judged(cell, outcome, end.model_copy(deep=True), cassette, strict=strict, native=True)
        return result.status, result.error, [f.describe() for f in result.findings]

    with_rule = verdict()
    monkeypatch.setattr(judge_module, "RULES", tuple(r for r in judge_module.RULES if r.__name__ != rule))
    assert verdict() != with_rule


def test_the_mutation_checks_cover_every_rule():
    assert {r.__name__ for r in judge_module.RULES} == {rule for rule, _, _ in MUTATIONS}

"""A tier's verdict, the way the live matrix judges, with ccmatrix's findings beside it.

A cell tier fails when Claude Code fails (the CLI exits non-zero, or the answers it
would read make it stop), when it lacks what the row needs (the live harness's
criteria, criteria.py), or when a load-bearing field did not reach the provider (the
replay mismatch, which the client gets as an API error too), a provider contract
rule refused a request Claude Code did not get past, or a request went somewhere no
provider lives. Everything else ccmatrix sees on the wire is a finding: kept per tier
with a severity and its evidence, failing only under --strict, as do drift
(non-load-bearing differences) and `changed` requests. A refused request Claude Code
got past (a side request, like the WebSearch tool's own: Claude Code finished and the
row's criteria hold) is a `provider-refused` finding, as the live run would pass it;
so is a load-bearing field lost from its session-title request (`side-request-lost`).

`judge` runs RULES in order, each a function of the tier's traffic (`TierTraffic`)
that adds to the verdict so far (`Verdict`): typed failures (results.Failure), findings,
diffs. The order is the order the tier's error reads, most telling first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Union
from urllib.parse import urlsplit

from ccmatrix import catalog
from ccmatrix.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.client.driver import session_title
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.providers import provider_for_host
from ccmatrix.recorder.exchanges import (
    CellEnd,
    ClientLegExchange,
    FailedExchange,
    RecordedExchange,
    RefusedExchange,
    ReplayedExchange,
)
from ccmatrix.recorder.match import Conversation, conversation_of
from ccmatrix.verdict.checks import ClientAnswer, run_checks
from ccmatrix.verdict.criteria import unmet
from ccmatrix.verdict.faults import judge_fault, provider_failed
from ccmatrix.verdict.native import judge_native
from ccmatrix.verdict.results import Change, Failure, Finding, TierResult
from ccmatrix.wire.messages import AssistantMessage, from_anthropic_json, from_sse

SentExchange = Union[ReplayedExchange, RecordedExchange]
# how the recorder's mismatch answer begins (recorder/match.py): a client failure that
# holds it is that answer, relayed to Claude Code as its API error
REPLAY_ANSWER = "ccmatrix replay:"
# how much of a failure's own words a client failure must hold to be saying it again
# (the client's error text wraps and may cut what it relays)
SAME_WORDS = 80


@dataclass
class UpstreamExchange:
    """One of the cell tier's own upstream requests (token exchanges left out), and
    the response the provider gave it: recorded now, or the recording that answered."""

    url: str
    served: int | None
    mismatch: str | None
    diffs: list[FieldDiff]
    response: RecordedResponse | None
    change: Change | None = None  # answered by the emulator: the cassette has no counterpart

    @classmethod
    def from_addon(cls, exchange, interactions: list[Interaction] | None) -> "UpstreamExchange | None":  # type: ignore[no-untyped-def]
        if isinstance(exchange, ReplayedExchange) and not exchange.auth:
            if exchange.changed:
                change = Change(url=exchange.request.url, reason=exchange.changed, closest=exchange.closest,
                                diffs=exchange.diffs)
                return cls(exchange.request.url, None, None, [], exchange.response, change)
            response = None
            if interactions is not None and exchange.served is not None:
                response = interactions[exchange.served].response
            return cls(exchange.request.url, exchange.served, exchange.mismatch, exchange.diffs, response)
        if isinstance(exchange, RecordedExchange) and not exchange.auth:
            return cls(exchange.request.url, None, None, [], exchange.response)
        return None


def provider_of_url(url: str, cell_provider: catalog.Provider) -> catalog.Provider | None:
    """Whose host the URL is: the cell's provider's first (Bedrock's two routes share hosts)."""
    host = urlsplit(url).hostname or ""
    if cell_provider.owns_host(host):
        return cell_provider
    return provider_for_host(host)


def provider_message(exchange: UpstreamExchange, cell_provider: catalog.Provider) -> AssistantMessage | None:
    """What the provider answered, as an assistant message (None for an error)."""
    response, provider = exchange.response, provider_of_url(exchange.url, cell_provider)
    if response is None or response.status != 200 or provider is None:
        return None
    path = urlsplit(exchange.url).path
    if "count_tokens" in path or "count-tokens" in path:
        return None
    return provider.decode_response(path, response.headers.get("content-type", ""), response.content())


def client_answers(client: list[ClientLegExchange]) -> list[ClientAnswer]:
    """LiteLLM's successful Messages answers to the client, assembled as Claude Code assembles them."""
    answers = []
    for n, ex in enumerate(client):
        response = ex.response
        path = urlsplit(ex.request.url).path
        if response is None or response.status != 200 or not path.endswith("/v1/messages"):
            continue
        ctype = response.headers.get("content-type", "")
        data = response.content()
        try:
            message = from_sse(data) if ctype.startswith("text/event-stream") else from_anthropic_json(response.body.value())
        except (ValueError, AttributeError):
            continue
        answers.append(ClientAnswer(n, ctype, message))
    return answers


# ---------------------------------------------------------------- what the rules read and write


@dataclass
class TierTraffic:
    """What the rules read: a cell tier's traffic, what its client ended up with, and
    what it is held to (its recording, its native reference)."""

    cell: catalog.CellTier
    outcome: ClientOutcome
    end: CellEnd
    recorded: Cassette | None = None
    strict: bool = False
    native: list[RecordedRequest] | None = None  # the requests of the tier's native reference

    @property
    def interactions(self) -> list[Interaction] | None:
        return self.recorded.interactions if self.recorded is not None else None

    @cached_property
    def pairs(self) -> list[tuple[SentExchange, UpstreamExchange]]:
        """The tier's own upstream exchanges, as the recorder reported them and as judged."""
        return [(raw, u) for raw in self.end.exchanges  # type: ignore[misc]
                if (u := UpstreamExchange.from_addon(raw, self.interactions))]

    @property
    def upstream(self) -> list[UpstreamExchange]:
        return [u for _, u in self.pairs]

    @property
    def changes(self) -> list[Change]:
        return [u.change for u in self.upstream if u.change is not None]

    @property
    def sent(self) -> list[SentExchange]:
        """Every request that reached the provider leg (a token exchange's too)."""
        return [raw for raw in self.end.exchanges if isinstance(raw, (ReplayedExchange, RecordedExchange))]

    @cached_property
    def side_requests(self) -> list[Conversation]:
        """The conversations of Claude Code's side requests in the client leg: its session
        title (2.1.228 sends it on the cell's own model, beside the first turn)."""
        found = []
        for exchange in self.end.client:
            body = exchange.request.body.value() if exchange.request.body is not None else None
            if session_title(body) and (conversation := conversation_of(body)) is not None:
                found.append(conversation)
        return found


@dataclass
class Verdict:
    """What the rules found so far, in the order they found it."""

    failures: list[Failure] = field(default_factory=list)  # what fails the tier, most telling first
    refused: list[Failure] = field(default_factory=list)  # contract refusals: they fail it unless Claude Code got past
    side_lost: list[Failure] = field(default_factory=list)  # mismatches of Claude Code's side requests: the same
    findings: list[Finding] = field(default_factory=list)
    diffs: list[FieldDiff] = field(default_factory=list)
    criteria_unmet: list[Failure] = field(default_factory=list)
    fault_turns: set[int] = field(default_factory=set)  # client-leg turns that carried a fault on purpose


Rule = Callable[[TierTraffic, Verdict], None]


# ---------------------------------------------------------------- the wire


def upstream_broke(raw: object) -> Failure | None:
    """A request refused for its host (no provider lives there), or one mitmproxy could not complete."""
    if isinstance(raw, RefusedExchange):
        return Failure(kind="upstream-refused", message=raw.refused)
    if isinstance(raw, FailedExchange):
        return Failure(kind="upstream-error", message=raw.error)
    return None


def broken_exchanges_rule(t: TierTraffic, v: Verdict) -> None:
    v.failures += [failure for raw in t.end.exchanges if (failure := upstream_broke(raw)) is not None]


def contract_refusal(exchange: SentExchange) -> Failure | None:
    """The refusal a broken contract rule makes; None when none, or when a live provider took the request."""
    note = exchange.violation
    if note is None or _provider_took(exchange):
        return None
    return Failure(kind="contract-refused", message=note.message, field=note.rule, evidence=list(note.evidence))


def contract_findings(exchange: SentExchange) -> list[Finding]:
    """The contract's warnings on a request, and a rule a live provider disagreed with."""
    findings = [Finding(kind="contract-warning", severity="warning", message=f"{note.rule}: {note.message}",
                        evidence=note.evidence) for note in exchange.warnings]
    note = exchange.violation
    if note is not None and isinstance(exchange, RecordedExchange) and _provider_took(exchange):
        # a live provider took what the contract says it refuses: the rule needs evidence again
        findings.append(Finding(kind="contract-disagrees", severity="high", evidence=note.evidence, message=(
            f"{note.rule} says the provider refuses this request, but it answered {exchange.response.status}")))
    return findings


def _provider_took(exchange: SentExchange) -> bool:
    """A provider answered the request (recorded, not replayed) without an error."""
    return isinstance(exchange, RecordedExchange) and exchange.response.status < 400


def foreign_provider_finding(exchange: SentExchange, cell: catalog.CellTier) -> Finding | None:
    if not exchange.foreign_provider:
        return None
    return Finding(kind="other-provider", severity="info", message=(
        f"{exchange.request.method} {exchange.request.url} went to {exchange.foreign_provider}, not "
        f"{cell.provider.id}: Claude Code asked for a model the proxy serves from another provider"))


def sent_requests_rule(t: TierTraffic, v: Verdict) -> None:
    """Each request against the provider's contract, and against the cell's provider (one
    pass: the findings read in the order of the requests)."""
    for exchange in t.sent:
        if (refusal := contract_refusal(exchange)) is not None:
            v.refused.append(refusal)
        v.findings += contract_findings(exchange)
        if (foreign := foreign_provider_finding(exchange, t.cell)) is not None:
            v.findings.append(foreign)


def left_open_rule(t: TierTraffic, v: Verdict) -> None:
    v.findings += [Finding(kind="upstream-left-open", severity="warning", message=(
        f"{request}: LiteLLM still held this stream to the provider open when the cell ended, after Claude "
        "Code had given up on its answer (a connection, and on a live provider a generation, nobody reads)"))
        for request in t.end.left_open]


def mismatch_failure(u: UpstreamExchange, side_request: bool) -> Failure:
    """A load-bearing field that did not reach the provider (a request with a mismatch: no
    recording matched it), named: the first one lost, else the first one that differs."""
    lost = next((d for d in u.diffs if d.load_bearing and d.kind == "missing"), None) or \
        next((d for d in u.diffs if d.load_bearing), None)
    return Failure(kind="side-request-lost" if side_request else "replay-mismatch", message=u.mismatch or "",
                   field=lost.path if lost is not None else None)


def load_bearing_changed(u: UpstreamExchange) -> Finding | None:
    """Load-bearing values that reached the provider changed (the recording still answered):
    nothing was lost, so a finding."""
    changed = [d for d in u.diffs if d.load_bearing]
    if u.mismatch or u.served is None or not changed:
        return None
    return Finding(kind="load-bearing-changed", severity="high", message=(
        f"{urlsplit(u.url).path}: " + "; ".join(d.describe() for d in changed[:5])
        + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
        + ": the provider got these load-bearing fields with other values than recorded"))


def replay_rule(t: TierTraffic, v: Verdict) -> None:
    """Each upstream request held to its recording: a mismatch fails (a side request's
    waits for the client's verdict), a changed load-bearing value is a finding."""
    for raw, u in t.pairs:
        if u.mismatch:
            side_request = serves_side_request(raw, t.side_requests)
            (v.side_lost if side_request else v.failures).append(mismatch_failure(u, side_request))
        elif (finding := load_bearing_changed(u)) is not None:
            v.findings.append(finding)
        v.diffs += u.diffs


def serves_side_request(raw: object, side: list[Conversation]) -> bool:
    """Whether an upstream request is LiteLLM's version of one of those side requests: its
    first message holds the side request's whole first message (a main turn never does)."""
    request = getattr(raw, "request", None)
    body = request.body.value() if request is not None and request.body is not None else None
    upstream = conversation_of(body)
    return upstream is not None and any(c.full in upstream.full for c in side)


def not_sent_rule(t: TierTraffic, v: Verdict) -> None:
    """A recorded request nothing answered from or stood in for: the proxy answers it
    itself now, or the client stopped asking."""
    if t.interactions is None:
        return
    served = {u.served for u in t.upstream} | {c.closest for c in t.changes}
    v.findings += [Finding(kind="request-not-sent", severity="high", message=(
        f"recorded upstream request #{index} ({interaction.request.method} {interaction.request.url}) "
        "was not sent: the proxy now answers it itself, or the client no longer asks"))
        for index, interaction in enumerate(t.interactions) if index not in served]


# ---------------------------------------------------------------- LiteLLM's request held to Claude Code's own


def native_rule(t: TierTraffic, v: Verdict) -> None:
    if t.cell.feature.cli is None:
        return  # a probe row: no Claude Code request to hold LiteLLM's to
    sent = [raw.request for raw in t.sent if not raw.auth]
    held = judge_native(t.cell, t.native, [ex.request for ex in t.end.client], sent)
    if held is not None:
        v.failures += held.failures
        v.findings += held.findings


# ---------------------------------------------------------------- Claude Code's side


def says_again(client_failure: str, earlier: list[Failure]) -> bool:
    """A mismatch or a contract refusal reaches the client as its API error: whether
    Claude Code's failure is one of those (then the verdict says it once)."""
    return bool(earlier) and (REPLAY_ANSWER in client_failure
                              or any(f.message[:SAME_WORDS] in client_failure for f in earlier))


def client_rule(t: TierTraffic, v: Verdict) -> None:
    """Did Claude Code fail, and does it have what the row needs?"""
    failure = t.outcome.failure
    if failure:
        if not says_again(failure, v.refused + v.failures):
            v.failures.append(Failure(kind="client-failed", message=failure))
        return
    v.criteria_unmet = unmet(t.cell.feature.criteria, t.outcome)
    v.failures += v.criteria_unmet


def got_past(t: TierTraffic, v: Verdict) -> bool:
    """Claude Code finished, with the row's criteria met: what its side requests lost did not stop it."""
    return t.outcome.client in ("cli", "captured") and not t.outcome.failure and not v.criteria_unmet


def side_requests_rule(t: TierTraffic, v: Verdict) -> None:
    """Refused requests and lost side requests: findings when Claude Code got past them
    (as the live run would pass the cell), else failures (the refusals first)."""
    if got_past(t, v):
        v.findings += [Finding(kind="provider-refused", severity="high", message=(
            f"{r.describe()}: the provider refused a request Claude Code got past (it finished, and the row's "
            "criteria hold): what that request was for is lost")) for r in v.refused]
        v.findings += [Finding(kind="side-request-lost", severity="high", message=(
            f"{m.message}: Claude Code's session-title request (a side request it does not wait for) reached the "
            "provider without these; Claude Code finished, and the row's criteria hold")) for m in v.side_lost]
    else:
        v.failures[:0] = v.refused
        v.failures += v.side_lost


# ---------------------------------------------------------------- fault rows, wire checks, --strict


def fault_rule(t: TierTraffic, v: Verdict) -> None:
    fault = t.cell.feature.fault
    if fault is None:
        return
    failures, findings, v.fault_turns = judge_fault(
        fault, t.cell, t.end.client, [u.response for u in t.upstream if u.response is not None])
    v.failures += failures
    v.findings += findings


def checks_rule(t: TierTraffic, v: Verdict) -> None:
    """The row's wire checks: findings."""
    # the answers that carried a fault on purpose are judged by fault_rule, not as broken streams
    answers = [a for a in client_answers(t.end.client) if a.turn not in v.fault_turns]
    sent = [m for u in t.upstream if (m := provider_message(u, t.cell.provider)) is not None
            and not (v.fault_turns and u.response is not None and provider_failed(u.response))]
    v.findings += [Finding(kind=name, severity=problem.severity, message=problem.message,
                           evidence=list(problem.evidence))
                   for name, problem in run_checks(t.cell.feature.checks, answers, sent)]


def strict_rule(t: TierTraffic, v: Verdict) -> None:
    """--strict: a tier nothing else fails fails on its findings, its drift, its changes."""
    if not t.strict or v.failures:
        return
    drift = [d for d in v.diffs if not d.load_bearing]
    for kind, seen in (("strict-findings", v.findings[:5]), ("strict-drift", drift[:5]), ("strict-changed", t.changes)):
        if seen:
            v.failures.append(Failure(kind=kind, message="; ".join(s.describe() for s in seen)))  # type: ignore[arg-type]


RULES: tuple[Rule, ...] = (
    broken_exchanges_rule,
    sent_requests_rule,
    left_open_rule,
    replay_rule,
    not_sent_rule,
    native_rule,
    client_rule,
    side_requests_rule,
    fault_rule,
    checks_rule,
    strict_rule,
)


def judge(
    cell: catalog.CellTier,
    outcome: ClientOutcome,
    end: CellEnd,
    recorded: Cassette | None,
    strict: bool = False,
    native: list[RecordedRequest] | None = None,
) -> TierResult:
    """`native`: the requests of the tier's native reference, if captured (verdict/native.py)."""
    traffic = TierTraffic(cell, outcome, end, recorded, strict, native)
    verdict = Verdict()
    for rule in RULES:
        rule(traffic, verdict)
    changes = traffic.changes
    failures = _once(verdict.failures)
    return TierResult(
        feature=cell.feature.id,
        provider=cell.provider.id,
        tier=cell.tier.id,
        model_alias=cell.proxy_model,
        client=outcome.client,
        status="fail" if failures else ("changed" if changes else "pass"),
        failures=failures,
        diffs=sorted(verdict.diffs, key=lambda d: not d.load_bearing),
        recorded_status=recorded.verdict.status if recorded and recorded.verdict else None,
        recorded_error=recorded.verdict.error if recorded and recorded.verdict else None,
        provenance=recorded.provenance if recorded else None,
        changes=changes,
        findings=_once_each(verdict.findings),
    )


def _once(failures: list[Failure]) -> list[Failure]:
    """Each failure once: two that read the same are one (the error says it once)."""
    seen: dict[str, Failure] = {}
    for f in failures:
        seen.setdefault(f.describe(), f)
    return list(seen.values())


def _once_each(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.kind, f.message), f)
    return list(seen.values())

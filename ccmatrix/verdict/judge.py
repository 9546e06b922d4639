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
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ccmatrix import catalog
from ccmatrix.cassette import Cassette, Interaction, RecordedRequest, RecordedResponse
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.client.driver import session_title
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.providers import PROVIDERS
from ccmatrix.recorder.match import Conversation, conversation_of
from ccmatrix.recorder.protocol import (
    CellEnd,
    ClientLegExchange,
    FailedExchange,
    RecordedExchange,
    RefusedExchange,
    ReplayedExchange,
)
from ccmatrix.verdict.checks import ClientAnswer, run_checks
from ccmatrix.verdict.criteria import unmet
from ccmatrix.verdict.faults import judge_fault, provider_failed
from ccmatrix.verdict.native import judge_native
from ccmatrix.verdict.results import Change, Finding, TierResult
from ccmatrix.wire.messages import AssistantMessage, from_anthropic_json, from_sse


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
    return next((p for p in PROVIDERS if p.owns_host(host)), None)


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


def judge(
    cell: catalog.CellTier,
    outcome: ClientOutcome,
    end: CellEnd,
    recorded: Cassette | None,
    strict: bool = False,
    native: list[RecordedRequest] | None = None,
) -> TierResult:
    """`native`: the requests of the tier's native reference, if captured (verdict/native.py)."""
    interactions = recorded.interactions if recorded is not None else None
    pairs = [(raw, u) for raw in end.exchanges if (u := UpstreamExchange.from_addon(raw, interactions))]
    upstream = [u for _, u in pairs]
    side_requests = _side_conversations(end)
    failures: list[str] = []  # what fails the tier, most telling first
    refused: list[str] = []  # contract rejections: they fail it unless Claude Code got past them
    side_lost: list[str] = []  # mismatches of Claude Code's side requests: the same
    findings: list[Finding] = []
    diffs: list[FieldDiff] = []

    for raw in end.exchanges:
        if isinstance(raw, RefusedExchange):
            failures.append(f"upstream refused: {raw.refused}")
        elif isinstance(raw, FailedExchange):
            failures.append(f"upstream error: {raw.error}")
        else:
            rejected = _contract(raw, findings)
            if rejected:
                refused.append(rejected)
            if raw.foreign_provider:
                findings.append(Finding(kind="other-provider", severity="info", message=(
                    f"{raw.request.method} {raw.request.url} went to {raw.foreign_provider}, not {cell.provider.id}: "
                    "Claude Code asked for a model the proxy serves from another provider")))
    for request in end.left_open:
        findings.append(Finding(kind="upstream-left-open", severity="warning", message=(
            f"{request}: LiteLLM still held this stream to the provider open when the cell ended, after Claude "
            "Code had given up on its answer (a connection, and on a live provider a generation, nobody reads)")))
    for raw, u in pairs:
        if u.mismatch and _serves(raw, side_requests):
            side_lost.append(u.mismatch)
        elif u.mismatch:
            failures.append(u.mismatch)
        elif u.served is not None:
            changed = [d for d in u.diffs if d.load_bearing]
            if changed:
                findings.append(Finding(kind="load-bearing-changed", severity="high", message=(
                    f"{urlsplit(u.url).path}: " + "; ".join(d.describe() for d in changed[:5])
                    + (f"; and {len(changed) - 5} more" if len(changed) > 5 else "")
                    + ": the provider got these load-bearing fields with other values than recorded")))
        diffs += u.diffs
    changes = [u.change for u in upstream if u.change is not None]
    if interactions is not None:
        served = {u.served for u in upstream} | {c.closest for c in changes}
        for index, interaction in enumerate(interactions):
            if index not in served:
                findings.append(Finding(kind="request-not-sent", severity="high", message=(
                    f"recorded upstream request #{index} ({interaction.request.method} {interaction.request.url}) "
                    "was not sent: the proxy now answers it itself, or the client no longer asks")))

    # LiteLLM's request held to what Claude Code sends the provider itself
    if cell.feature.cli is not None:
        sent = [raw.request for raw in end.exchanges
                if isinstance(raw, (ReplayedExchange, RecordedExchange)) and not raw.auth]
        held = judge_native(cell, native, [ex.request for ex in end.client], sent)
        if held is not None:
            failures += held.failures
            findings += [Finding(kind=kind, severity=severity, message=message)  # type: ignore[arg-type]
                         for kind, severity, message in held.findings]

    # Claude Code's side: did it fail, and does it have what the row needs?
    criteria_failed: list[str] = []
    if outcome.failure:
        if not any(_says_the_same(outcome.failure, f) for f in refused + failures):
            failures.append(outcome.failure)
    else:
        criteria_failed = unmet(cell.feature.criteria, outcome)
        failures += criteria_failed
    got_past = outcome.client in ("cli", "captured") and not outcome.failure and not criteria_failed
    if got_past:
        findings += [Finding(kind="provider-refused", severity="high", message=(
            f"{r}: the provider refused a request Claude Code got past (it finished, and the row's criteria "
            "hold): what that request was for is lost")) for r in refused]
        findings += [Finding(kind="side-request-lost", severity="high", message=(
            f"{m}: Claude Code's session-title request (a side request it does not wait for) reached the provider "
            "without these; Claude Code finished, and the row's criteria hold")) for m in side_lost]
    else:
        failures[:0] = refused
        failures += side_lost

    fault_turns: set[int] = set()
    if cell.feature.fault is not None:
        fault_failures, fault_findings, fault_turns = judge_fault(
            cell.feature.fault, cell, end.client, [u.response for u in upstream if u.response is not None])
        failures += fault_failures
        findings += fault_findings

    # the answers that carried a fault on purpose are judged above, not as broken streams
    answers = [a for a in client_answers(end.client) if a.turn not in fault_turns]
    sent = [m for u in upstream if (m := provider_message(u, cell.provider)) is not None
            and not (fault_turns and u.response is not None and provider_failed(u.response))]
    for name, problem in run_checks(cell.feature.checks, answers, sent):
        findings.append(Finding(kind=name, severity=problem.severity, message=problem.message,
                                evidence=list(problem.evidence)))

    drift = [d for d in diffs if not d.load_bearing]
    if strict and not failures:
        if findings:
            failures.append("findings (--strict): " + "; ".join(f.describe() for f in findings[:5]))
        if drift:
            failures.append("drift (--strict): " + "; ".join(d.describe() for d in drift[:5]))
        if changes:
            failures.append("changed (--strict): " + "; ".join(c.describe() for c in changes))

    return TierResult(
        feature=cell.feature.id,
        provider=cell.provider.id,
        tier=cell.tier.id,
        model_alias=cell.proxy_model,
        client=outcome.client,
        status="fail" if failures else ("changed" if changes else "pass"),
        error=" | ".join(_dedupe(failures)) if failures else None,
        failed_checks=[c.split(":")[0] for c in criteria_failed],
        diffs=sorted(diffs, key=lambda d: not d.load_bearing),
        recorded_status=recorded.verdict.status if recorded and recorded.verdict else None,
        recorded_error=recorded.verdict.error if recorded and recorded.verdict else None,
        provenance=recorded.provenance if recorded else None,
        changes=changes,
        findings=_dedupe_findings(findings),
    )


def _side_conversations(end: CellEnd) -> list[Conversation]:
    """The conversations of Claude Code's side requests in the client leg: its session
    title (2.1.228 sends it on the cell's own model, beside the first turn)."""
    found = []
    for exchange in end.client:
        body = exchange.request.body.value() if exchange.request.body is not None else None
        if session_title(body) and (conversation := conversation_of(body)) is not None:
            found.append(conversation)
    return found


def _serves(raw: object, side: list[Conversation]) -> bool:
    """Whether an upstream request is LiteLLM's version of one of those side requests: its
    first message holds the side request's whole first message (a main turn never does)."""
    request = getattr(raw, "request", None)
    body = request.body.value() if request is not None and request.body is not None else None
    upstream = conversation_of(body)
    return upstream is not None and any(c.full in upstream.full for c in side)


def _says_the_same(client_failure: str, failure: str) -> bool:
    """A mismatch or a contract rejection reaches the client as its API error: say it once."""
    return "ccmatrix replay:" in client_failure or failure.split(": ", 2)[-1][:80] in client_failure


def _contract(exchange: ReplayedExchange | RecordedExchange, findings: list[Finding]) -> str | None:
    """The error a broken contract rule makes (None when it makes none); warnings become findings."""
    for note in exchange.warnings:
        findings.append(Finding(kind="contract-warning", severity="warning", message=f"{note.rule}: {note.message}",
                                evidence=note.evidence))
    note = exchange.violation
    if note is None:
        return None
    response = exchange.response if isinstance(exchange, RecordedExchange) else None
    if response is not None and response.status < 400:
        # a live provider took what the contract says it refuses: the rule needs evidence again
        findings.append(Finding(kind="contract-disagrees", severity="high", evidence=note.evidence,
                                message=f"{note.rule} says the provider refuses this request, "
                                        f"but it answered {response.status}"))
        return None
    return f"contract {note.rule}: {note.message}"


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _dedupe_findings(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in findings:
        key = (f.kind, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out

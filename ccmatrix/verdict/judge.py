"""A tier result: client-side checks plus the field-level upstream diff.

A cell tier passes when the client got what Claude Code needs and every upstream
request matched its recorded counterpart in each load-bearing field. Other
differences are drift: reported, and failing only under --strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ccmatrix import catalog
from ccmatrix.cassette import Cassette, Interaction, RecordedResponse
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.client.driver import ClientExchange
from ccmatrix.recorder.protocol import Exchange, FailedExchange, RecordedExchange, RefusedExchange, ReplayedExchange
from ccmatrix.verdict.checks import run_checks
from ccmatrix.verdict.results import Change, Finding, TierResult
from ccmatrix.wire.messages import AssistantMessage


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
    def from_addon(cls, exchange: Exchange, interactions: list[Interaction] | None) -> "UpstreamExchange | None":
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


def provider_message(provider: catalog.Provider, exchange: UpstreamExchange) -> AssistantMessage | None:
    """What the provider answered, as an assistant message (None for an error)."""
    response = exchange.response
    if response is None or response.status != 200:
        return None
    ctype = response.headers.get("content-type", "")
    return provider.decode_response(urlsplit(exchange.url).path, ctype, response.content())


def judge(
    cell: catalog.CellTier,
    client: list[ClientExchange],
    addon_exchanges: list[Exchange],
    recorded: Cassette | None,
    strict: bool = False,
) -> TierResult:
    interactions = recorded.interactions if recorded is not None else None
    upstream = [u for raw in addon_exchanges if (u := UpstreamExchange.from_addon(raw, interactions))]
    errors: list[str] = []
    diffs: list[FieldDiff] = []

    findings: list[Finding] = []
    rejections: list[str] = []
    for raw in addon_exchanges:
        if isinstance(raw, RefusedExchange):
            errors.append(f"upstream refused: {raw.refused}")
        elif isinstance(raw, FailedExchange):
            errors.append(f"upstream error: {raw.error}")
        else:
            judged = _contract(raw, findings)
            if judged:
                errors.append(judged)
                rejections.append(raw.violation.message)  # type: ignore[union-attr]
    for u in upstream:
        if u.mismatch:
            errors.append(u.mismatch)
        diffs += u.diffs
    changes = [u.change for u in upstream if u.change is not None]
    if interactions is not None:
        # a recording that a changed request stands in for was not skipped: the request moved
        served = {u.served for u in upstream} | {c.closest for c in changes}
        for index, interaction in enumerate(interactions):
            if index not in served and not errors:
                errors.append(f"recorded upstream request #{index} ({interaction.request.method} "
                              f"{interaction.request.url}) was never sent")
    for ex in client:
        # whatever the row checks: a stream Claude Code itself refuses fails it
        if ex.message is not None:
            errors += [f"client turn {ex.turn}: Claude Code stops with API Error: {e}" for e in ex.message.client_errors]
        # a replay mismatch or a contract rejection comes back to the client too: say it once
        if ex.status != 200 and "ccmatrix replay:" not in ex.error_text \
                and not any(message in ex.error_text for message in rejections):
            errors.append(f"client request {ex.turn} failed: {ex.error_text}")
    sent = [m for u in upstream if (m := provider_message(cell.provider, u)) is not None]
    failed_checks = run_checks(cell.feature.checks, client, sent) if not errors else []
    errors += failed_checks
    drift = [d for d in diffs if not d.load_bearing]
    if strict and drift and not errors:
        errors.append("drift (--strict): " + "; ".join(d.describe() for d in drift[:5]))
    if strict and changes and not errors:
        errors.append("changed (--strict): " + "; ".join(c.describe() for c in changes))

    return TierResult(
        feature=cell.feature.id,
        provider=cell.provider.id,
        tier=cell.tier.id,
        model_alias=cell.proxy_model,
        status="fail" if errors else ("changed" if changes else "pass"),
        error=" | ".join(_dedupe(errors)) if errors else None,
        failed_checks=failed_checks,
        diffs=sorted(diffs, key=lambda d: not d.load_bearing),
        recorded_status=recorded.verdict.status if recorded and recorded.verdict else None,
        recorded_error=recorded.verdict.error if recorded and recorded.verdict else None,
        provenance=recorded.provenance if recorded else None,
        changes=changes,
        findings=findings,
    )


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

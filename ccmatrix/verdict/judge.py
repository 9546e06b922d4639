"""A tier's verdict: client-side checks plus the field-level upstream diff.

Pass when the client got what Claude Code needs and every upstream request
matched its recorded counterpart in each load-bearing field. Other differences
are drift: reported, and failing only under --strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccmatrix import catalog
from ccmatrix.cassette import Cassette, Interaction, RecordedResponse
from ccmatrix.checks import run_checks
from ccmatrix.client import ClientExchange
from ccmatrix.messages import Canonical, from_provider_response
from ccmatrix.results import FieldDiff, Provenance, TierResult


@dataclass
class UpstreamExchange:
    """One upstream request as the recorder saw it (see the addon's /cell/end)."""

    url: str
    served: int | None
    mismatch: str | None
    diffs: list[FieldDiff]
    response: RecordedResponse | None

    @classmethod
    def from_addon(cls, raw: dict[str, Any], interactions: list[Interaction] | None) -> "UpstreamExchange | None":
        if raw.get("auth") or "request" not in raw:
            return None
        served = raw.get("served")
        response = None
        if interactions is not None and served is not None:
            response = interactions[served].response
        elif "response" in raw:
            response = RecordedResponse.model_validate(raw["response"])
        return cls(
            url=raw["request"]["url"],
            served=served,
            mismatch=raw.get("mismatch"),
            diffs=[FieldDiff.model_validate(d) for d in raw.get("diffs", [])],
            response=response,
        )


def canonical(provider: str, exchange: UpstreamExchange) -> Canonical | None:
    response = exchange.response
    if response is None or response.status != 200:
        return None
    from urllib.parse import urlsplit

    ctype = response.headers.get("content-type", "")
    return from_provider_response(provider, urlsplit(exchange.url).path, ctype, response.content())


def judge(
    cell: catalog.Cell,
    client: list[ClientExchange],
    addon_exchanges: list[dict[str, Any]],
    recorded: Cassette | None,
    strict: bool = False,
) -> TierResult:
    interactions = recorded.interactions if recorded is not None else None
    upstream = [u for raw in addon_exchanges if (u := UpstreamExchange.from_addon(raw, interactions))]
    errors: list[str] = []
    diffs: list[FieldDiff] = []

    for raw in addon_exchanges:
        for key in ("refused", "error"):
            if key in raw:
                errors.append(f"upstream {key}: {raw[key]}")
    for u in upstream:
        if u.mismatch:
            errors.append(u.mismatch)
        diffs += u.diffs
    if interactions is not None:
        served = {u.served for u in upstream}
        for index, interaction in enumerate(interactions):
            if index not in served and not errors:
                errors.append(f"recorded upstream request #{index} ({interaction.request.method} "
                              f"{interaction.request.url}) was never sent")
    for ex in client:
        # a replay mismatch comes back to the client too: say it once
        if ex.status != 200 and "ccmatrix replay:" not in ex.error_text:
            errors.append(f"client request {ex.turn} failed: {ex.error_text}")
    sent = [c for u in upstream if (c := canonical(cell.provider.id, u)) is not None]
    failed_checks = run_checks(cell.feature.checks, client, sent) if not errors else []
    errors += failed_checks
    drift = [d for d in diffs if not d.load_bearing]
    if strict and drift and not errors:
        errors.append("drift (--strict): " + "; ".join(d.describe() for d in drift[:5]))

    provenance = Provenance.model_validate(recorded.provenance.model_dump()) if recorded else None
    return TierResult(
        feature=cell.feature.id,
        provider=cell.provider.id,
        tier=cell.tier.id,
        model_alias=cell.proxy_model,
        status="fail" if errors else "pass",
        error=" | ".join(_dedupe(errors)) if errors else None,
        failed_checks=failed_checks,
        diffs=sorted(diffs, key=lambda d: not d.load_bearing),
        recorded_status=recorded.verdict.status if recorded and recorded.verdict else None,
        recorded_error=recorded.verdict.error if recorded and recorded.verdict else None,
        provenance=provenance,
    )


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))

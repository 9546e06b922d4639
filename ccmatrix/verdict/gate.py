"""A pull request's verdict: the head's run judged against its base's, tier by tier.

A pull request is red for what it breaks, not for what its base already had: a cell
tier that passes on the base and fails on the head is a regression, and so is a
load-bearing field the head loses that the base still sent (even on a tier the base
already failed for another reason: a second bug behind the first). A tier red on
both is pre-existing, listed, never blocking; red on the base and green on the head
is fixed. The cassette's recorded verdict plays no part here (`ccmatrix run` uses it
when there is no base).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.verdict.results import RunResult, TierResult

Outcome = Literal["regressed", "pre-existing", "fixed", "unchanged", "not judged"]


class TierComparison(BaseModel):
    """One cell tier on the base and on the head."""

    feature: str
    provider: str
    tier: str
    model_alias: str
    base_status: str
    head_status: str
    outcome: Outcome
    # load-bearing fields the head lost that the base did not: the differences that decide
    lost: list[FieldDiff] = Field(default_factory=list)
    # every load-bearing field the head lost (the base may have lost them too: pre-existing)
    head_lost: list[str] = Field(default_factory=list)
    head_error: str | None = None
    base_error: str | None = None

    @property
    def id(self) -> str:
        return f"{self.feature}/{self.provider}/{self.tier}"


class GateVerdict(BaseModel):
    base: RunResult
    head: RunResult
    base_label: str
    head_label: str
    base_reused: bool = False  # the base's result came from an earlier run of the same tree
    tiers: list[TierComparison] = Field(default_factory=list)
    not_covered: list[str] = Field(default_factory=list)  # what the head changes that no replay exercises

    def of(self, outcome: Outcome) -> list[TierComparison]:
        return [t for t in self.tiers if t.outcome == outcome]

    @property
    def regressions(self) -> list[TierComparison]:
        return self.of("regressed")


def _tiers(run: RunResult) -> dict[str, TierResult]:
    return {f"{t.feature}/{t.provider}/{t.tier}": t for c in run.cells() for t in c.tiers}


def _lost(tier: TierResult) -> dict[str, FieldDiff]:
    return {d.path: d for d in tier.diffs if d.load_bearing and d.kind == "missing"}


def outcome(base: TierResult, head: TierResult, lost: list[FieldDiff]) -> Outcome:
    if "error" in (base.status, head.status) or head.status in ("not_tested", "not_applicable"):
        return "not judged" if head.status != "not_applicable" else "unchanged"
    if head.status == "fail" and (base.passed or lost):
        return "regressed"
    if head.status == "fail":
        return "pre-existing"
    if base.status == "fail":
        return "fixed"
    return "unchanged"


def compare(base: RunResult, head: RunResult, base_label: str, head_label: str, base_reused: bool = False,
            not_covered: list[str] | None = None) -> GateVerdict:
    """Every tier the head ran, beside the base's result for it."""
    base_tiers = _tiers(base)
    compared = []
    for key, head_tier in _tiers(head).items():
        base_tier = base_tiers.get(key)
        if base_tier is None or head_tier.status == "not_tested" and base_tier.status == "not_tested":
            continue
        before = _lost(base_tier)
        lost = [d for path, d in _lost(head_tier).items() if path not in before]
        compared.append(TierComparison(
            feature=head_tier.feature, provider=head_tier.provider, tier=head_tier.tier,
            model_alias=head_tier.model_alias, base_status=base_tier.status, head_status=head_tier.status,
            outcome=outcome(base_tier, head_tier, lost), lost=lost, head_lost=list(_lost(head_tier)),
            head_error=head_tier.error,
            base_error=base_tier.error))
    return GateVerdict(base=base, head=head, base_label=base_label, head_label=head_label, base_reused=base_reused,
                       tiers=compared, not_covered=not_covered or [])

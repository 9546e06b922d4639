"""Result models: a tier result (one model on a cell), a cell result (its tiers aggregated), a run.

These are the boundary between the runner (which produces them) and the reports
(matrix JSON, HTML, Markdown), so they are plain pydantic models.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Literal

from pydantic import BaseModel, Field, model_validator

from ccmatrix import catalog
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.cassette.models import Provenance
from ccmatrix.catalog import CellTier, Status, TierStatus


class Finding(BaseModel):
    """Something ccmatrix sees on the wire that Claude Code tolerates: reported beside the
    verdict, never a failure on its own (only --strict fails it)."""

    kind: str  # e.g. "contract-warning"
    severity: Literal["info", "warning", "high"] = "warning"
    message: str
    evidence: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        return f"{self.kind}: {self.message}"


FailureKind = Literal[
    "upstream-refused",  # a request went to a host no provider of the cell lives on
    "upstream-error",  # mitmproxy could not complete an upstream request
    "contract-refused",  # a provider contract rule refused a request Claude Code did not get past
    "replay-mismatch",  # a load-bearing field did not reach the provider: no recording matched
    "side-request-lost",  # ... on Claude Code's session-title request, and Claude Code did not finish
    "native-lost",  # LiteLLM lost a load-bearing field Claude Code sends the provider natively
    "client-failed",  # Claude Code failed (or stopped on an answer it read)
    "criteria-unmet",  # the row's live-harness criterion the client's outcome does not meet
    "fault",  # a fault row: LiteLLM did not turn the provider's failure into what Claude Code handles
    "strict-findings",  # --strict: the tier has findings
    "strict-drift",  # --strict: non-load-bearing differences
    "strict-changed",  # --strict: requests the cassette has no counterpart for
    "chunking",  # the verdict holds under this stream chunking only (a prefix to the rest)
    "run-error",  # no verdict: a process ccmatrix started died or hung
]
# the words each kind's text starts with (the rest of the kinds read as their message)
_LEADS: dict[str, str] = {
    "upstream-refused": "upstream refused: ",
    "upstream-error": "upstream error: ",
    "native-lost": "native reference: ",
    "strict-findings": "findings (--strict): ",
    "strict-drift": "drift (--strict): ",
    "strict-changed": "changed (--strict): ",
}
# the kinds whose `field` names a check the tier failed (TierResult.failed_checks)
_CHECK_KINDS = ("chunking", "criteria-unmet")
# between a tier's failures in its `error`: the text the matrix JSON and the cassettes'
# verdicts have always held, so this is the one place it is written
_BETWEEN = " | "


class Failure(BaseModel):
    """Something that fails a tier, most telling first in its list. `error` is their
    text (render_error); everything that reads a verdict reads these instead."""

    kind: FailureKind
    message: str  # in the words of whoever said it (the recorder, the client, a criterion, the provider)
    # what the failure is about, where it is about one thing: the load-bearing field
    # lost, the criterion unmet, the contract rule broken, the chunking (`chunking:<name>`)
    field: str | None = None
    evidence: list[str] = Field(default_factory=list)

    def describe(self) -> str:
        """The failure's text in the tier's `error`."""
        if self.kind == "contract-refused":
            return f"contract {self.field}: {self.message}"
        if self.kind == "chunking":
            return f"under chunking {self.message}"
        return _LEADS.get(self.kind, "") + self.message


def failure_lines(failures: list[Failure]) -> list[str]:
    """Each failure's text once, in order; a chunking leads the first (`under chunking X: ...`)."""
    if failures and failures[0].kind == "chunking":
        rest = failure_lines(failures[1:])
        return [f"{failures[0].describe()}: {rest[0] if rest else 'failed'}", *rest[1:]]
    return list(dict.fromkeys(f.describe() for f in failures))


def render_error(failures: list[Failure]) -> str | None:
    """A tier's `error`: its failures' texts, in order (None without failures)."""
    return _BETWEEN.join(failure_lines(failures)) if failures else None


class Change(BaseModel):
    """An upstream request the cassette had no counterpart for, answered by the emulator."""

    url: str
    reason: str  # "new route" | "new conversation" | "new turn"
    closest: int | None = None  # the recorded interaction most like it
    diffs: list[FieldDiff] = Field(default_factory=list)  # against that one: what to review when re-recording

    def describe(self) -> str:
        where = f"; closest recording #{self.closest}" if self.closest is not None else ""
        return f"{self.reason}: {self.url}{where} ({len(self.diffs)} field(s) differ)"


class TierResult(BaseModel):
    """The verdict on one cell tier (one model on a feature x provider cell)."""

    feature: str
    provider: str
    tier: str
    model_alias: str  # the proxy model name, used as the "[alias]" prefix of errors
    client: str | None = None  # who ran the tier: "cli", "captured" or "probe"
    status: TierStatus
    # what fails the tier, typed; `error` and `failed_checks` follow from them (see
    # _derived): kept as fields, since the matrix JSON, the cassettes' verdicts and
    # older run files carry the text only
    failures: list[Failure] = Field(default_factory=list)
    error: str | None = None
    reason: str | None = None
    failed_checks: list[str] = Field(default_factory=list)
    diffs: list[FieldDiff] = Field(default_factory=list)  # load-bearing first, then drift
    recorded_status: Status | None = None  # the verdict stored with the cassette
    recorded_error: str | None = None
    provenance: Provenance | None = None
    changes: list[Change] = Field(default_factory=list)  # why the tier is `changed`
    findings: list[Finding] = Field(default_factory=list)  # wire-level observations beside the verdict
    chunkings: list[str] = Field(default_factory=list)  # replay: the stream chunkings it ran under

    @model_validator(mode="after")
    def _derived(self) -> "TierResult":
        # a verdict built from typed failures gets its text from them; one read back from
        # a file keeps the text it was written with
        if self.failures and self.error is None:
            self.error = render_error(self.failures)
        if self.failures and not self.failed_checks:
            self.failed_checks = [f.field for f in self.failures if f.kind in _CHECK_KINDS and f.field]
        return self

    @classmethod
    def not_applicable(cls, cell_tier: CellTier) -> "TierResult":
        """A tier the row does not apply to (its reason comes from the catalog)."""
        return cls(feature=cell_tier.feature.id, provider=cell_tier.provider.id, tier=cell_tier.tier.id,
                   model_alias=cell_tier.proxy_model, status="not_applicable", reason=cell_tier.not_applicable_reason)

    @classmethod
    def run_error(cls, cell_tier: CellTier, error: str, findings: list[Finding] | None = None) -> "TierResult":
        """A tier the run could not judge: a process ccmatrix started died or hung (`error` says which)."""
        return cls(feature=cell_tier.feature.id, provider=cell_tier.provider.id, tier=cell_tier.tier.id,
                   model_alias=cell_tier.proxy_model, status="error",
                   failures=[Failure(kind="run-error", message=error)], findings=findings or [])

    def under_chunking(self, name: str) -> None:
        """This verdict is the one under stream chunking `name`, not under the first
        chunking: it leads the failures (and so the error and the failed checks)."""
        chunking = Failure(kind="chunking", message=name, field=f"chunking:{name}")
        self.error = f"{chunking.describe()}: {self.error or 'failed'}"
        self.failed_checks = [f"chunking:{name}", *self.failed_checks]
        self.failures = [chunking, *self.failures]

    def failure_texts(self) -> list[str]:
        """The failures' texts, one each; a tier read back from a file without typed
        failures has its error as one."""
        return failure_lines(self.failures) if self.failures else [self.error or "failed"]

    @property
    def drift(self) -> list[FieldDiff]:
        return [d for d in self.diffs if not d.load_bearing]

    @property
    def regressed(self) -> bool:
        return self.recorded_status == "pass" and self.status == "fail"

    @property
    def passed(self) -> bool:
        """Claude Code works: pass, or changed (the cassette is behind, nothing was lost)."""
        return self.status in ("pass", "changed")

    @property
    def fails_differently(self) -> bool:
        """Still red, but for another reason than when recorded: not a regression
        (exit code), yet worth a look, since a second bug can hide behind the first."""
        return self.status == "fail" and self.recorded_status == "fail" and self.error != self.recorded_error


class CellResult(BaseModel):
    """A cell's verdict: its tiers aggregated by the published rule."""

    feature: str
    provider: str
    status: Status
    error: str | None = None
    reason: str | None = None
    tiers: list[TierResult] = Field(default_factory=list)

    @classmethod
    def aggregate(cls, feature: str, provider: str, tiers: list[TierResult]) -> "CellResult":
        """The published rule: pass only if every tier passes; not_applicable tiers are
        neutral; any failure fails the cell with every failing tier's error, each
        prefixed with its model alias, joined by "; " (as the live harness joins them)."""
        failed = [t for t in tiers if t.status == "fail"]
        if failed:
            return cls(feature=feature, provider=provider, status="fail",
                       error="; ".join(f"[{t.model_alias}] {t.error or 'failed'}" for t in failed), tiers=tiers)
        broken = [t for t in tiers if t.status == "error"]
        if broken:  # no verdict: the run broke on these tiers (their errors say how)
            return cls(feature=feature, provider=provider, status="not_tested", tiers=tiers,
                       reason="run error: " + "; ".join(f"[{t.model_alias}] {(t.error or 'failed').splitlines()[0]}"
                                                         for t in broken))
        judged = [t for t in tiers if t.status != "not_applicable"]
        if not judged and tiers:
            reason = next((t.reason for t in tiers if t.reason), None)
            return cls(feature=feature, provider=provider, status="not_applicable", reason=reason, tiers=tiers)
        if not tiers or any(t.status == "not_tested" for t in judged):
            reason = next((t.reason for t in judged if t.status == "not_tested" and t.reason), None)
            return cls(feature=feature, provider=provider, status="not_tested", reason=reason, tiers=tiers)
        return cls(feature=feature, provider=provider, status="pass", tiers=tiers)

    @property
    def regressed(self) -> bool:
        return any(t.regressed for t in self.tiers)

    @property
    def changed(self) -> bool:
        """A tier's cassette is behind what LiteLLM now sends (re-record needed)."""
        return self.status == "pass" and any(t.status == "changed" for t in self.tiers)

    @property
    def run_error(self) -> bool:
        """Left unjudged because the run broke on one of its tiers (not a verdict)."""
        return self.status == "not_tested" and any(t.status == "error" for t in self.tiers)

    @property
    def state(self) -> str:
        """What a rendering shows: the status, `changed` or `error` beside it."""
        return "error" if self.run_error else ("changed" if self.changed else self.status)


class FeatureRow(BaseModel):
    id: str
    name: str
    cells: dict[str, CellResult]  # provider id -> cell, in provider order


NOT_SELECTED = "not selected in this run"


def matrix_rows(cells: dict[tuple[str, str], CellResult],
                providers: tuple[catalog.Provider, ...] = catalog.PROVIDERS) -> tuple[list[FeatureRow], list[FeatureRow]]:
    """(the published rows, the fault rows that ran) over `providers` (the view's columns),
    from the cells that have a result ((feature id, provider id) -> cell); the rest is
    not_tested, with why (a column's rows it does not back: its own reason)."""
    def unrun(feature: catalog.Feature, p: catalog.Provider) -> CellResult:
        reason = NOT_SELECTED if feature.implemented else "no client defined for this row yet"
        reason = reason if p.backs(feature.id) else p.rows_reason
        return CellResult(feature=feature.id, provider=p.id, status="not_tested", reason=reason)

    def row(feature: catalog.Feature) -> FeatureRow:
        return FeatureRow(id=feature.id, name=feature.name, cells={
            p.id: cells.get((feature.id, p.id)) or unrun(feature, p) for p in providers})

    ran = {feature_id for feature_id, _ in cells}
    # fault rows only when run: they are ccmatrix's own, beside the published fifteen
    return [row(f) for f in catalog.FEATURES], [row(f) for f in catalog.FAULT_FEATURES if f.id in ran]


class RunResult(BaseModel):
    generated_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    mode: Literal["replay", "record-emulate", "record-live"] = "replay"
    litellm_version: str
    claude_code_version: str
    ccmatrix_version: str
    providers: list[str]
    rows: list[FeatureRow]  # the published rows, in the published order
    # ccmatrix's fault rows that ran (docs/faults.md): kept apart from the published rows
    fault_rows: list[FeatureRow] = Field(default_factory=list)
    client: str = "captured"  # what drove the client leg: "captured" or "cli" (probe rows: their probe)
    proxy_config: str | None = None  # the LiteLLM config the run used
    # each provider's credential mode: {"mode", "location"?, "summary"} (providers/credentials.py)
    credentials: dict[str, dict[str, str]] = Field(default_factory=dict)
    # LiteLLM stacks that ran side by side (--jobs), each its share of whole cells; merged
    # shards: all of theirs
    stacks: int = 1

    def cells(self) -> list[CellResult]:
        """Every cell, the published rows' then the fault rows'."""
        return [c for row in self.rows + self.fault_rows for c in row.cells.values()]

    @property
    def regressions(self) -> list[CellResult]:
        return [c for c in self.cells() if c.regressed]

    @property
    def changed(self) -> list[TierResult]:
        return [t for c in self.cells() for t in c.tiers if t.status == "changed"]

    @property
    def run_errors(self) -> list[TierResult]:
        """Tiers the run could not judge: a process ccmatrix started died or hung."""
        return [t for c in self.cells() for t in c.tiers if t.status == "error"]

    def findings_by_message(self) -> list[tuple[Finding, list[str]]]:
        """Each distinct finding once, with the tiers (feature/provider/tier) it was seen on:
        high first, then warnings, then info, each in matrix order. The same divergence on
        forty tiers is one line to read, not forty."""
        return group_findings((finding, f"{tier.feature}/{tier.provider}/{tier.tier}")
                              for cell in self.cells() for tier in cell.tiers for finding in tier.findings)


def group_findings(seen_on: Iterable[tuple[Finding, str]]) -> list[tuple[Finding, list[str]]]:
    """(finding, the tier it was seen on) pairs as each distinct finding once with its tiers:
    high first, then warnings, then info, each in the order met."""
    seen: dict[tuple[str, str, str], tuple[Finding, list[str]]] = {}
    for finding, tier in seen_on:
        seen.setdefault((finding.severity, finding.kind, finding.message), (finding, []))[1].append(tier)
    rank = {"high": 0, "warning": 1, "info": 2}
    return sorted(seen.values(), key=lambda e: rank[e[0].severity])


def tiers_shown(tiers: list[str], limit: int = 3) -> str:
    """`a, b, c and 35 more`."""
    return ", ".join(tiers[:limit]) + (f" and {len(tiers) - limit} more" if len(tiers) > limit else "")

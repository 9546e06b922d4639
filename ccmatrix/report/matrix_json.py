"""The published matrix file: schema v1 out (`to_schema_v1`, `write_matrix`) and in (`load_matrix`).

Schema v1 is what the LiteLLM docs site consumes, so the v1 keys are emitted
exactly as published. ccmatrix adds two extension keys a v1 consumer ignores:
`tiers` inside each cell and a top-level `ccmatrix` block. Reading goes through
one pydantic model (`MatrixV1`) whatever wrote the file, so a published snapshot
and a ccmatrix run can be compared and rendered by the same code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ccmatrix import __version__ as CCMATRIX_VERSION
from ccmatrix import catalog
from ccmatrix.catalog import Status, TierStatus
from ccmatrix.errors import CcmatrixError
from ccmatrix.fsutil import write_atomic
from ccmatrix.verdict.results import CellResult, FeatureRow, RunResult, TierResult

SCHEMA_VERSION = "1"
MATRIX_FILENAME = "compatibility-matrix.json"

STATUSES: tuple[str, ...] = get_args(Status)
# One vocabulary for every rendering (terminal, Markdown, HTML): the glyphs are the
# published docs matrix's; the word is for readers without color or emoji.
GLYPH = {"pass": "\u2705", "changed": "\U0001f504", "fail": "\u274c", "not_applicable": "\u2796", "not_tested": "\u2b1c",
         "error": "\U0001f6a7"}
LABEL = {"pass": "pass", "changed": "changed", "fail": "fail", "not_applicable": "n/a", "not_tested": "not tested",
         "error": "run error"}


class MatrixError(CcmatrixError, ValueError):
    """A matrix file that cannot be read as schema v1; the message names the file and key."""


# --- the v1 model (reading) -------------------------------------------------------
# extra="allow" everywhere: v1 consumers must ignore keys they do not know, and
# keeping them (rather than dropping) lets a round trip preserve future extensions.


class TierV1(BaseModel):
    """ccmatrix extension: one model tier's verdict inside a cell."""

    model_config = ConfigDict(extra="allow")

    status: TierStatus
    model: str | None = None
    error: str | None = None
    # what fails the tier, typed ({kind, message, field?, evidence?}); `error` is their text
    failures: list[dict[str, Any]] = Field(default_factory=list)
    reason: str | None = None
    diff: list[str] = Field(default_factory=list)
    drift: int = Field(default=0, ge=0)
    recorded_status: Status | None = None
    changes: list[str] = Field(default_factory=list)  # why the tier is `changed`
    findings: list[dict[str, Any]] = Field(default_factory=list)  # wire-level observations beside the verdict
    chunkings: list[str] = Field(default_factory=list)  # the stream chunkings it was replayed under (if several)

    @property
    def regressed(self) -> bool:
        return self.recorded_status == "pass" and self.status == "fail"


class CellV1(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Status
    error: str | None = None
    reason: str | None = None
    tiers: dict[str, TierV1] | None = None  # extension; absent in the published snapshot
    changed: bool | None = None  # extension: passes, but a tier's cassette is behind (re-record needed)

    @property
    def state(self) -> str:
        """What a rendering shows: the status, `changed` for a passing cell that is, `error`
        for a cell left unjudged because the run broke on one of its tiers."""
        if self.status == "not_tested" and any(t.status == "error" for t in (self.tiers or {}).values()):
            return "error"
        return "changed" if self.changed and self.status == "pass" else self.status

    @model_validator(mode="after")
    def _error_only_on_fail(self) -> "CellV1":
        # v1 contract: `error` explains a failure; on any other status it would be
        # rendered as one, so reject it rather than mislead the reader.
        if self.error is not None and self.status != "fail":
            raise ValueError(f"'error' is only allowed when status is 'fail' (status is {self.status!r})")
        return self

    @property
    def regressed(self) -> bool:
        return any(t.regressed for t in (self.tiers or {}).values())


class FeatureV1(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    providers: dict[str, CellV1]


class CassetteSummary(BaseModel):
    model_config = ConfigDict(extra="allow")

    count: int = 0
    sources: dict[str, int] = Field(default_factory=dict)  # "live"/"emulator" -> tier count
    recorded_at: dict[str, str | None] = Field(default_factory=dict)  # {"first", "last"}


class CcmatrixInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str
    mode: str
    cassettes: CassetteSummary = Field(default_factory=CassetteSummary)
    # ccmatrix's fault rows (docs/faults.md), in the same shape as `features`: kept out
    # of `features` so a v1 consumer sees the published rows only
    fault_rows: list["FeatureV1"] = Field(default_factory=list)


class MatrixV1(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: Literal["1"]
    generated_at: str
    litellm_version: str
    claude_code_version: str
    providers: list[str]
    features: list[FeatureV1]
    ccmatrix: CcmatrixInfo | None = None  # extension: present only in ccmatrix output

    @model_validator(mode="after")
    def _cells_name_known_columns(self) -> "MatrixV1":
        # A cell under a provider that is not a column would silently vanish from
        # every rendering; make it an error instead.
        columns = set(self.providers)
        for i, feat in enumerate(self.features):
            for p in feat.providers:
                if p not in columns:
                    raise ValueError(
                        f"features[{i}] ({feat.id}): provider {p!r} is not in 'providers' {self.providers}"
                    )
        return self

    def cell(self, feature_id: str, provider_id: str) -> CellV1 | None:
        return self.cells().get((canonical_feature_id(feature_id), provider_id))

    def cells(self) -> dict[tuple[str, str], CellV1]:
        """(canonical feature id, provider id) -> cell, in row then column order."""
        return {
            (canonical_feature_id(f.id), p): c
            for f in self.features
            for p in self.providers
            if (c := f.providers.get(p)) is not None
        }


def canonical_feature_id(feature_id: str) -> str:
    """Older published layouts used other row ids (e.g. extended_thinking); map them
    so an old snapshot compares against a new run row by row."""
    return catalog.FEATURE_ALIASES.get(feature_id, feature_id)


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def load_matrix(source: "str | os.PathLike[str] | dict[str, Any] | MatrixV1", *, name: str | None = None) -> MatrixV1:
    """Read a schema v1 matrix from a path or an already-parsed dict.

    The published snapshot and ccmatrix output take this same path. Errors are
    MatrixError naming the file (or `name`) and the offending key.
    """
    if isinstance(source, MatrixV1):
        return source
    if isinstance(source, dict):
        label, data = name or "<matrix dict>", source
    else:
        path = Path(source)
        label = name or str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MatrixError(f"{label}: no such file") from None
        except json.JSONDecodeError as exc:
            raise MatrixError(f"{label}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise MatrixError(f"{label}: expected a JSON object at the top level, got {type(data).__name__}")
    try:
        return MatrixV1.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_format_loc(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        )
        raise MatrixError(f"{label}: not a schema v1 compatibility matrix: {problems}") from None


# --- writing -----------------------------------------------------------------------


def _tier_entry(t: TierResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": t.status, "model": t.model_alias}
    if t.client:
        entry["client"] = t.client
    if t.status in ("fail", "error"):
        entry["error"] = t.error or "failed"
        if t.failures:
            # kind and message always; field and evidence where there are some
            entry["failures"] = [f.model_dump(mode="json", exclude_defaults=True) for f in t.failures]
    elif t.reason:
        entry["reason"] = t.reason
    # only the load-bearing diffs explain a verdict; drift is counted, not listed,
    # so the published file stays small and stable across recordings.
    entry["diff"] = [d.describe() for d in t.diffs if d.load_bearing]
    entry["drift"] = len(t.drift)
    if t.recorded_status is not None:
        entry["recorded_status"] = t.recorded_status
    if t.changes:
        entry["changes"] = [c.describe() for c in t.changes]
    if t.findings:
        entry["findings"] = [f.model_dump(mode="json") for f in t.findings]
    if len(t.chunkings) > 1:
        entry["chunkings"] = t.chunkings
    if t.provenance is not None:  # where the cassette this tier was judged against came from
        entry["cassette"] = {"recorded_at": t.provenance.recorded_at, "source": t.provenance.source,
                             "litellm_version": t.provenance.litellm_version}
    return entry


def _cell_entry(c: CellResult) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": c.status}
    if c.status == "fail":
        entry["error"] = c.error or "failed"
    elif c.status in ("not_applicable", "not_tested") and c.reason:
        entry["reason"] = c.reason
    if c.changed:
        entry["changed"] = True
    if c.tiers:
        entry["tiers"] = {t.tier: _tier_entry(t) for t in c.tiers}
    return entry


def cassette_summary(run: RunResult) -> dict[str, Any]:
    """Where the verdicts' traffic came from: live recordings vs emulator, and when."""
    provs = [t.provenance for c in run.cells() for t in c.tiers if t.provenance is not None]
    sources: dict[str, int] = {}
    for p in provs:
        sources[p.source] = sources.get(p.source, 0) + 1
    # ISO-8601 timestamps sort lexically, which is all a range needs
    stamps = sorted(p.recorded_at for p in provs if p.recorded_at)
    return {
        "count": len(provs),
        "sources": dict(sorted(sources.items())),
        "recorded_at": {"first": stamps[0] if stamps else None, "last": stamps[-1] if stamps else None},
    }


def to_schema_v1(run: RunResult) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": run.generated_at,
        "litellm_version": run.litellm_version,
        "claude_code_version": run.claude_code_version,
        "providers": list(run.providers),
        "features": [_feature_entry(row, run.providers) for row in run.rows],
        "ccmatrix": {
            "version": run.ccmatrix_version or CCMATRIX_VERSION,
            "mode": run.mode,
            "client": run.client,
            "proxy_config": run.proxy_config,
            "credentials": run.credentials,
            "cassettes": cassette_summary(run),
            **({"fault_rows": [_feature_entry(row, run.providers) for row in run.fault_rows]} if run.fault_rows else {}),
        },
    }


def _feature_entry(row: FeatureRow, providers: list[str]) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "providers": {p: _cell_entry(row.cells[p]) for p in providers if p in row.cells}}


def write_matrix(run: RunResult, out_dir: "str | os.PathLike[str]") -> Path:
    """Write `compatibility-matrix.json` into out_dir atomically: the docs job may
    pick the file up at any moment, so it must never see a half-written one."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / MATRIX_FILENAME
    text = json.dumps(to_schema_v1(run), indent=2, ensure_ascii=False) + "\n"
    write_atomic(target, text)
    return target

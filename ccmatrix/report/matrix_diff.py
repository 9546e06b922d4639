"""Compare two schema v1 matrices cell by cell (`ccmatrix diff OLD NEW`).

Either side may be a published snapshot or ccmatrix output: both arrive as
MatrixV1. Only pass -> fail blocks (exit 3), as in the daily job: a cell that was
already red staying red is known, not news.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ccmatrix.report.matrix_json import GLYPH, LABEL, MatrixV1, Status, canonical_feature_id

REGRESSION_EXIT_CODE = 3


class CellChange(BaseModel):
    feature: str  # canonical feature id
    provider: str
    name: str  # the row's display name (from the newer side when both have it)
    old: Status | None = None  # None: the cell is absent on that side
    new: Status | None = None
    old_error: str | None = None
    new_error: str | None = None

    @property
    def key(self) -> str:
        return f"{self.feature}/{self.provider}"


class MatrixComparison(BaseModel):
    old_litellm_version: str
    new_litellm_version: str
    old_generated_at: str
    new_generated_at: str
    regressions: list[CellChange] = Field(default_factory=list)  # pass -> fail
    fixes: list[CellChange] = Field(default_factory=list)  # fail -> pass
    other_changes: list[CellChange] = Field(default_factory=list)  # any other status change
    error_changes: list[CellChange] = Field(default_factory=list)  # fail -> fail, different error
    added: list[CellChange] = Field(default_factory=list)  # only in new
    removed: list[CellChange] = Field(default_factory=list)  # only in old
    unchanged: int = 0

    @property
    def exit_code(self) -> int:
        return REGRESSION_EXIT_CODE if self.regressions else 0

    @property
    def changed(self) -> bool:
        return bool(self.regressions or self.fixes or self.other_changes or self.added or self.removed)


def _names(m: MatrixV1) -> dict[str, str]:
    return {canonical_feature_id(f.id): f.name for f in m.features}


def compare_matrices(old: MatrixV1, new: MatrixV1) -> MatrixComparison:
    old_cells, new_cells = old.cells(), new.cells()
    names = {**_names(old), **_names(new)}
    cmp = MatrixComparison(
        old_litellm_version=old.litellm_version,
        new_litellm_version=new.litellm_version,
        old_generated_at=old.generated_at,
        new_generated_at=new.generated_at,
    )
    # new's order first (that is the layout the reader is looking at), then
    # cells only the old matrix had
    keys = list(new_cells) + [k for k in old_cells if k not in new_cells]
    for key in keys:
        o, n = old_cells.get(key), new_cells.get(key)
        change = CellChange(
            feature=key[0],
            provider=key[1],
            name=names.get(key[0], key[0]),
            old=o.status if o else None,
            new=n.status if n else None,
            old_error=o.error if o else None,
            new_error=n.error if n else None,
        )
        if o is None:
            cmp.added.append(change)
        elif n is None:
            cmp.removed.append(change)
        elif o.status == "pass" and n.status == "fail":
            cmp.regressions.append(change)
        elif o.status == "fail" and n.status == "pass":
            cmp.fixes.append(change)
        elif o.status != n.status:
            cmp.other_changes.append(change)
        elif o.status == "fail" and o.error != n.error:
            cmp.error_changes.append(change)
        else:
            cmp.unchanged += 1
    return cmp


def _status(s: Status | None) -> str:
    return "(absent)" if s is None else f"{GLYPH[s]} {LABEL[s]}"


def render_comparison(cmp: MatrixComparison) -> str:
    lines = [
        f"old: LiteLLM {cmp.old_litellm_version} (generated {cmp.old_generated_at})",
        f"new: LiteLLM {cmp.new_litellm_version} (generated {cmp.new_generated_at})",
        "",
    ]

    def section(title: str, changes: list[CellChange], show_error: str | None) -> None:
        if not changes:
            return
        lines.append(f"{title} ({len(changes)}):")
        for c in changes:
            lines.append(f"  {c.key}  {_status(c.old)} -> {_status(c.new)}")
            if show_error == "new" and c.new_error:
                lines.append(f"      {c.new_error}")
            elif show_error == "both":
                lines.append(f"      was: {c.old_error}")
                lines.append(f"      now: {c.new_error}")
        lines.append("")

    section("REGRESSIONS pass -> fail", cmp.regressions, "new")
    section("Fixed fail -> pass", cmp.fixes, None)
    section("Other status changes", cmp.other_changes, "new")
    section("Still failing, different error", cmp.error_changes, "both")
    section("Cells added", cmp.added, "new")
    section("Cells removed", cmp.removed, None)
    verdict = (
        f"{len(cmp.regressions)} regression(s): exit {cmp.exit_code}"
        if cmp.regressions
        else "no regressions" + ("" if cmp.changed or cmp.error_changes else ": matrices agree")
    )
    lines.append(f"{cmp.unchanged} cell(s) unchanged; {verdict}")
    return "\n".join(lines) + "\n"

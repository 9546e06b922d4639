"""known-issues.yaml: the red cells we already understand, and what will close each.

The file is reviewed data, so it is validated strictly: unknown keys, duplicate
ids and cells naming an unknown feature or provider are errors that name the
file and the entry. An entry explains a cell only where the cell shows its symptom
(`matches`, a regular expression over the cell's errors, lost fields and findings)
in a LiteLLM release it occurs in (`releases`): a new break on a cell with an old
entry is not tagged with the old fix. An entry whose cells all pass is "ready to
remove" - shown to ccmatrix's maintainers (`ccmatrix html --review`), not on the
default page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ccmatrix import catalog
from ccmatrix.bundled import DEFAULT_KNOWN_ISSUES
from ccmatrix.errors import CcmatrixError
from ccmatrix.report.matrix_json import CellV1, MatrixV1

IssueStatus = Literal["open", "fixed-upstream", "workaround", "environment", "wontfix"]


class KnownIssuesError(CcmatrixError, ValueError):
    """known-issues.yaml is malformed; the message names the file and the entry."""


class KnownIssue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")  # used as an HTML anchor
    title: str = Field(min_length=1)
    cells: tuple[str, ...] = Field(min_length=1)  # "feature/provider", canonical ids
    symptom: str = Field(min_length=1)
    status: IssueStatus
    fix: str = Field(min_length=1)  # the change that will close it: a link or a sentence
    fixed_in: str | None = None  # LiteLLM release carrying the fix, when known
    # the symptom as a regular expression: the issue is shown on a cell only when the
    # cell's errors, lost fields or findings show it (a cell red for another reason is
    # not explained by this entry)
    matches: str = Field(min_length=1)
    # the LiteLLM releases it occurs in (PEP 440, e.g. "<1.84.0"); absent: any release
    releases: str | None = None

    @field_validator("matches")
    @classmethod
    def _a_pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @field_validator("releases")
    @classmethod
    def _a_range(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                SpecifierSet(value)
            except InvalidSpecifier:
                raise ValueError(f"{value!r} is not a PEP 440 release range (like '<1.84.0')") from None
        return value

    def in_release(self, version: str) -> bool:
        if self.releases is None:
            return True
        try:
            return Version(version) in SpecifierSet(self.releases)
        except InvalidVersion:
            return True  # a version ccmatrix cannot read (a source tree's own): not ruled out

    def shows_in(self, cell: CellV1) -> bool:
        """The cell's own words show the symptom: its error, a tier's error, lost field or
        finding."""
        texts = [cell.error or ""]
        for tier in (cell.tiers or {}).values():
            texts += [tier.error or "", *tier.diff, *(str(f.get("message", "")) for f in tier.findings)]
        pattern = re.compile(self.matches)
        return any(pattern.search(t) for t in texts if t)

    @field_validator("cells", mode="before")
    @classmethod
    def _known_cells(cls, value: Any) -> Any:
        if not isinstance(value, (list, tuple)):
            return value  # let pydantic report the type error
        out = []
        for i, cell in enumerate(value):
            if not isinstance(cell, str) or cell.count("/") != 1:
                raise ValueError(f"cells[{i}]: {cell!r} is not 'feature/provider'")
            f, p = cell.split("/")
            try:
                # canonicalize old row ids (extended_thinking -> thinking) so the
                # matrix lookup below is by the id a run actually emits
                out.append(f"{catalog.feature(f).id}/{catalog.provider(p).id}")
            except catalog.CatalogError as exc:
                raise ValueError(f"cells[{i}]: {exc}") from None
        if len(set(out)) != len(out):
            raise ValueError("cells lists a cell twice")
        return tuple(out)

    def cell_keys(self) -> list[tuple[str, str]]:
        return [tuple(c.split("/")) for c in self.cells]  # type: ignore[misc]

    def ready_to_remove(self, matrix: MatrixV1) -> bool:
        """Every cell passes: the issue no longer shows in the matrix. A cell absent
        from the matrix does not count as passing (nothing was measured)."""
        cells = matrix.cells()
        return all((c := cells.get(key)) is not None and c.status == "pass" for key in self.cell_keys())


def _parse_entries(data: Any, label: str) -> list[KnownIssue]:
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {"issues"} or not isinstance(data["issues"], (list, type(None))):
        raise KnownIssuesError(f"{label}: expected a mapping with a single key 'issues' holding a list of entries")
    issues: list[KnownIssue] = []
    seen: set[str] = set()
    for i, entry in enumerate(data["issues"] or []):
        ident = entry.get("id") if isinstance(entry, dict) else None
        where = f"{label}: entry {i}" + (f" (id {ident!r})" if ident else "")
        if not isinstance(entry, dict):
            raise KnownIssuesError(f"{where}: expected a mapping, got {type(entry).__name__}")
        try:
            issue = KnownIssue.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '<entry>'}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            )
            raise KnownIssuesError(f"{where}: {problems}") from None
        if issue.id in seen:
            raise KnownIssuesError(f"{where}: duplicate id {issue.id!r}")
        seen.add(issue.id)
        issues.append(issue)
    return issues


def load_known_issues(path: "str | os.PathLike[str]" = DEFAULT_KNOWN_ISSUES) -> list[KnownIssue]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KnownIssuesError(f"{path}: no such file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnownIssuesError(f"{path}: not valid YAML: {exc}") from None
    return _parse_entries(data, str(path))


def issues_by_cell(issues: list[KnownIssue], matrix: MatrixV1) -> dict[tuple[str, str], list[KnownIssue]]:
    """(feature, provider) -> the issues that explain what the matrix shows there: listed
    for the cell, in the matrix's LiteLLM release range, and the cell shows the symptom."""
    cells = matrix.cells()
    out: dict[tuple[str, str], list[KnownIssue]] = {}
    for issue in issues:
        if not issue.in_release(matrix.litellm_version):
            continue
        for key in issue.cell_keys():
            cell = cells.get(key)
            if cell is not None and issue.shows_in(cell):
                out.setdefault(key, []).append(issue)
    return out


# URLs in a `fix` text; renderers turn these (and only these) into links
URL_PATTERN = re.compile(r"https?://[^\s<>\"')]+")

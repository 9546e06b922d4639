"""Shards of one run joined into one (`ccmatrix merge`): each cell from the shard that ran it.

Each run writes its whole result beside its reports (RUN_FILENAME); this reads those.
How cells are dealt into shards: ccmatrix.run.shards.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ccmatrix import catalog
from ccmatrix.errors import CcmatrixError
from ccmatrix.verdict.results import CellResult, RunResult, matrix_rows

RUN_FILENAME = "ccmatrix-run.json"  # the whole run (every tier's diffs and findings): what merge reads


class MergeError(CcmatrixError):
    pass


def load_run(path: Path) -> RunResult:
    """A shard's result: its out folder, or the RUN_FILENAME file in it."""
    file = path / RUN_FILENAME if path.is_dir() else path
    try:
        return RunResult.model_validate_json(file.read_bytes())
    except FileNotFoundError:
        raise MergeError(f"{file}: no such file (a `ccmatrix run --out` folder holds one)") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise MergeError(f"{file}: not a ccmatrix run result: {where}: {first['msg']}") from None


def _ran(cell: CellResult) -> bool:
    return bool(cell.tiers)  # a cell a run left out has no tier results


def merge(runs: list[tuple[str, RunResult]]) -> RunResult:
    """One run from shards of the same run: each cell from the shard that ran it.
    Shards of different LiteLLM releases, clients or modes, or two shards that ran
    the same cell, are refused (naming them)."""
    if not runs:
        raise MergeError("merge needs at least one shard")
    first_name, first = runs[0]
    for name, run in runs[1:]:
        for field in ("litellm_version", "claude_code_version", "client", "mode", "proxy_config"):
            if getattr(run, field) != getattr(first, field):
                raise MergeError(f"{name}: {field} is {getattr(run, field)!r}, {first_name} has "
                                 f"{getattr(first, field)!r}: not shards of one run")
    owner: dict[tuple[str, str], str] = {}
    cells: dict[tuple[str, str], CellResult] = {}
    for name, run in runs:
        for row in run.rows + run.fault_rows:
            for provider, cell in row.cells.items():
                key = (row.id, provider)
                if not _ran(cell):
                    continue
                if key in owner:
                    raise MergeError(f"{name} and {owner[key]} both ran {row.id}/{provider}: overlapping shards")
                owner[key], cells[key] = name, cell
    shown = {p for _, run in runs for p in run.providers}
    rows, fault_rows = matrix_rows(cells, tuple(p for p in catalog.ALL_PROVIDERS if p.id in shown))
    return first.model_copy(update={"rows": rows, "fault_rows": fault_rows, "stacks": sum(r.stacks for _, r in runs),
                                    "generated_at": max(r.generated_at for _, r in runs)})

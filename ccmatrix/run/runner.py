"""A run: the selected cells through one LiteLLM proxy, in replay or record mode.

    catalog -> client scenario -> LiteLLM proxy -> recorder addon -> verdict -> RunResult
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Literal

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.client import ClientCapture, load_capture, send_turns
from ccmatrix.litellm_env import LiteLLMEnv
from ccmatrix.results import CellResult, FeatureRow, RunResult, TierResult
from ccmatrix.stack import Stack
from ccmatrix.verdict import judge

Mode = Literal["replay", "emulate", "live"]


class ConfigError(Exception):
    """Bad input found before anything ran (exit 2)."""


@dataclass
class Plan:
    """Everything a run reads, loaded and validated before any process starts."""

    cells: list[catalog.Cell]
    captures: dict[tuple[str, str], ClientCapture]
    cassettes: dict[str, cassettes.Cassette]


def plan(cells: list[catalog.Cell], root: Path, mode: Mode) -> Plan:
    captures: dict[tuple[str, str], ClientCapture] = {}
    recorded: dict[str, cassettes.Cassette] = {}
    try:
        for cell in cells:
            if cell.not_applicable_reason:
                continue
            key = (cell.feature.scenario, cell.tier.id)
            if key not in captures:
                captures[key] = load_capture(*key, root=root)
            if mode == "replay":
                recorded[cell.id] = cassettes.load(cell.cassette_path(root), root)
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    return Plan(cells, captures, recorded)


def _not_tested(cell: catalog.Cell, reason: str) -> TierResult:
    return TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                      model_alias=cell.proxy_model, status="not_tested", reason=reason)


def run_cells(
    the_plan: Plan,
    stack: Stack,
    mode: Mode,
    strict: bool = False,
    on_result: Callable[[TierResult], None] | None = None,
) -> list[TierResult]:
    results = []
    for cell in the_plan.cells:
        reason = cell.not_applicable_reason
        if reason:
            if mode != "replay":  # a cell that stopped applying keeps no stale cassette
                cell.cassette_path(stack.cassettes).unlink(missing_ok=True)
            result = TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                model_alias=cell.proxy_model, status="not_applicable", reason=reason)
        else:
            result = run_cell(cell, the_plan, stack, mode, strict)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def run_cell(cell: catalog.Cell, the_plan: Plan, stack: Stack, mode: Mode, strict: bool) -> TierResult:
    capture = the_plan.captures[(cell.feature.scenario, cell.tier.id)]
    provenance = {
        "litellm_version": stack.litellm.version,
        "claude_code_version": capture.provenance.get("claude_code_version"),
        "ccmatrix_version": __version__,
    }
    stack.begin_cell(cell, provenance)
    try:
        client = send_turns(stack.http, capture, cell.proxy_model)
    finally:
        seen = stack.end_cell()
    recorded = the_plan.cassettes.get(cell.id)
    result = judge(cell, client, seen["exchanges"], recorded, strict=strict)
    if mode != "replay":
        stack.write_cell({"status": result.status, "error": result.error})
    return result


def assemble(results: list[TierResult], *, mode: str, litellm_version: str, claude_code_version: str) -> RunResult:
    """All rows x providers; cells without results are not_tested, with a reason."""
    by_cell: dict[tuple[str, str], list[TierResult]] = {}
    for r in results:
        by_cell.setdefault((r.feature, r.provider), []).append(r)
    rows = []
    for feature in catalog.FEATURES:
        cells = {}
        for provider in catalog.PROVIDERS:
            tiers = by_cell.get((feature.id, provider.id))
            if tiers:
                cells[provider.id] = CellResult.aggregate(feature.id, provider.id, tiers)
            else:
                reason = ("no captured Claude Code traffic for this row yet" if not feature.implemented
                          else "not selected in this run")
                cells[provider.id] = CellResult(feature=feature.id, provider=provider.id,
                                                status="not_tested", reason=reason)
        rows.append(FeatureRow(id=feature.id, name=feature.name, cells=cells))
    return RunResult(
        mode={"replay": "replay", "emulate": "record-emulate", "live": "record-live"}[mode],
        litellm_version=litellm_version,
        claude_code_version=claude_code_version,
        ccmatrix_version=__version__,
        providers=[p.id for p in catalog.PROVIDERS],
        rows=rows,
    )


def execute(
    cells: list[catalog.Cell],
    *,
    mode: Mode,
    litellm: LiteLLMEnv,
    root: Path = catalog.DEFAULT_CASSETTE_DIR,
    strict: bool = False,
    on_result: Callable[[TierResult], None] | None = None,
    credentials: dict[str, str] | None = None,
) -> RunResult:
    the_plan = plan(cells, root, mode)
    providers = [p for p in catalog.PROVIDERS if any(c.provider == p for c in cells)]
    with Stack.start(mode, root, litellm, providers=providers, credentials=credentials) as stack:
        results = run_cells(the_plan, stack, mode, strict, on_result)
    if mode != "replay":
        cassettes.prune_blobs(root)
    cc_versions = {c.provenance.get("claude_code_version") for c in the_plan.captures.values()}
    return assemble(results, mode=mode, litellm_version=litellm.version,
                    claude_code_version=", ".join(sorted(v for v in cc_versions if v)) or catalog.CLAUDE_CODE_VERSION)

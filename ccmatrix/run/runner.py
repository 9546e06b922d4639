"""A run: the selected cell tiers through one LiteLLM proxy, in replay or record mode.

    catalog -> client capture -> LiteLLM proxy -> recorder addon -> verdict -> RunResult

What happens is reported to a `RunObserver` as it goes (the CLI's progress bar,
the pytest plugin, the benchmark's timers), so nobody needs to wrap or patch
the runner to watch it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.cassette import RecordedVerdict
from ccmatrix.client.capture_format import ClientCapture, load_capture
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.driver import ClientExchange, send_turns
from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.stack import Stack
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING
from ccmatrix.verdict.judge import judge
from ccmatrix.verdict.results import CellResult, FeatureRow, RunResult, TierResult

Mode = Literal["replay", "emulate", "live"]


class ConfigError(CcmatrixError):
    """Bad input found before anything ran (exit 2)."""


class RunObserver:
    """What a run reports as it goes. Every hook is a no-op here: override what you need."""

    def stack_started(self, stack: Stack, seconds: float) -> None:
        """Both processes answer; `stack.start_seconds` has each part's share."""

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        """One step of a cell tier: "begin_cell", "client", "end_cell", "judge", "write_cell"."""

    def client_done(self, cell: catalog.CellTier, exchanges: list[ClientExchange]) -> None:
        """What the client got back, turn by turn."""

    def tier_done(self, result: TierResult) -> None:
        """A cell tier's verdict (not-applicable tiers included)."""

    def stack_stopping(self, stack: Stack) -> None:
        """The last moment the processes are alive (their pids in `stack.processes`)."""

    def stack_stopped(self, seconds: float) -> None:
        """Both processes are gone; `seconds` is how long stopping took."""


@dataclass
class Plan:
    """Everything a run reads, loaded and validated before any process starts."""

    cell_tiers: list[catalog.CellTier]
    captures: dict[tuple[str, str], ClientCapture]
    cassettes: dict[str, cassettes.Cassette]  # cell tier id -> its cassette (replay)

    def capture_for(self, cell: catalog.CellTier) -> ClientCapture:
        return self.captures[(cell.feature.scenario, cell.tier.id)]


def plan(cell_tiers: list[catalog.CellTier], root: Path, mode: Mode) -> Plan:
    captures: dict[tuple[str, str], ClientCapture] = {}
    recorded: dict[str, cassettes.Cassette] = {}
    try:
        for cell in cell_tiers:
            if cell.not_applicable_reason:
                continue
            key = (cell.feature.scenario, cell.tier.id)
            if key not in captures:
                captures[key] = load_capture(*key, root=root)
            if mode == "replay":
                recorded[cell.id] = cassettes.load(cell.cassette_path(root), root)
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    return Plan(cell_tiers, captures, recorded)


def run_tiers(the_plan: Plan, stack: Stack, mode: Mode, strict: bool = False,
              observer: RunObserver | None = None, chunkings: list[str] | None = None) -> list[TierResult]:
    observer = observer or RunObserver()
    results = []
    for cell in the_plan.cell_tiers:
        if cell.not_applicable_reason:
            if mode != "replay":  # a cell tier that stopped applying keeps no stale cassette
                cell.cassette_path(stack.cassettes).unlink(missing_ok=True)
            result = TierResult.not_applicable(cell)
        else:
            result = run_tier(cell, the_plan, stack, mode, strict, observer, chunkings)
        results.append(result)
        observer.tier_done(result)
    return results


def run_tier(cell: catalog.CellTier, the_plan: Plan, stack: Stack, mode: Mode, strict: bool = False,
             observer: RunObserver | None = None, chunkings: list[str] | None = None) -> TierResult:
    """One cell tier; in replay, under each of `chunkings` (ccmatrix.recorder.chunking),
    one verdict from them all (see under_chunkings)."""
    chunkings = chunkings or [DEFAULT_CHUNKING]
    recorded = the_plan.cassettes.get(cell.id)
    if recorded is not None and not any(i.response.stream is not None for i in recorded.interactions):
        chunkings = chunkings[:1]  # chunkings cut streams only: nothing to cut, one run says it all
    return under_chunkings([(name, run_once(cell, the_plan, stack, mode, strict, observer, name))
                            for name in chunkings])


def under_chunkings(runs: list[tuple[str, TierResult]]) -> TierResult:
    """One verdict from a tier's runs under several chunkings: the first run's when it
    fails or all pass; else the first failure, naming its chunking (the failure depends
    on how the stream was cut)."""
    name, chosen = next(((n, r) for n, r in runs if r.status == "fail"), runs[0])
    if chosen is not runs[0][1]:
        chosen.error = f"under chunking {name}: {chosen.error or 'failed'}"
        chosen.failed_checks = [f"chunking:{name}", *chosen.failed_checks]
    chosen.chunkings = [n for n, _ in runs]
    return chosen


def run_once(cell: catalog.CellTier, the_plan: Plan, stack: Stack, mode: Mode, strict: bool = False,
             observer: RunObserver | None = None, chunking: str = DEFAULT_CHUNKING) -> TierResult:
    """One cell tier, once: select it in the recorder, send the client's turns, judge what happened."""
    observer = observer or RunObserver()
    capture = the_plan.capture_for(cell)
    provenance = {
        "litellm_version": stack.litellm_env.version,
        "claude_code_version": capture.provenance.get("claude_code_version"),
        "ccmatrix_version": __version__,
    }

    def timed(name: str, fn, *args):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            observer.step(cell, name, time.perf_counter() - t0)

    timed("begin_cell", stack.begin_cell, cell, provenance, chunking)
    try:
        client = timed("client", send_turns, stack.http, capture, cell.proxy_model)
    finally:
        seen = timed("end_cell", stack.end_cell)
    observer.client_done(cell, client)
    result = timed("judge", judge, cell, client, seen.exchanges, the_plan.cassettes.get(cell.id), strict)
    if mode != "replay":
        timed("write_cell", stack.write_cell, RecordedVerdict(status=result.status, error=result.error))
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
    cell_tiers: list[catalog.CellTier],
    *,
    mode: Mode,
    litellm: LiteLLMEnv,
    root: Path = DEFAULT_CASSETTE_DIR,
    strict: bool = False,
    observer: RunObserver | None = None,
    credentials: dict[str, str] | None = None,
    chunkings: list[str] | None = None,
) -> RunResult:
    observer = observer or RunObserver()
    if chunkings and chunkings != [DEFAULT_CHUNKING] and mode != "replay":
        raise ConfigError("--chunkings: chunkings cut replayed streams; a recording takes the provider's own")
    the_plan = plan(cell_tiers, root, mode)
    providers = [p for p in catalog.PROVIDERS if any(c.provider == p for c in cell_tiers)]
    t0 = time.perf_counter()
    stack = Stack.start(mode, root, litellm, providers=providers, credentials=credentials)
    try:
        observer.stack_started(stack, time.perf_counter() - t0)
        results = run_tiers(the_plan, stack, mode, strict, observer, chunkings)
    finally:
        observer.stack_stopping(stack)
        t0 = time.perf_counter()
        stack.stop()
        observer.stack_stopped(time.perf_counter() - t0)
    if mode != "replay":
        cassettes.prune_blobs(root)
    cc_versions = {c.provenance.get("claude_code_version") for c in the_plan.captures.values()}
    return assemble(results, mode=mode, litellm_version=litellm.version,
                    claude_code_version=", ".join(sorted(v for v in cc_versions if v)) or CLAUDE_CODE_VERSION)

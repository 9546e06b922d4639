#!/usr/bin/env python
"""How much does ccmatrix cost on top of the LiteLLM proxy it tests?

Two measurements, in the same run, against the same LiteLLM environment, both through
the same core (`ccmatrix.run.runner.execute`: plan, stack start, each cell tier's
begin -> client -> end -> judge, stop), with the same cells and the same client driving:

  ccmatrix  `runner.execute(cells, env, RunOptions(jobs=J))`: mitmdump with ccmatrix's
            recorder addons (replay matching, contract and credential checks, exchange
            and client-leg records), LiteLLM behind it, every verdict.
  floor     `runner.execute(share, env, RunOptions(), mitmdump=<floor mitmdump>)`: the
            same mitmdump (TLS interception, same CA), the same LiteLLM behind it (same
            config, environment and credential modes), but loaded with bench/floor_addon.py
            instead of the recorder addons: ccmatrix's control channel, and each upstream
            request answered at once with the next recorded response of the cell (no
            matching, no checks, nothing recorded; /cell/end answers an empty CellEnd).
            With J stacks, J floor mitmdumps, each with its share of whole cells (the deal
            `execute` makes), side by side.

    python bench/replay_bench.py [--repeat N] [--jobs 1,2] [--litellm SPEC] [-p PROVIDER ...] [--json FILE]

It prints figures and ratios; it never judges them (exit 1 only on errors: a
process that does not start, or a floor that did not do the same work as the
ccmatrix run, i.e. a cell whose client saw different statuses).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ccmatrix import catalog
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.errors import CcmatrixError
from ccmatrix.proxy.litellm_env import LiteLLMEnv, resolve
from ccmatrix.proxy.mitmdump import Mitmdump
from ccmatrix.proxy.process import free_port
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING, parse_chunkings
from ccmatrix.recorder.mode import Upstream
from ccmatrix.run import runner

TARGET_SECONDS = 60.0  # the target: a full replay of all cells under a minute on 2 cores
GOAL_RATIO = 1.1  # the goal: ccmatrix within 1.1x of the floor (reported, never enforced)
FLOOR_SCRIPT = Path(__file__).resolve().parent / "floor_addon.py"


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- measuring


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of a live process, from /proc; None where unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB -> MB
    except (OSError, ValueError, IndexError):
        pass
    return None


@dataclass
class Measurement:
    kind: str  # "ccmatrix" | "floor" | "ccmatrix --client cli" ...
    jobs: int = 1  # stacks side by side
    total: float = 0.0  # wall time, start to stop, plan and proxy start included
    start: float = 0.0  # processes up and answering (the slowest stack)
    start_parts: dict[str, float] = field(default_factory=dict)  # mitmdump, litellm (the slowest stack's)
    cells: float = 0.0  # all cells, stack started to stack stopping (the slowest stack)
    stop: float = 0.0  # the slowest stack
    n_cells: int = 0
    peak_rss_mb: dict[str, float | None] = field(default_factory=dict)  # per process, the largest stack's
    client_statuses: dict[str, list[int]] = field(default_factory=dict)
    client_errors: dict[str, str] = field(default_factory=dict)  # the first error a cell's client got
    cell_seconds: dict[str, float] = field(default_factory=dict)  # client turns, per cell
    # time per step summed over all cells (and stacks): begin_cell, end_cell, judge
    steps: dict[str, float] = field(default_factory=dict)
    client_runs: int = 0  # cell tiers' client runs (more than cells under several chunkings)
    verdicts: dict[str, int] = field(default_factory=dict)  # tier status -> how many

    @property
    def client_turns(self) -> float:
        return sum(self.cell_seconds.values())

    @property
    def per_cell(self) -> float:
        return self.cells / self.n_cells if self.n_cells else 0.0


def record_client(m: Measurement, key: str, outcome: ClientOutcome) -> None:
    """The statuses the client got, request by request (the captured client and probes
    say; the CLI client's requests are its own business: only its failure is kept)."""
    if "statuses" in outcome.detail:
        m.client_statuses[key] = list(outcome.detail["statuses"])
    elif outcome.probe is not None:
        m.client_statuses[key] = [outcome.probe.status or 0]
    if outcome.failure:
        m.client_errors[key] = outcome.failure[:300]


class Timing(runner.RunObserver):
    """Times a run's phases through the runner's own observer hooks: it changes nothing
    the run does. Several stacks report from threads of their own (one per stack): each
    phase is the slowest stack's, each step the sum over all stacks."""

    def __init__(self, m: Measurement) -> None:
        self.m = m
        self.lock = threading.Lock()
        self.cells_started: dict[int, float] = {}  # per stack's thread

    def stack_started(self, stack: Any, seconds: float) -> None:
        with self.lock:
            self.m.start = max(self.m.start, seconds)
            for part, s in stack.start_seconds.items():
                self.m.start_parts[part] = max(self.m.start_parts.get(part, 0.0), s)
            self.cells_started[threading.get_ident()] = time.perf_counter()

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        with self.lock:
            if name == "client":
                self.m.cell_seconds[cell.id] = self.m.cell_seconds.get(cell.id, 0.0) + seconds
                self.m.client_runs += 1
            else:
                self.m.steps[name] = self.m.steps.get(name, 0.0) + seconds

    def client_done(self, cell: catalog.CellTier, outcome: ClientOutcome) -> None:
        with self.lock:
            record_client(self.m, cell.id, outcome)

    def tier_done(self, result: Any) -> None:
        with self.lock:
            self.m.verdicts[result.status] = self.m.verdicts.get(result.status, 0) + 1

    def stack_stopping(self, stack: Any) -> None:
        now = time.perf_counter()
        rss = {proc.name: peak_rss_mb(proc.pid) for proc in stack.processes}
        with self.lock:
            self.m.cells = max(self.m.cells, now - self.cells_started.pop(threading.get_ident(), now))
            for name, mb in rss.items():
                known = self.m.peak_rss_mb.get(name)
                self.m.peak_rss_mb[name] = mb if known is None or (mb is not None and mb > known) else known

    def stack_stopped(self, seconds: float) -> None:
        with self.lock:
            self.m.stop = max(self.m.stop, seconds)


# ---------------------------------------------------------------- ccmatrix


def run_ccmatrix(cells: list[catalog.CellTier], env: LiteLLMEnv, root: Path, jobs: int = 1,
                 chunkings: list[str] | None = None, client: str = "captured") -> Measurement:
    m = Measurement("ccmatrix" if client == "captured" else f"ccmatrix --client {client}", jobs=jobs)
    options = runner.RunOptions(root=root, jobs=jobs, chunkings=tuple(chunkings or ()), client=client)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    runner.execute(cells, env, options, observer=Timing(m))
    m.total = time.perf_counter() - t0
    m.n_cells = len(m.cell_seconds)
    return m


# ---------------------------------------------------------------- the floor


def deal(cells: list[catalog.CellTier], jobs: int) -> list[list[catalog.CellTier]]:
    """The shares `runner.execute` gives `jobs` stacks side by side: its own shards."""
    shares = [runner.shard(cells, f"{k}/{jobs}") for k in range(1, jobs + 1)]
    return [share for share in shares if share]


def run_floor(cells: list[catalog.CellTier], env: LiteLLMEnv, root: Path, jobs: int,
              verbose: bool) -> Measurement:
    """The same cells through the same core, on `jobs` stacks behind floor mitmdumps."""
    m = Measurement("floor", jobs=jobs)
    observer = Timing(m)
    options = runner.RunOptions(root=root)  # one stack per execute(): each its own floor mitmdump
    shares = deal(cells, jobs)
    stops: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ccmatrix-bench-floor-") as tmp:
        dumps = [Mitmdump(Upstream.REPLAY, root, log=Path(tmp) / f"mitmdump-{k}.log",
                          client_target=f"http://127.0.0.1:{free_port()}", script=FLOOR_SCRIPT)
                 for k in range(len(shares))]

        def on_a_stack(share: list[catalog.CellTier], mitmdump: Mitmdump) -> None:
            try:
                mitmdump.launch()  # as the stack launches its own: beside LiteLLM's start
                runner.execute(share, env, options, observer=observer, mitmdump=mitmdump)
            finally:
                t1 = time.perf_counter()
                mitmdump.stop()  # the stack leaves a mitmdump it was given running
                stops.append(time.perf_counter() - t1)

        t0 = time.perf_counter()
        try:
            if len(shares) == 1:
                on_a_stack(shares[0], dumps[0])
            else:
                with ThreadPoolExecutor(len(shares), thread_name_prefix="floor-stack") as pool:
                    for future in [pool.submit(on_a_stack, s, d) for s, d in zip(shares, dumps)]:
                        future.result()
        finally:
            m.total = time.perf_counter() - t0
            logs = [d.log.read_text(errors="replace") if d.log.exists() else "" for d in dumps]
    m.stop += max(stops, default=0.0)
    m.n_cells = len(m.cell_seconds)
    lines = [line for log in logs for line in log.splitlines()]
    if verbose:
        print("floor upstream requests:", *[x for x in lines if x.startswith("floor: ")], sep="\n  ", file=sys.stderr)
    errors = [x.removeprefix("floor error: ") for x in lines if x.startswith("floor error: ")]
    if errors:
        raise BenchError("the floor's upstream saw requests it had no recording for:\n  " + "\n  ".join(errors))
    return m


# ---------------------------------------------------------------- report


def compare_work(floor: Measurement, cc: Measurement) -> list[str]:
    """The floor must have done what the ccmatrix run did: same cells, same client statuses."""
    problems = []
    for key in sorted(set(floor.client_statuses) | set(cc.client_statuses)):
        f, c = floor.client_statuses.get(key), cc.client_statuses.get(key)
        if f != c:
            why = floor.client_errors.get(key) or cc.client_errors.get(key) or ""
            problems.append(f"{key}: client statuses floor={f} ccmatrix={c}" + (f"; {why}" if why else ""))
    return problems


def _mb(value: float | None) -> str:
    return f"{value:.0f} MB" if value is not None else "n/a"


def _ratio(c: float, f: float, width: int = 7) -> str:
    return f"{c / f:>{width}.2f}" if f > 0 else f"{'-':>{width}}"


def report(pairs: list[tuple[Measurement, Measurement, str]], n_cells: int) -> dict[str, Any]:
    """One stack count's run table and breakdown."""
    jobs = pairs[0][1].jobs
    print()
    print(f"== {'one stack' if jobs == 1 else f'{jobs} stacks side by side'} (--jobs {jobs}) ==")
    print(f"{'run':>3}  {'order':<14} {'floor s':>8} {'ccmatrix s':>11} {'ratio':>6} {'overhead/cell':>14}")
    for i, (floor, cc, order) in enumerate(pairs, 1):
        print(f"{i:>3}  {order:<14} {floor.total:>8.2f} {cc.total:>11.2f} {cc.total / floor.total:>6.2f} "
              f"{(cc.total - floor.total) / n_cells * 1000:>11.0f} ms")
    if len(pairs) > 1:
        best_f, best_c = min(p[0].total for p in pairs), min(p[1].total for p in pairs)
        print(f"{'min':>3}  {'(each column)':<14} {best_f:>8.2f} {best_c:>11.2f} {best_c / best_f:>6.2f} "
              f"{(best_c - best_f) / n_cells * 1000:>11.0f} ms")

    def med(values: list[float]) -> float:
        return statistics.median(values)

    floors, ccs = [p[0] for p in pairs], [p[1] for p in pairs]

    def both(get: Any) -> tuple[float, float]:
        return med([get(f) for f in floors]), med([get(c) for c in ccs])

    row = {
        "total": both(lambda m: m.total),
        "start": both(lambda m: m.start),
        "cells": both(lambda m: m.cells),
        "client": both(lambda m: m.client_turns),
        "per_cell": both(lambda m: m.per_cell),
        "stop": both(lambda m: m.stop),
    }
    names = {
        "total": "total (plan to stop)",
        "start": "stack start",
        "cells": f"all {n_cells} cells",
        "client": "  client turns",
        "per_cell": "per cell (mean)",
        "stop": "stop",
    }
    # parts, printed under their parent line, for both sides
    parts = {
        "start": [(f"  {name}", both(lambda m, n=name: m.start_parts.get(n, 0.0))) for name in ("mitmdump", "litellm")],
        "client": [(f"  {name}", both(lambda m, n=name: m.steps.get(n, 0.0)))
                   for name in ("begin_cell", "end_cell", "judge")],
    }
    label = "median " if len(pairs) > 1 else ""
    print()
    if jobs > 1:
        print("(phases: the slowest stack's; client turns and steps: both stacks' sum)")
    print(f"{label + 'breakdown':<26} {'floor':>10} {'ccmatrix':>10} {'ratio':>7}")
    for key, (f, c) in row.items():
        scale, unit = (1000, "ms") if key == "per_cell" else (1, "s ")
        print(f"{names[key]:<26} {f * scale:>7.2f} {unit} {c * scale:>7.2f} {unit} {_ratio(c, f)}")
        for name, (pf, pc) in parts.get(key, []):
            print(f"{name:<26} {pf:>7.2f} s  {pc:>7.2f} s  {_ratio(pc, pf)}")
    overhead_total = (row["total"][1] - row["total"][0]) / n_cells
    overhead_cells = (row["cells"][1] - row["cells"][0]) / n_cells
    print()
    print(f"overhead per cell: {overhead_total * 1000:.0f} ms all in (start included), "
          f"{overhead_cells * 1000:.0f} ms per cell once running")
    last_c, last_f = ccs[-1], floors[-1]
    print(f"peak RSS (VmHWM, per stack): ccmatrix mitmdump {_mb(last_c.peak_rss_mb.get('mitmdump'))}, "
          f"LiteLLM {_mb(last_c.peak_rss_mb.get('litellm'))}; floor mitmdump {_mb(last_f.peak_rss_mb.get('mitmdump'))}, "
          f"LiteLLM {_mb(last_f.peak_rss_mb.get('litellm'))}")
    return {
        "jobs": jobs,
        "ratio": row["total"][1] / row["total"][0],
        "median": {k: {"floor": f, "ccmatrix": c} for k, (f, c) in row.items()},
        "runs": [{"order": o, "floor": asdict(f), "ccmatrix": asdict(c)} for f, c, o in pairs],
    }


def report_cli(cli: Measurement, captured: list[Measurement], n_cells: int) -> dict[str, Any]:
    """`--client cli` (the CLI runs every row, on one stack) against the captured-request client, same cells."""
    base = statistics.median(m.total for m in captured)
    per_run = [s for s in cli.cell_seconds.values()]
    print()
    print(f"--client cli: {cli.total:.2f} s for {n_cells} cell tier(s), against {base:.2f} s with the captured "
          f"client (--jobs {captured[0].jobs}): {cli.total / base:.2f}x; the CLI's own runs {sum(per_run):.1f} s "
          f"in all, {statistics.median(per_run) if per_run else 0:.2f} s median per tier")
    return {"total": cli.total, "captured_total": base, "captured_jobs": captured[0].jobs,
            "client_seconds": sum(per_run), "failures": sorted(cli.client_errors)}


def report_chunkings(chunked: Measurement, default: list[Measurement], chunkings: list[str],
                     n_cells: int) -> dict[str, Any]:
    """What `--chunkings` costs against the default (one coalesced write per stream), same stacks."""
    base = statistics.median(m.total for m in default)
    runs = chunked.client_runs
    print()
    print(f"--chunkings {','.join(chunkings)} (--jobs {chunked.jobs}): {chunked.total:.2f} s for {n_cells} cell "
          f"tier(s) ({runs} client runs: tiers without a stream run once), against {base:.2f} s coalesced: "
          f"{chunked.total / base:.2f}x, {(chunked.total - base) / n_cells * 1000:.0f} ms more per cell tier")
    return {"chunkings": chunkings, "jobs": chunked.jobs, "total": chunked.total, "default_total": base,
            "client_runs": runs}


# ---------------------------------------------------------------- main


def recorded_cells(cells: list[catalog.CellTier], root: Path) -> tuple[list[catalog.CellTier], list[str]]:
    """The cells a replay can run: their cassette exists (or they are n/a).

    A row being added has its catalog entry before its recordings; the bench
    measures what can be replayed and says what it left out.
    """
    keep, missing = [], []
    for cell in cells:
        if cell.not_applicable_reason or cell.cassette_path(root, CLAUDE_CODE_VERSION).exists():
            keep.append(cell)
        else:
            missing.append(cell.id)
    return keep, missing


def parse_jobs(value: str) -> list[int]:
    try:
        jobs = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        jobs = []
    if not jobs or min(jobs) < 1:
        raise ValueError(f"--jobs {value!r}: stack counts, comma-separated, each at least 1 (e.g. 1,2)")
    return list(dict.fromkeys(jobs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="measure N times (order alternates); default 1")
    parser.add_argument("--litellm", default=None, help="LiteLLM release or environment path (default: ccmatrix's default)")
    parser.add_argument("--feature", "-f", action="append", default=[], help="feature id; repeatable; default all implemented")
    parser.add_argument("--provider", "-p", action="append", default=[], help="provider id; repeatable")
    parser.add_argument("--tier", "-t", action="append", default=[], help="tier id; repeatable")
    parser.add_argument("--cassettes", type=Path, default=DEFAULT_CASSETTE_DIR)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    parser.add_argument("--verbose", "-v", action="store_true", help="list the floor's upstream requests")
    parser.add_argument("--chunkings", default="all",
                        help="also time one ccmatrix run under these stream chunkings (as `ccmatrix run --chunkings`); "
                             "default all; 'coalesced' (the default chunking) skips it")
    parser.add_argument("--jobs", default="1,2",
                        help="stack counts to measure, comma-separated: each is a floor/ccmatrix pair on that many "
                             "stacks side by side (ccmatrix run --jobs); default 1,2")
    parser.add_argument("--no-cli", action="store_true",
                        help="skip timing `--client cli` (the pinned Claude Code CLI as the client)")
    args = parser.parse_args(argv)
    try:
        chunkings = parse_chunkings(args.chunkings)
        jobs_list = parse_jobs(args.jobs)
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    try:
        cells, missing = recorded_cells(catalog.select(args.feature, args.provider, args.tier), args.cassettes)
        if missing:
            print(f"skipping {len(missing)} implemented cell(s) with no cassette or client capture yet: "
                  + ", ".join(missing[:6]) + (" ..." if len(missing) > 6 else ""), file=sys.stderr)
        if not cells:
            raise BenchError("the selection has no implemented cell with a cassette")
        t0 = time.perf_counter()
        env = resolve(args.litellm)
        resolve_s = time.perf_counter() - t0
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        pairs: dict[int, list[tuple[Measurement, Measurement, str]]] = {j: [] for j in jobs_list}
        problems: list[str] = []
        for i in range(args.repeat):
            # alternate which goes first, so neither always gets the colder page cache
            floor_first = i % 2 == 0
            for jobs in jobs_list:
                print(f"[{i + 1}/{args.repeat}] --jobs {jobs}: "
                      f"{'floor, then ccmatrix' if floor_first else 'ccmatrix, then floor'} ...",
                      file=sys.stderr, flush=True)
                if floor_first:
                    floor = run_floor(cells, env, args.cassettes, jobs, args.verbose)
                    cc = run_ccmatrix(cells, env, args.cassettes, jobs)
                else:
                    cc = run_ccmatrix(cells, env, args.cassettes, jobs)
                    floor = run_floor(cells, env, args.cassettes, jobs, args.verbose)
                problems += [f"run {i + 1}, --jobs {jobs}: {p}" for p in compare_work(floor, cc)]
                pairs[jobs].append((floor, cc, "floor first" if floor_first else "ccmatrix first"))
        first = pairs[jobs_list[0]]
        n_cells = first[0][1].n_cells
        cpus = os.cpu_count()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"replay bench: {n_cells} cell tier(s), LiteLLM {env.version} ({env.python}), {cpus} CPU(s), "
              f"{args.repeat} repeat(s); env resolve {resolve_s:.2f} s (not counted); "
              f"load average {load_before:.2f} before, {load:.2f} now")
        figures: dict[str, Any] = {"litellm_version": env.version, "cpus": cpus, "cells": n_cells,
                                   "target_seconds": TARGET_SECONDS, "goal_ratio": GOAL_RATIO,
                                   "load_average": [load_before, load], "jobs": {}}
        for jobs in jobs_list:
            figures["jobs"][str(jobs)] = report(pairs[jobs], n_cells)
        print()
        ratios = ", ".join(f"{'one stack' if j == 1 else f'--jobs {j}'} {figures['jobs'][str(j)]['ratio']:.2f}"
                           for j in jobs_list)
        print(f"ratio ccmatrix / floor (median totals): {ratios}; goal: within {GOAL_RATIO}x "
              "(informational, never an exit status)")
        for jobs in jobs_list:
            full = figures["jobs"][str(jobs)]["median"]["total"]["ccmatrix"]
            print(f"target: full replay under {TARGET_SECONDS:.0f} s on 2 cores, --jobs {jobs}: {full:.1f} s "
                  f"({'within' if full < TARGET_SECONDS else 'over'}; informational, never an exit status)")
        base = [cc for _, cc, _ in first]
        if not args.no_cli:
            print("[cli] ccmatrix --client cli ...", file=sys.stderr, flush=True)
            cli = run_ccmatrix(cells, env, args.cassettes, client="cli")
            figures["cli"] = report_cli(cli, base, n_cells)
        if chunkings != [DEFAULT_CHUNKING]:
            print(f"[chunkings] ccmatrix under {','.join(chunkings)} ...", file=sys.stderr, flush=True)
            chunked = run_ccmatrix(cells, env, args.cassettes, base[0].jobs, chunkings)
            figures["chunkings"] = report_chunkings(chunked, base, chunkings, n_cells)
        figures["problems"] = problems
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        if problems:
            # e.g. a replay mismatch (ccmatrix answers 400) the floor cannot see: the ratio compares unlike work
            raise BenchError("the floor did not do the same work as the ccmatrix run (figures above are not comparable):\n  "
                             + "\n  ".join(problems))
    except (BenchError, CcmatrixError) as exc:
        print(f"replay_bench: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

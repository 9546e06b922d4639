#!/usr/bin/env python
"""How much does ccmatrix cost on top of the LiteLLM proxy it tests?

Two measurements, in the same run, against the same LiteLLM environment:

  ccmatrix  `ccmatrix.runner.execute(cells, mode="replay", ...)`: everything a
            `ccmatrix run` does except writing reports: loading cassettes,
            starting mitmdump + LiteLLM, every cell (control calls, replay
            matching in the addon, verdicts), stopping both processes.
  floor     the same LiteLLM proxy (same environment, same model list, proxy
            start included) answering the same client turns, with no ccmatrix
            around it: no mitmdump, no matching, no verdict. Each provider's
            endpoint (`api_base` / `aws_bedrock_runtime_endpoint`, and the
            Vertex service account's `token_uri`) points at a plain loopback
            server that answers each request at once with the next recorded
            response of the cell's cassette, byte for byte.

    python bench/replay_bench.py [--repeat N] [--litellm SPEC] [-p PROVIDER ...] [--json FILE]

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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.client.driver import captured_outcome, send_requests
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.client.probes import send_probe
from ccmatrix.emulator.exchange import EmulatedRequest, EmulatedResponse, json_response
from ccmatrix.emulator.server import EmulatorServer
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import choose, vertex_ai
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.credentials import fake_credentials
from ccmatrix.proxy.litellm import LiteLLMProxy, base_environment
from ccmatrix.proxy.litellm_env import LiteLLMEnv, resolve
from ccmatrix.proxy.process import StackError
from ccmatrix.proxy.stack import Stack
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING, parse_chunkings
from ccmatrix.run import runner

TARGET_SECONDS = 60.0  # the target: a full replay of all cells under a minute on 2 cores
# framing, encoding, Server and Date are the loopback server's (it sends its own Server: a
# second one makes aiohttp fail the response: "Duplicate 'Server' header found.")
_SKIP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive", "server", "date"}


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
    kind: str  # "ccmatrix" | "floor"
    total: float = 0.0  # wall time, start to stop, proxy start included
    start: float = 0.0  # processes up and answering
    start_parts: dict[str, float] = field(default_factory=dict)
    cells: float = 0.0  # all cells, first begin to last end
    stop: float = 0.0
    n_cells: int = 0
    peak_rss_mb: dict[str, float | None] = field(default_factory=dict)
    client_statuses: dict[str, list[int]] = field(default_factory=dict)
    client_errors: dict[str, str] = field(default_factory=dict)  # the first error a cell's client got
    cell_seconds: dict[str, float] = field(default_factory=dict)  # client turns, per cell
    # ccmatrix only: time per step summed over all cells (begin_cell, end_cell, judge)
    steps: dict[str, float] = field(default_factory=dict)
    client_runs: int = 0  # cell tiers' client runs (more than cells under several chunkings)

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


# ---------------------------------------------------------------- ccmatrix


class Timing(runner.RunObserver):
    """Times the run's phases through the runner's own observer hooks: it changes
    nothing the run does."""

    def __init__(self, m: Measurement) -> None:
        self.m = m
        self.cells_started = 0.0

    def stack_started(self, stack: Stack, seconds: float) -> None:
        self.m.start = seconds
        self.m.start_parts.update(stack.start_seconds)
        self.cells_started = time.perf_counter()

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        if name == "client":
            self.m.cell_seconds[cell.id] = self.m.cell_seconds.get(cell.id, 0.0) + seconds
            self.m.client_runs += 1
        else:
            self.m.steps[name] = self.m.steps.get(name, 0.0) + seconds

    def client_done(self, cell: catalog.CellTier, outcome: ClientOutcome) -> None:
        record_client(self.m, cell.id, outcome)

    def stack_stopping(self, stack: Stack) -> None:
        self.m.cells = time.perf_counter() - self.cells_started
        for proc in stack.processes:
            self.m.peak_rss_mb[proc.name] = peak_rss_mb(proc.pid)

    def stack_stopped(self, seconds: float) -> None:
        self.m.stop = seconds


def run_ccmatrix(cells: list[catalog.CellTier], env: LiteLLMEnv, root: Path,
                 chunkings: list[str] | None = None, client: str = "captured", jobs: int = 1) -> Measurement:
    m = Measurement("ccmatrix" if client == "captured" else f"ccmatrix --client {client}")
    t0 = time.perf_counter()
    runner.execute(cells, mode="replay", litellm=env, root=root, observer=Timing(m), chunkings=chunkings,
                   client=client, jobs=jobs)  # type: ignore[arg-type]
    m.total = time.perf_counter() - t0
    m.n_cells = len(m.cell_seconds)
    return m


# ---------------------------------------------------------------- the floor


class RecordedUpstream:
    """Answers, in order, with the recorded responses of the cell being replayed.

    No matching and no checks: the next request gets the next response. Token
    requests (the Vertex service account's token_uri) get the auth cassette's.
    """

    def __init__(self, token: cassettes.RecordedResponse | None) -> None:
        self.token = _as_response(token) if token else None
        self.queue: list[EmulatedResponse] = []
        self.errors: list[str] = []
        self.paths: list[str] = []
        self.cell = ""
        self.lock = threading.Lock()
        self.server = EmulatorServer(responder=self)

    def load(self, cell_id: str, interactions: list[cassettes.Interaction]) -> None:
        with self.lock:
            self.cell = cell_id
            self.queue = [_as_response(i.response) for i in interactions]

    def __call__(self, req: EmulatedRequest) -> EmulatedResponse:
        with self.lock:
            self.paths.append(f"{self.cell}: {req.method} {req.path}")
            if req.route_path.endswith("/token") and self.token is not None:
                return self.token
            if not self.queue:
                self.errors.append(f"{self.cell}: unexpected extra upstream request {req.method} {req.path}")
                return json_response(500, {"error": {"message": "replay_bench: no recorded response left"}})
            return self.queue.pop(0)


def _as_response(recorded: cassettes.RecordedResponse) -> EmulatedResponse:
    headers = {k: v for k, v in recorded.headers.items() if k.lower() not in _SKIP_HEADERS}
    # one chunk: sent with Content-Length, like mitmproxy sends a replayed answer
    return EmulatedResponse(recorded.status, headers, [recorded.content()])


# The floor talks to the loopback upstream with nothing in between: credentials that need
# no other endpoint than the one it answers (a service account's token exchange is pointed
# at it; the metadata server has no such setting)
DIRECT_CREDENTIALS = choose(["sigv4", "service-account"], catalog.PROVIDERS)


def floor_config(providers: list[catalog.Provider], upstream: str, path: Path) -> Path:
    """ccmatrix's own model list, with every provider pointed at the loopback upstream."""
    import yaml

    by_model = {catalog.proxy_model_name(p, t): p for p in providers for t in catalog.TIERS}
    config = litellm_config.build_config(providers, DIRECT_CREDENTIALS)
    for entry in config["model_list"]:
        entry["litellm_params"].update(by_model[entry["model_name"]].direct_upstream(upstream).params)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def floor_env(workdir: Path, upstream: str, providers: list[catalog.Provider]) -> dict[str, str]:
    """Stack's LiteLLM environment minus the proxy and CA settings (nothing sits in between)."""
    env = base_environment(workdir / "home")
    env.update({"NO_PROXY": "*", "no_proxy": "*"})
    # the Vertex service account trades its JWT at the loopback server, answered from cassettes/auth/
    env.update(fake_credentials(workdir, token_uri=upstream + "/token", choice=DIRECT_CREDENTIALS))
    for p in providers:
        env.update(p.direct_upstream(upstream).env)
    return env


def run_floor(the_plan: runner.Plan, env: LiteLLMEnv, root: Path, verbose: bool) -> Measurement:
    m = Measurement("floor")
    auth_path = layout.auth_cassette_path(root, vertex_ai.PROVIDER.auth_hosts["oauth2.googleapis.com"])
    token = cassettes.load(auth_path, root).interactions[0].response if auth_path.exists() else None
    upstream = RecordedUpstream(token)
    cells = [c for c in the_plan.cell_tiers if not c.not_applicable_reason]
    providers = [p for p in catalog.PROVIDERS if any(c.provider == p for c in cells)]
    with tempfile.TemporaryDirectory(prefix="ccmatrix-bench-") as tmp, upstream.server:
        workdir = Path(tmp)
        base = upstream.server.url
        config = floor_config(providers, base, workdir / "litellm-config.yaml")
        proxy = LiteLLMProxy(env, config, floor_env(workdir, base, providers), workdir)
        t0 = time.perf_counter()
        try:
            proxy.start()
        except StackError as exc:
            proxy.stop()
            raise BenchError(f"floor LiteLLM: {exc}") from None
        # pooled, like Stack.http: one client for the run, with the proxy's key
        http = httpx.Client(base_url=proxy.url, timeout=120, trust_env=False,
                            headers={"authorization": f"Bearer {litellm_config.MASTER_KEY}"})
        try:
            m.start = m.start_parts["litellm"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            for cell in cells:
                upstream.load(cell.id, the_plan.cassettes[cell.id].interactions)
                c0 = time.perf_counter()
                # what the captured client sends: the row's probe, or the recorded client leg
                if cell.feature.probe is not None:
                    outcome = ClientOutcome("probe", probe=send_probe(http, cell.feature.probe, cell.proxy_model))
                else:
                    exchanges = send_requests(http, the_plan.cassettes[cell.id].client, cell.proxy_model)
                    outcome = captured_outcome(exchanges, cell.proxy_model)
                m.cell_seconds[cell.id] = time.perf_counter() - c0
                record_client(m, cell.id, outcome)
            m.cells = time.perf_counter() - t1
            m.peak_rss_mb["litellm"] = peak_rss_mb(proxy.process.pid)
        finally:
            t2 = time.perf_counter()
            http.close()
            proxy.stop()
            m.stop = time.perf_counter() - t2
        m.total = time.perf_counter() - t0
    m.n_cells = len(cells)
    if verbose:
        print("floor upstream requests:", *upstream.paths, sep="\n  ", file=sys.stderr)
    if upstream.errors:
        raise BenchError("the floor's upstream saw requests it had no recording for:\n  " + "\n  ".join(upstream.errors))
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


def report(pairs: list[tuple[Measurement, Measurement, str]], env: LiteLLMEnv, n_cells: int, resolve_s: float) -> dict[str, Any]:
    cpus = os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"replay bench: {n_cells} cell tier(s), LiteLLM {env.version} ({env.python}), {cpus} CPU(s), "
          f"{len(pairs)} repeat(s); env resolve {resolve_s:.2f} s (not counted); load average now {load:.2f}")
    print()
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
    row = {
        "total": (med([f.total for f in floors]), med([c.total for c in ccs])),
        "start": (med([f.start for f in floors]), med([c.start for c in ccs])),
        "cells": (med([f.cells for f in floors]), med([c.cells for c in ccs])),
        "client": (med([f.client_turns for f in floors]), med([c.client_turns for c in ccs])),
        "per_cell": (med([f.per_cell for f in floors]), med([c.per_cell for c in ccs])),
        "stop": (med([f.stop for f in floors]), med([c.stop for c in ccs])),
    }
    names = {
        "total": "total (start to stop)",
        "start": "proxy / stack start",
        "cells": f"all {n_cells} cells",
        "client": "  client turns",
        "per_cell": "per cell (mean)",
        "stop": "stop",
    }
    # ccmatrix-only parts, printed under their parent line
    parts = {
        "start": [(f"  {name}", med([c.start_parts.get(name, 0.0) for c in ccs])) for name in ("mitmdump", "litellm")],
        "client": [(f"  {name}", med([c.steps.get(name, 0.0) for c in ccs])) for name in ("begin_cell", "end_cell", "judge")],
    }
    label = "median " if len(pairs) > 1 else ""
    print()
    print(f"{label + 'breakdown':<26} {'floor':>10} {'ccmatrix':>10} {'ratio':>7}")
    for key, (f, c) in row.items():
        scale, unit = (1000, "ms") if key == "per_cell" else (1, "s ")
        ratio = f"{c / f:>7.2f}" if f > 0 else f"{'-':>7}"
        print(f"{names[key]:<26} {f * scale:>7.2f} {unit} {c * scale:>7.2f} {unit} {ratio}")
        for name, value in parts.get(key, []):
            print(f"{name:<26} {'':>10} {value:>7.2f} s")
    overhead_total = (row["total"][1] - row["total"][0]) / n_cells
    overhead_cells = (row["cells"][1] - row["cells"][0]) / n_cells
    print()
    print(f"overhead per cell: {overhead_total * 1000:.0f} ms all in (start included), "
          f"{overhead_cells * 1000:.0f} ms per cell once running")
    last = ccs[-1]
    print(f"peak RSS (VmHWM): mitmdump {_mb(last.peak_rss_mb.get('mitmdump'))}, "
          f"LiteLLM {_mb(last.peak_rss_mb.get('litellm'))} (floor LiteLLM {_mb(floors[-1].peak_rss_mb.get('litellm'))})")
    full = row["total"][1]
    print(f"target: full replay under {TARGET_SECONDS:.0f} s on 2 cores: {full:.1f} s "
          f"({'within' if full < TARGET_SECONDS else 'over'}; informational, never an exit status)")
    return {
        "litellm_version": env.version,
        "cpus": cpus,
        "cells": n_cells,
        "target_seconds": TARGET_SECONDS,
        "median": {k: {"floor": f, "ccmatrix": c} for k, (f, c) in row.items()},
        "runs": [{"order": o, "floor": asdict(f), "ccmatrix": asdict(c)} for f, c, o in pairs],
    }


def report_cli(cli: Measurement, captured: list[Measurement], n_cells: int) -> dict[str, Any]:
    """`--client cli` (the CLI runs every row) against the captured-request client, same cells."""
    base = statistics.median(m.total for m in captured)
    per_run = [s for s in cli.cell_seconds.values()]
    print()
    print(f"--client cli: {cli.total:.2f} s for {n_cells} cell tier(s), against {base:.2f} s with the captured "
          f"client: {cli.total / base:.2f}x; the CLI's own runs {sum(per_run):.1f} s in all, "
          f"{statistics.median(per_run) if per_run else 0:.2f} s median per tier")
    return {"total": cli.total, "captured_total": base, "client_seconds": sum(per_run),
            "failures": sorted(cli.client_errors)}


def report_chunkings(chunked: Measurement, default: list[Measurement], chunkings: list[str],
                     n_cells: int) -> dict[str, Any]:
    """What `--chunkings` costs against the default (one coalesced write per stream)."""
    base = statistics.median(m.total for m in default)
    runs = chunked.client_runs
    print()
    print(f"--chunkings {','.join(chunkings)}: {chunked.total:.2f} s for {n_cells} cell tier(s) "
          f"({runs} client runs: tiers without a stream run once), against {base:.2f} s coalesced: "
          f"{chunked.total / base:.2f}x, {(chunked.total - base) / n_cells * 1000:.0f} ms more per cell tier")
    return {"chunkings": chunkings, "total": chunked.total, "default_total": base, "client_runs": runs}


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
    parser.add_argument("--jobs", type=int, default=1,
                        help="time the captured client on this many stacks side by side (ccmatrix run --jobs); "
                             "per-step figures then add up both stacks")
    parser.add_argument("--no-cli", action="store_true",
                        help="skip timing `--client cli` (the pinned Claude Code CLI as the client)")
    args = parser.parse_args(argv)
    try:
        chunkings = parse_chunkings(args.chunkings)
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
        the_plan = runner.plan(cells, args.cassettes, "replay")  # for the floor; execute() plans again, timed
        pairs = []
        problems: list[str] = []
        for i in range(args.repeat):
            # alternate which goes first, so neither always gets the colder page cache
            floor_first = i % 2 == 0
            print(f"[{i + 1}/{args.repeat}] {'floor, then ccmatrix' if floor_first else 'ccmatrix, then floor'} ...",
                  file=sys.stderr, flush=True)
            if floor_first:
                floor = run_floor(the_plan, env, args.cassettes, args.verbose)
                cc = run_ccmatrix(cells, env, args.cassettes, jobs=args.jobs)
            else:
                cc = run_ccmatrix(cells, env, args.cassettes, jobs=args.jobs)
                floor = run_floor(the_plan, env, args.cassettes, args.verbose)
            problems += [f"run {i + 1}: {p}" for p in compare_work(floor, cc)]
            pairs.append((floor, cc, "floor first" if floor_first else "ccmatrix first"))
        n_cells = pairs[0][1].n_cells
        figures = report(pairs, env, n_cells, resolve_s)
        if not args.no_cli:
            print("[cli] ccmatrix --client cli ...", file=sys.stderr, flush=True)
            cli = run_ccmatrix(cells, env, args.cassettes, client="cli")
            figures["cli"] = report_cli(cli, [cc for _, cc, _ in pairs], n_cells)
        if chunkings != [DEFAULT_CHUNKING]:
            print(f"[chunkings] ccmatrix under {','.join(chunkings)} ...", file=sys.stderr, flush=True)
            chunked = run_ccmatrix(cells, env, args.cassettes, chunkings)
            figures["chunkings"] = report_chunkings(chunked, [cc for _, cc, _ in pairs], chunkings, n_cells)
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

"""A run: the selected cell tiers through one LiteLLM proxy, in replay or record mode.

    catalog -> client (captured leg, the CLI, a probe) -> LiteLLM proxy -> recorder addon -> verdict -> RunResult

What happens is reported to a `RunObserver` as it goes (the CLI's progress bar,
the pytest plugin, the benchmark's timers), so nobody needs to wrap or patch
the runner to watch it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

import httpx

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.cassette import RecordedVerdict
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION, install, release_key
from ccmatrix.client.cli_driver import run_cli
from ccmatrix.client.driver import captured_outcome, send_requests, stream_idle_timeout
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.client.probes import send_probe
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice, conflict
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.mitmdump import Mitmdump
from ccmatrix.proxy.process import StackError
from ccmatrix.proxy.stack import Stack, Timeouts
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING
from ccmatrix.run.shards import shard
from ccmatrix.verdict.judge import judge
from ccmatrix.verdict.results import CellResult, Finding, RunResult, TierResult, matrix_rows

Mode = Literal["replay", "emulate", "live"]


class ConfigError(CcmatrixError):
    """Bad input found before anything ran (exit 2)."""


class RunObserver:
    """What a run reports as it goes. Every hook is a no-op here: override what you need."""

    def stack_started(self, stack: Stack, seconds: float) -> None:
        """Both processes answer; `stack.start_seconds` has each part's share."""

    def step(self, cell: catalog.CellTier, name: str, seconds: float) -> None:
        """One step of a cell tier: "begin_cell", "client", "end_cell", "judge", "write_cell"."""

    def client_done(self, cell: catalog.CellTier, outcome: ClientOutcome) -> None:
        """What the client ended up with (ccmatrix.client.outcome)."""

    def tier_done(self, result: TierResult) -> None:
        """A cell tier's verdict (not-applicable tiers included)."""

    def stack_restarted(self, why: str) -> None:
        """A process died or hung (`why`, with its log tail); both were started again."""

    def stack_stopping(self, stack: Stack) -> None:
        """The last moment the processes are alive (their pids in `stack.processes`)."""

    def stack_stopped(self, seconds: float) -> None:
        """Both processes are gone; `seconds` is how long stopping took."""


Client = Literal["captured", "cli"]
CLIENTS: tuple[str, ...] = ("captured", "cli")


@dataclass
class Plan:
    """Everything a run reads, loaded and validated before any process starts."""

    cell_tiers: list[catalog.CellTier]
    cassettes: dict[str, cassettes.Cassette]  # cell tier id -> its cassette (replay; record with the captured client)
    client: Client = "captured"
    cli: Path | None = None  # the `claude` binary, when the CLI client runs
    claude_code: str = CLAUDE_CODE_VERSION  # the release: its cassette tree, and the CLI that --client cli runs
    # cell tier id -> why the CLI client does not run it (a row that needs a newer release)
    too_old: dict[str, str] = field(default_factory=dict)
    # cell tier id -> the requests of its native reference (verdict/native.py), where captured
    native: dict[str, list[cassettes.RecordedRequest]] = field(default_factory=dict)


def plan(cell_tiers: list[catalog.CellTier], root: Path, mode: Mode, client: Client = "captured",
         claude_code: str | None = None) -> Plan:
    """What the run does; `claude_code` picks the release (default CLAUDE_CODE_VERSION): whose
    tree of cassettes is replayed or recorded into, and which CLI --client cli runs."""
    if client not in CLIENTS:
        raise ConfigError(f"--client must be one of {', '.join(CLIENTS)}, not {client!r}")
    version = claude_code or CLAUDE_CODE_VERSION
    too_old = too_old_tiers(cell_tiers, version)
    needs_tree = mode == "replay" or client == "captured"
    if needs_tree and not layout.release_dir(root, version).is_dir():
        held = ", ".join(layout.releases(root)) or "none"
        raise ConfigError(f"{layout.release_dir(root, version)}: no cassettes recorded with Claude Code {version} "
                          f"(this tree has: {held}); record them: ccmatrix record --client cli --claude-code "
                          f"{version} --cassettes DIR")
    recorded: dict[str, cassettes.Cassette] = {}
    try:
        for cell in cell_tiers:
            if cell.not_applicable_reason or cell.id in too_old:
                continue
            needs_cassette = mode == "replay" or (client == "captured" and cell.feature.cli is not None)
            if needs_cassette:
                path = cell.cassette_path(root, version)
                recorded[cell.id] = cassettes.load(path, root)
                if client == "captured" and cell.feature.cli is not None and not recorded[cell.id].client:
                    raise ConfigError(f"{path}: no client leg recorded; re-record it (ccmatrix record --client cli)")
                if recorded[cell.id].provenance.claude_code_version not in (None, version):
                    # the captured client would send another release's requests as this one's
                    raise ConfigError(f"{path}: recorded with Claude Code "
                                      f"{recorded[cell.id].provenance.claude_code_version}, in the tree of {version}")
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    cli = None
    if client == "cli" and any(c.feature.cli is not None and not c.not_applicable_reason and c.id not in too_old
                               for c in cell_tiers):
        cli = install(version)
    return Plan(cell_tiers, recorded, client, cli, version, too_old, _native_references(cell_tiers, root, version))


def _native_references(cell_tiers: list[catalog.CellTier], root: Path,
                       version: str) -> dict[str, list[cassettes.RecordedRequest]]:
    """The native reference of each tier that has one in `version`'s tree (its provider's
    capture, or the one its provider borrows: Converse uses Bedrock Invoke's)."""
    found = {}
    try:
        for cell in cell_tiers:
            source = cell.provider.native_reference
            if source == "client" or cell.feature.cli is None or cell.not_applicable_reason:
                continue
            path = cell.native_path(root, version, None if source == "capture" else catalog.provider(source))
            if path.exists():
                found[cell.id] = [i.request for i in cassettes.load(path, root).interactions]
    except cassettes.CassetteError as exc:
        raise ConfigError(str(exc)) from None
    return found


def too_old_tiers(cell_tiers: list[catalog.CellTier], version: str) -> dict[str, str]:
    """The tiers whose row needs a newer Claude Code than `version`, and why."""
    too_old = {}
    for cell in cell_tiers:
        needs = cell.feature.cli.min_claude_code if cell.feature.cli is not None else None
        if needs is not None and release_key(version) < release_key(needs[0]):
            too_old[cell.id] = f"needs Claude Code {needs[0]} or newer ({needs[1]}); this run is for {version}"
    return too_old


def run_tiers(the_plan: Plan, stack: Stack, mode: Mode, strict: bool = False,
              observer: RunObserver | None = None, chunkings: list[str] | None = None,
              stop: threading.Event | None = None) -> list[TierResult]:
    """`stop`: set, no further tier starts (the run was interrupted on another thread)."""
    observer = observer or RunObserver()
    results = []
    guard = Guard(stack, observer)
    for cell in the_plan.cell_tiers:
        if stop is not None and stop.is_set():
            break
        if cell.not_applicable_reason:
            if mode != "replay":  # a cell tier that stopped applying keeps no stale cassette
                cell.cassette_path(stack.cassettes, the_plan.claude_code).unlink(missing_ok=True)
            result = TierResult.not_applicable(cell)
        elif cell.id in the_plan.too_old:
            # not run: the row needs a newer release than the one this run is for
            result = TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                model_alias=cell.proxy_model, status="not_tested", reason=the_plan.too_old[cell.id])
        elif stack.proxy_config is not None and not stack.proxy_config.serves(cell):
            result = TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                model_alias=cell.proxy_model, status="not_tested",
                                reason=f"no deployment named {cell.proxy_model} in {stack.config_label}")
        else:
            result = guard.run(cell, lambda: run_tier(cell, the_plan, stack, mode, strict, observer, chunkings))
        results.append(result)
        observer.tier_done(result)
    return results


# What a broken stack raises while a tier runs: the recorder's control channel gone
# (StackError) or a client request that got no answer at all (a hung or dead proxy).
_BROKEN = (StackError, httpx.TransportError)


class Guard:
    """Runs each tier on a stack that may break under it (a process ccmatrix started
    dies or hangs), so that a broken part costs one tier, never the run.

    A tier during which a process died, or after which one no longer answers, is
    `error` (no verdict on LiteLLM), naming the cell, the exit code and the log tail.
    The stack is restarted and the tier run once more, only to learn whether it breaks
    the proxy again: twice in a row is a finding on the cell (LiteLLM crashes on its
    requests). A process found dead between tiers is restarted with no tier blamed.
    When the stack does not start again, the remaining tiers are `error` too."""

    def __init__(self, stack: Stack, observer: RunObserver) -> None:
        self.stack = stack
        self.observer = observer
        self.dead: str | None = None  # why the stack could not be restarted

    def run(self, cell: catalog.CellTier, attempt: Callable[[], TierResult]) -> TierResult:
        if self.dead is None and (between := self.stack.faults()):
            self._restart("between cell tiers: " + "; ".join(between))
        if self.dead is not None:
            return TierResult.run_error(cell, f"not run: {self.dead}")
        first = self._try(attempt)
        if isinstance(first, TierResult):
            return first
        message = f"run error during {cell.id}: {first}"
        if not self._restart(message):
            return TierResult.run_error(cell, message)
        again = self._try(attempt)
        if isinstance(again, TierResult):
            return TierResult.run_error(cell, f"{message}\n(run again on a restarted stack, the tier completed: "
                                              f"{again.status}; the first run is not judged)")
        self._restart(f"run error again during {cell.id}: {again}")
        crash = Finding(kind="proxy-crash", severity="high",
                        message=f"the stack broke twice in a row on this cell tier: {first.splitlines()[0]}; "
                                f"then {again.splitlines()[0]}")  # the log tails are in the tier's error
        return TierResult.run_error(cell, message, findings=[crash])

    def _try(self, attempt: Callable[[], TierResult]) -> TierResult | str:
        """The tier's result, or what broke (one line per part, with log tails)."""
        try:
            result = attempt()
        except _BROKEN as exc:
            return "; ".join(self.stack.faults(probe=True)) or f"{type(exc).__name__}: {exc}"
        # a failure may be the proxy's death or hang seen from the client (a 502 from
        # mitmdump, a time-out): look before calling it a verdict
        faults = self.stack.faults(probe=result.status == "fail")
        return "; ".join(faults) if faults else result

    def _restart(self, why: str) -> bool:
        self.observer.stack_restarted(why)
        try:
            self.stack.restart()
        except StackError as exc:
            self.dead = f"the stack did not start again after a run error: {exc}"
            return False
        return True


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
    """One cell tier, once: select it in the recorder, let the client run, judge what happened."""
    observer = observer or RunObserver()
    recorded = the_plan.cassettes.get(cell.id)
    mode_used = stack.credential_choice.for_provider(cell.provider)
    provenance: dict[str, Any] = {
        "litellm_version": stack.litellm_env.version,
        "ccmatrix_version": __version__,
        "proxy_config": stack.config_label,
        "credentials": mode_used.id,
    }

    def timed(name: str, fn, *args):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            observer.step(cell, name, time.perf_counter() - t0)

    timed("begin_cell", stack.begin_cell, cell, the_plan.claude_code, provenance, chunking)
    try:
        outcome = timed("client", drive, cell, the_plan, stack)
    finally:
        end = timed("end_cell", stack.end_cell)
    observer.client_done(cell, outcome)
    judged_against = recorded if mode == "replay" else None
    result = timed("judge", judge, cell, outcome, end, judged_against, strict, the_plan.native.get(cell.id))
    if judged_against is not None and judged_against.provenance.credentials not in (None, mode_used.id):
        result.findings.append(Finding(
            kind="credentials-replayed", severity="info",
            message=f"recorded with {cell.provider.id}'s {judged_against.provenance.credentials} credentials, replayed "
                    f"with {mode_used.describe()}: the recording stands for the request, the mode for its "
                    "authentication"))
    if mode != "replay":
        if outcome.client == "captured" and recorded is not None:
            # the client leg sent again is the one recorded: it keeps its origin
            provenance.update(client=recorded.provenance.client, command=recorded.provenance.command,
                              claude_code_version=recorded.provenance.claude_code_version)
        else:
            provenance.update(client=outcome.client,
                              claude_code_version=the_plan.claude_code if outcome.client == "cli" else None)
            if outcome.detail.get("argv"):
                provenance["command"] = outcome.detail["argv"]
        timed("write_cell", stack.write_cell, RecordedVerdict(status=result.status, error=result.error), provenance)
    return result


def drive(cell: catalog.CellTier, the_plan: Plan, stack: Stack) -> ClientOutcome:
    """Let the row's client run against the proxy: a probe, the CLI, or the recorded client leg."""
    feature = cell.feature
    if feature.probe is not None:
        return ClientOutcome(client="probe", probe=send_probe(stack.http, feature.probe, cell.proxy_model))
    assert feature.cli is not None
    if the_plan.client == "cli":
        assert the_plan.cli is not None
        return run_cli(the_plan.cli, feature.cli, cell.provider.id, cell.proxy_model, stack.client_url,
                       litellm_config.MASTER_KEY)
    exchanges = send_requests(stack.http, the_plan.cassettes[cell.id].client, cell.proxy_model,
                              idle_timeout=stream_idle_timeout(feature.cli.environment(cell.provider.id)))
    return captured_outcome(exchanges, cell.proxy_model)


def credentials_used(choice: CredentialChoice) -> dict[str, dict[str, str]]:
    """Each provider's credential mode, as the matrix JSON names it."""
    out = {}
    for p in catalog.PROVIDERS:
        m = choice.for_provider(p)
        out[p.id] = {"mode": m.id, **({"location": m.location} if m.location else {}), "summary": m.summary}
    return out


def assemble(results: list[TierResult], *, mode: str, litellm_version: str, claude_code_version: str,
             client: str = "captured", proxy_config: str | None = None,
             credentials: CredentialChoice = DEFAULT_CHOICE) -> RunResult:
    """All rows x providers; cells without results are not_tested, with a reason."""
    by_cell: dict[tuple[str, str], list[TierResult]] = {}
    for r in results:
        by_cell.setdefault((r.feature, r.provider), []).append(r)
    rows, fault_rows = matrix_rows({key: CellResult.aggregate(*key, tiers) for key, tiers in by_cell.items()})
    return RunResult(
        mode={"replay": "replay", "emulate": "record-emulate", "live": "record-live"}[mode],
        litellm_version=litellm_version,
        claude_code_version=claude_code_version,
        ccmatrix_version=__version__,
        providers=[p.id for p in catalog.PROVIDERS],
        rows=rows,
        fault_rows=fault_rows,
        client=client,
        proxy_config=proxy_config,
        credentials=credentials_used(credentials),
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
    client: Client = "captured",
    config: Path | None = None,
    timeouts: Timeouts | None = None,
    claude_code: str | None = None,
    mitmdump: Mitmdump | None = None,
    jobs: int = 1,
    credential_choice: CredentialChoice = DEFAULT_CHOICE,
) -> RunResult:
    """Run the cell tiers on a stack of their own (`mitmdump`: a shared one to put it behind).

    `jobs`: a replay with the captured client runs on that many stacks side by side,
    each its share of whole cells (shards.shard): a tier's time is mostly LiteLLM's, one
    process, and a second stack puts the second core to work (bench/replay_bench.py)."""
    observer = observer or RunObserver()
    if chunkings and chunkings != [DEFAULT_CHUNKING] and mode != "replay":
        raise ConfigError("--chunkings: chunkings cut replayed streams; a recording takes the provider's own")
    proxy_config = litellm_config.load_user_config(config) if config is not None else None
    clash = conflict(credential_choice, sorted({c.provider for c in cell_tiers}, key=catalog.PROVIDERS.index))
    if clash is not None:
        raise ConfigError(f"--credentials {clash}")
    the_plan = plan(cell_tiers, root, mode, client, claude_code)
    parallel = mode == "replay" and the_plan.client == "captured" and mitmdump is None
    shares = [s for k in range(1, jobs + 1) if (s := shard(cell_tiers, f"{k}/{jobs}"))] if parallel else [cell_tiers]
    stop = threading.Event()

    def on_a_stack(share: list[catalog.CellTier]) -> tuple[list[TierResult], str]:
        providers = [p for p in catalog.PROVIDERS if any(c.provider == p for c in share)]
        if stop.is_set():
            return [], ""
        t0 = time.perf_counter()
        stack = Stack.start(mode, root, litellm, providers=providers, credentials=credentials,
                            proxy_config=proxy_config, timeouts=timeouts, mitmdump=mitmdump,
                            credential_choice=credential_choice)
        try:
            observer.stack_started(stack, time.perf_counter() - t0)
            return run_tiers(replace(the_plan, cell_tiers=share), stack, mode, strict, observer, chunkings,
                             stop), stack.config_label
        finally:
            observer.stack_stopping(stack)
            t0 = time.perf_counter()
            stack.stop()
            observer.stack_stopped(time.perf_counter() - t0)

    if len(shares) == 1:
        done = [on_a_stack(shares[0])]
    else:
        pool = ThreadPoolExecutor(len(shares), thread_name_prefix="ccmatrix-stack")
        try:
            done = [f.result() for f in [pool.submit(on_a_stack, share) for share in shares]]
        finally:
            # interrupted (Ctrl-C, SIGTERM reach this thread only): no stack starts another
            # tier, and each stops its LiteLLM and mitmdump before this returns
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
    order = {c.id: n for n, c in enumerate(cell_tiers)}
    results = sorted((r for share, _ in done for r in share), key=lambda r: order[f"{r.feature}/{r.provider}/{r.tier}"])
    if mode != "replay":
        cassettes.prune_blobs(root)
    return assemble(results, mode=mode, litellm_version=litellm.version,
                    claude_code_version=the_plan.claude_code, client=the_plan.client,
                    proxy_config=done[0][1], credentials=credential_choice)

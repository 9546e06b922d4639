"""A run: the selected cell tiers through LiteLLM proxies, in replay or record mode.

    catalog -> plan -> StackRun (a stack, each cell tier's CellRun under a Guard) -> RunResult

This is the one core every entry point calls: the CLI's commands (`execute`), the pytest
plugin and the benchmark (`StackRun`, one stack run cell by cell as they ask).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from ccmatrix import __version__, catalog
from ccmatrix import cassette as cassettes
from ccmatrix.providers import CredentialChoice, conflict
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.mitmdump import Mitmdump
from ccmatrix.proxy.process import StackError
from ccmatrix.proxy.stack import Stack, Timeouts
from ccmatrix.run.cell import CellRun
from ccmatrix.run.guard import Guard
from ccmatrix.run.observer import RunObserver
from ccmatrix.run.options import CLIENTS, Client, ConfigError, RunOptions
from ccmatrix.run.plan import Plan, plan, too_old_tiers
from ccmatrix.run.shards import shard
from ccmatrix.verdict.results import CellResult, RunResult, TierResult, matrix_rows

__all__ = ["CLIENTS", "Client", "ConfigError", "Plan", "RunObserver", "RunOptions", "StackRun", "Timeouts", "assemble",
           "execute", "plan", "shard", "too_old_tiers"]


class StackRun:
    """Cell tiers run in turn on one stack: started on the first tier that needs it,
    guarded (a process that dies or hangs costs one tier), stopped by `close`."""

    def __init__(self, the_plan: Plan, litellm: LiteLLMEnv, options: RunOptions,
                 observer: RunObserver | None = None, mitmdump: Mitmdump | None = None,
                 proxy_config: litellm_config.ProxyConfig | None = None, stack: Stack | None = None) -> None:
        """`stack`: a running one to use (and leave running), e.g. one stack that serves many
        runs over different cassette trees: each cell tier names its own in the recorder."""
        self.plan, self.litellm, self.options = the_plan, litellm, options
        self.observer = observer or RunObserver()
        self.mitmdump = mitmdump  # a shared one to put LiteLLM behind (SharedMitmdumps)
        self.proxy_config = proxy_config
        self.stack: Stack | None = stack
        self.owns_stack = stack is None
        self.guard: Guard | None = Guard(stack, self.observer) if stack is not None else None
        if stack is not None:
            _check_fits(stack, litellm, options, proxy_config)

    @property
    def providers(self) -> list[catalog.Provider]:
        return [p for p in catalog.ALL_PROVIDERS if any(c.provider == p for c in self.plan.cell_tiers)]

    def start(self) -> Stack:
        """The stack, started now if it is not yet (raises StackError when it does not start)."""
        if self.stack is None:
            t0 = time.perf_counter()
            self.stack = Stack.start(self.options.mode, self.options.root, self.litellm, providers=self.providers,
                                     credentials=self.options.environment, proxy_config=self.proxy_config,
                                     timeouts=self.options.timeouts, mitmdump=self.mitmdump,
                                     credential_choice=self.options.credentials)
            self.guard = Guard(self.stack, self.observer)
            self.observer.stack_started(self.stack, time.perf_counter() - t0)
        return self.stack

    def run(self, cell: catalog.CellTier) -> TierResult:
        """The cell tier's verdict (not-applicable and not-run tiers say why)."""
        result = self._without_stack(cell)
        if result is None:
            stack = self.start()
            if stack.proxy_config is not None and not stack.proxy_config.serves(cell):
                result = TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                                    model_alias=cell.proxy_model, status="not_tested",
                                    reason=f"no deployment named {cell.proxy_model} in {stack.config_label}")
            else:
                assert self.guard is not None
                result = self.guard.run(cell, CellRun(cell, self.plan, stack, self.options, self.observer).result)
        self.observer.tier_done(result)
        return result

    def _without_stack(self, cell: catalog.CellTier) -> TierResult | None:
        if cell.not_applicable_reason:
            if self.options.mode.records:  # a cell tier that stopped applying keeps no stale cassette
                cell.cassette_path(self.options.root, self.plan.claude_code).unlink(missing_ok=True)
            return TierResult.not_applicable(cell)
        if cell.id in self.plan.too_old:
            # not run: the row needs a newer release than the one this run is for
            return TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                              model_alias=cell.proxy_model, status="not_tested", reason=self.plan.too_old[cell.id])
        return None

    @property
    def config_label(self) -> str:
        if self.stack is not None:
            return self.stack.config_label
        return self.proxy_config.label if self.proxy_config else litellm_config.DEFAULT_LABEL

    def close(self) -> None:
        if self.stack is None or not self.owns_stack:
            return
        stack, self.stack = self.stack, None
        self.observer.stack_stopping(stack)
        t0 = time.perf_counter()
        stack.stop()
        self.observer.stack_stopped(time.perf_counter() - t0)

    def __enter__(self) -> "StackRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_fits(stack: Stack, litellm: LiteLLMEnv, options: RunOptions,
                proxy_config: litellm_config.ProxyConfig | None) -> None:
    """A running stack serves a run only if it was started as the run would start its own."""
    differs = [what for what, same in (
        ("mode", stack.mode == options.mode), ("LiteLLM", stack.litellm_env.python == litellm.python),
        ("credentials", stack.credential_choice == options.credentials),
        ("config", options.config is None and proxy_config is None)) if not same]
    if differs:
        raise ConfigError(f"the running stack was started with another {', '.join(differs)} than this run asks for")


def credentials_used(choice: CredentialChoice, providers: tuple[catalog.Provider, ...]) -> dict[str, dict[str, str]]:
    """Each provider's credential mode, as the matrix JSON names it."""
    out = {}
    for p in providers:
        m = choice.for_provider(p)
        out[p.id] = {"mode": m.id, **({"location": m.location} if m.location else {}), "summary": m.summary}
    return out


def assemble(results: list[TierResult], options: RunOptions, *, litellm_version: str, claude_code_version: str,
             proxy_config: str | None = None, stacks: int = 1) -> RunResult:
    """All rows x providers, in the catalog's order; cells without results are not_tested, with a reason."""
    order = {c.id: n for n, c in enumerate(catalog.select(implemented_only=False, columns=catalog.Columns.ALL))}
    # the view's columns, and any other a selected cell ran on (-p openai in the published view)
    ran = {r.provider for r in results}
    shown = tuple(p for p in catalog.ALL_PROVIDERS if p in catalog.column_providers(options.columns) or p.id in ran)
    results = sorted(results, key=lambda r: order.get(f"{r.feature}/{r.provider}/{r.tier}", len(order)))
    by_cell: dict[tuple[str, str], list[TierResult]] = {}
    for r in results:
        by_cell.setdefault((r.feature, r.provider), []).append(r)
    rows, fault_rows = matrix_rows({key: CellResult.aggregate(*key, tiers) for key, tiers in by_cell.items()}, shown)
    return RunResult(
        mode=options.mode.run_label,
        litellm_version=litellm_version,
        claude_code_version=claude_code_version,
        ccmatrix_version=__version__,
        providers=[p.id for p in shown],
        rows=rows,
        fault_rows=fault_rows,
        client=options.client,
        proxy_config=proxy_config,
        credentials=credentials_used(options.credentials, shown),
        stacks=stacks,
    )


def execute(cell_tiers: list[catalog.CellTier], litellm: LiteLLMEnv, options: RunOptions = RunOptions(),
            observer: RunObserver | None = None, mitmdump: Mitmdump | None = None,
            stack: Stack | None = None) -> RunResult:
    """Run the cell tiers on a stack of their own (`mitmdump`: a shared one to put it behind;
    `stack`: a running one to use, left running).

    `options.jobs`: a replay with the captured client runs on that many stacks side by
    side, each its share of whole cells (shards.shard): a tier's time is mostly LiteLLM's,
    one process, and a second stack puts the second core to work (bench/replay_bench.py)."""
    observer = observer or RunObserver()
    proxy_config = litellm_config.load_user_config(options.config) if options.config is not None else None
    clash = conflict(options.credentials, sorted({c.provider for c in cell_tiers}, key=catalog.ALL_PROVIDERS.index))
    if clash is not None:
        raise ConfigError(f"--credentials {clash}")
    the_plan = plan(cell_tiers, options)
    parallel = not options.mode.records and the_plan.client == "captured" and mitmdump is None and stack is None
    jobs = options.jobs if parallel else 1
    shares = [s for k in range(1, jobs + 1) if (s := shard(cell_tiers, f"{k}/{jobs}"))] if jobs > 1 else [cell_tiers]
    stop = threading.Event()

    unstarted: list[StackError] = []  # stacks of a side-by-side run that did not start

    def on_a_stack(share: list[catalog.CellTier]) -> tuple[list[TierResult], str]:
        results: list[TierResult] = []
        with StackRun(replace(the_plan, cell_tiers=share), litellm, options, observer, mitmdump,
                      proxy_config, stack) as run:
            for cell in share:
                if stop.is_set():  # interrupted on another thread: no further tier starts
                    break
                try:
                    results.append(run.run(cell))
                except StackError as exc:  # raised only by the stack's start
                    if len(shares) == 1:
                        raise
                    # the other stacks' tiers still count; this one's are not judged
                    unstarted.append(exc)
                    results += [TierResult.run_error(c, f"not run: its stack did not start: {exc}")
                                for c in share[len(results):]]
                    break
            return results, run.config_label

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
        if len(unstarted) == len(shares):  # none started: as one stack that does not start
            raise unstarted[0]
    if options.mode.records:
        cassettes.prune_blobs(options.root)
    return assemble([r for share, _ in done for r in share], options, litellm_version=litellm.version,
                    claude_code_version=the_plan.claude_code, proxy_config=done[0][1],
                    stacks=len(shares) - len(unstarted))

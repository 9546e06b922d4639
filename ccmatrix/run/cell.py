"""A cell tier's life, and its one owner: select it in the recorder, let the client run,
end it, judge what happened, and in a recording write its cassette with the verdict.

Every entry point reaches a cell through here (runner.StackRun): `ccmatrix run`, `gate`,
`record`, `bisect` and `check`, the pytest plugin and the benchmark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ccmatrix import __version__, catalog
from ccmatrix.cassette import Cassette, RecordedVerdict
from ccmatrix.client.cli_driver import run_cli
from ccmatrix.client.driver import captured_outcome, send_requests, stream_idle_timeout
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.client.probes import send_probe
from ccmatrix.proxy import litellm_config
from ccmatrix.proxy.stack import Stack
from ccmatrix.recorder.exchanges import CellEnd
from ccmatrix.recorder.write import write_auth, write_cell
from ccmatrix.run.observer import RunObserver
from ccmatrix.run.options import RunOptions
from ccmatrix.run.plan import Plan
from ccmatrix.verdict.judge import judge
from ccmatrix.verdict.results import Finding, TierResult

T = TypeVar("T")


@dataclass
class CellRun:
    cell: catalog.CellTier
    plan: Plan
    stack: Stack
    options: RunOptions
    observer: RunObserver

    @property
    def recorded(self) -> Cassette | None:
        return self.plan.cassettes.get(self.cell.id)

    def result(self) -> TierResult:
        """The tier's verdict; in replay, under each of the run's chunkings (one verdict
        from them all, see under_chunkings)."""
        chunkings = list(self.options.chunkings)
        recorded = self.recorded
        if recorded is not None and not any(i.response.stream is not None for i in recorded.interactions):
            chunkings = chunkings[:1]  # chunkings cut streams only: nothing to cut, one run says it all
        return under_chunkings([(name, self.once(name)) for name in chunkings])

    def once(self, chunking: str) -> TierResult:
        """One pass: begin, the client's turns, end, judge, and (recording) write."""
        cell, stack = self.cell, self.stack
        mode_used = stack.credential_choice.for_provider(cell.provider)
        provenance: dict[str, Any] = {
            "litellm_version": stack.litellm_env.version,
            "ccmatrix_version": __version__,
            "proxy_config": stack.config_label,
            "credentials": mode_used.id,
        }
        self._timed("begin_cell", stack.begin_cell, cell, self.plan.claude_code, provenance, chunking,
                    self.options.root)
        try:
            outcome = self._timed("client", self._drive)
        finally:
            end = self._timed("end_cell", stack.end_cell)
        self.observer.client_done(cell, outcome)
        judged_against = None if self.options.mode.records else self.recorded
        result = self._timed("judge", judge, cell, outcome, end, judged_against, self.options.strict,
                             self.plan.native.get(cell.id))
        if judged_against is not None and judged_against.provenance.credentials not in (None, mode_used.id):
            result.findings.append(Finding(
                kind="credentials-replayed", severity="info",
                message=f"recorded with {cell.provider.id}'s {judged_against.provenance.credentials} credentials, "
                        f"replayed with {mode_used.describe()}: the recording stands for the request, the mode for "
                        "its authentication"))
        if self.options.mode.records:
            self._timed("write_cell", self._write, outcome, end, result, provenance)
        return result

    def _drive(self) -> ClientOutcome:
        """Let the row's client run against the proxy: a probe, the CLI, or the recorded client leg."""
        cell, stack, feature = self.cell, self.stack, self.cell.feature
        if feature.probe is not None:
            return ClientOutcome(client="probe", probe=send_probe(stack.http, feature.probe, cell.proxy_model))
        assert feature.cli is not None
        if self.plan.client == "cli":
            assert self.plan.cli is not None
            return run_cli(self.plan.cli, feature.cli, cell.provider.id, cell.proxy_model, stack.client_url,
                           litellm_config.MASTER_KEY)
        exchanges = send_requests(stack.http, self.plan.cassettes[cell.id].client, cell.proxy_model,
                                  idle_timeout=stream_idle_timeout(feature.cli.environment(cell.provider.id)))
        return captured_outcome(exchanges, cell.proxy_model)

    def _write(self, outcome: ClientOutcome, end: CellEnd, result: TierResult, provenance: dict[str, Any]) -> None:
        """The cassette, judged: what the cell recorded (`end`), its verdict and provenance."""
        recorded = self.recorded
        if outcome.client == "captured" and recorded is not None:
            # the client leg sent again is the one recorded: it keeps its origin
            provenance.update(client=recorded.provenance.client, command=recorded.provenance.command,
                              claude_code_version=recorded.provenance.claude_code_version)
        else:
            provenance.update(client=outcome.client,
                              claude_code_version=self.plan.claude_code if outcome.client == "cli" else None)
            if outcome.detail.get("argv"):
                provenance["command"] = outcome.detail["argv"]
        verdict = RecordedVerdict(status=result.status, error=result.error)
        root, mode = self.options.root, self.options.mode
        write_cell(root, self.cell, self.plan.claude_code, end, verdict, provenance, mode=mode)
        write_auth(root, end, provenance, mode=mode)  # the token exchanges, into the run-wide auth cassettes

    def _timed(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.observer.step(self.cell, name, time.perf_counter() - t0)


def under_chunkings(runs: list[tuple[str, TierResult]]) -> TierResult:
    """One verdict from a tier's runs under several chunkings: the first run's when it
    fails or all pass; else the first failure, naming its chunking (the failure depends
    on how the stream was cut)."""
    name, chosen = next(((n, r) for n, r in runs if r.status == "fail"), runs[0])
    if chosen is not runs[0][1]:
        chosen.under_chunking(name)
    chosen.chunkings = [n for n, _ in runs]
    return chosen

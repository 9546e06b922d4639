"""A broken process costs one tier, never the run."""

from __future__ import annotations

from typing import Callable

import httpx

from ccmatrix import catalog
from ccmatrix.proxy.process import StackError
from ccmatrix.proxy.stack import Stack
from ccmatrix.run.observer import RunObserver
from ccmatrix.verdict.results import Finding, TierResult

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

"""What a run reports as it goes (the CLI's progress bar, the pytest plugin, the
benchmark's timers), so nobody needs to wrap or patch the runner to watch it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccmatrix import catalog
from ccmatrix.client.outcome import ClientOutcome
from ccmatrix.verdict.results import TierResult

if TYPE_CHECKING:
    from ccmatrix.proxy.stack import Stack


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

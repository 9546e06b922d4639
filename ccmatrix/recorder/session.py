"""The cell tier in progress, as the addons keep it between /cell/begin and /cell/end."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice
from ccmatrix.recorder import chunking
from ccmatrix.recorder.exchanges import ClientLegExchange, Exchange
from ccmatrix.recorder.match import view


@dataclass
class Recording:
    """A cassette as replay consults it: its interactions, and their request views
    (made once: a view of a long conversation is not cheap, and every request asks)."""

    where: str  # its path, as a mismatch names it
    interactions: list[cassettes.Interaction]

    @cached_property
    def views(self) -> list[dict[str, Any]]:
        return [view(i.request) for i in self.interactions]

    @classmethod
    def load(cls, path: Path, root: Path) -> "Recording":
        """The cassette at `path` (a missing or broken one raises CassetteError, naming it)."""
        return cls(str(path), cassettes.load(path, root).interactions)

    @classmethod
    def load_if_any(cls, path: Path, root: Path) -> "Recording":
        """The cassette at `path`, or no recording when there is none (an auth cassette
        nobody recorded yet)."""
        return cls.load(path, root) if path.exists() else cls(str(path), [])


@dataclass
class CellSession:
    """The addons' state for the cell tier being exercised."""

    cell: catalog.CellTier
    claude_code: str  # the release whose tree its cassette is in
    root: Path  # the cassette tree it is replayed from (BeginCell.root)
    provenance: dict[str, Any]  # as the cell began (a driverless recording writes it)
    native: bool = False  # recording the native reference (BeginCell.native)
    recorded: Recording | None = None  # replay: the cassette answering
    chunking: str = chunking.DEFAULT_CHUNKING  # replay: how streamed answers are cut into writes
    credentials: CredentialChoice = DEFAULT_CHOICE  # each provider's credential mode in this run
    exchanges: list[Exchange] = field(default_factory=list)  # the provider leg, as the driver gets it back
    client: list[ClientLegExchange] = field(default_factory=list)  # the client leg (to LiteLLM)
    # streams the provider stalled on purpose, under way (flow id -> mitmproxy flow): one
    # still open when the cell ends was left open by LiteLLM after the client gave up.
    # Only those: a stream that is just finishing as the cell ends is not left open.
    open_streams: dict[str, Any] = field(default_factory=dict)

"""What a run is asked to do, as one value: every entry point (the CLI's commands, the
pytest plugin, the benchmark, the tests) builds a `RunOptions` and passes it whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ccmatrix.bundled import DEFAULT_CASSETTE_DIR
from ccmatrix.errors import CcmatrixError
from ccmatrix.providers import DEFAULT_CHOICE, Columns, CredentialChoice
from ccmatrix.proxy.stack import Timeouts
from ccmatrix.recorder.chunking import DEFAULT_CHUNKING
from ccmatrix.recorder.mode import Upstream

Client = Literal["captured", "cli"]
CLIENTS: tuple[str, ...] = ("captured", "cli")


class ConfigError(CcmatrixError):
    """Bad input found before anything ran (exit 2)."""


@dataclass(frozen=True)
class RunOptions:
    mode: Upstream = Upstream.REPLAY
    root: Path = DEFAULT_CASSETTE_DIR  # the cassette tree replayed, or recorded into
    strict: bool = False  # findings, drift and changed tiers fail too
    chunkings: tuple[str, ...] = (DEFAULT_CHUNKING,)  # replay: how streams are cut (recorder/chunking.py)
    client: Client = "captured"  # who drives each row: its recorded client leg, or the Claude Code CLI
    config: Path | None = None  # a user's LiteLLM config instead of ccmatrix's
    timeouts: Timeouts = field(default_factory=Timeouts)
    claude_code: str | None = None  # the release whose tree is used (default: the pinned one)
    # a replay with the captured client runs on this many stacks side by side (shards.shard)
    jobs: int = 1
    credentials: CredentialChoice = DEFAULT_CHOICE  # each provider's credential mode
    # the variables LiteLLM gets for them; None: throwaway ones offline, the environment's live
    environment: dict[str, str] | None = None
    # the columns selected by default and shown: the published five, or all nine (--columns all)
    columns: Columns = Columns.PUBLISHED

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", Upstream(self.mode))
        object.__setattr__(self, "chunkings", tuple(self.chunkings or (DEFAULT_CHUNKING,)))
        if self.client not in CLIENTS:
            raise ConfigError(f"--client must be one of {', '.join(CLIENTS)}, not {self.client!r}")
        if self.chunkings != (DEFAULT_CHUNKING,) and self.mode.records:
            raise ConfigError("--chunkings: chunkings cut replayed streams; a recording takes the provider's own")

"""The tiers: the three models every cell is judged on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    id: str  # short id used in file names and test ids
    alias: str  # the model name Claude Code is given (`--model`)
    name: str


TIERS: tuple[Tier, ...] = (
    Tier("haiku", "claude-haiku-4-5", "Haiku 4.5"),
    Tier("sonnet", "claude-sonnet-4-6", "Sonnet 4.6"),
    Tier("opus", "claude-opus-4-7", "Opus 4.7"),
)

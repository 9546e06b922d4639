"""The tiers: the models every cell is judged on, by family.

The five Claude columns run Haiku 4.5, Sonnet 4.6 and Opus 4.7; the live harness's
GPT-5.6 columns (issue 23) run Sol, Terra and Luna (BerriAI/litellm
`tests/e2e/claude_code/_gpt_cells.py`: "a three-tier family ... Sol (flagship), Terra
(balanced), Luna (fast)"). A provider names its family (`Provider.tier_family`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    id: str  # short id used in file names and test ids
    alias: str  # the model name Claude Code is given (`--model`), before the provider's suffix
    name: str


TIERS: tuple[Tier, ...] = (
    Tier("haiku", "claude-haiku-4-5", "Haiku 4.5"),
    Tier("sonnet", "claude-sonnet-4-6", "Sonnet 4.6"),
    Tier("opus", "claude-opus-4-7", "Opus 4.7"),
)
# the harness's aliases: gpt-5-6-sol-openai, gpt-5-6-terra-azure-openai, gpt-5-6-luna-bedrock-mantle
GPT_TIERS: tuple[Tier, ...] = (
    Tier("sol", "gpt-5-6-sol", "GPT-5.6 Sol"),
    Tier("terra", "gpt-5-6-terra", "GPT-5.6 Terra"),
    Tier("luna", "gpt-5-6-luna", "GPT-5.6 Luna"),
)
FAMILIES: dict[str, tuple[Tier, ...]] = {"claude": TIERS, "gpt-5.6": GPT_TIERS}

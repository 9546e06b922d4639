"""Decide WHAT the emulated model answers, independent of any provider's wire shape.

Every route turns its request into a `Conversation`, `plan_reply` turns that into
a `ReplyPlan` (content blocks, stop reason, token counts), and the per-provider
encoders (anthropic_messages, bedrock, converse) only render a plan. A new
feature (tool_use, server tools, an error on purpose...) is a new decision here
and one new block kind per encoder, not a change to every route.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from ccmatrix.emulator import ids

__all__ = ["Conversation", "ReplyPlan", "TextBlock", "ThinkingBlock", "plan_reply", "split_text", "tier_label"]


@dataclass(frozen=True)
class Conversation:
    """What the emulator needs from a request, whatever its wire shape."""

    seed: str  # sha256 of the request body
    body_size: int
    model: str
    message_count: int
    thinking: bool = False
    # "summarized" (the default) or "omitted": thinking text withheld, signature kept
    thinking_display: str = "summarized"


@dataclass(frozen=True)
class TextBlock:
    text: str


@dataclass(frozen=True)
class ThinkingBlock:
    thinking: str
    signature: str


Block = Union[TextBlock, ThinkingBlock]


@dataclass(frozen=True)
class ReplyPlan:
    seed: str
    model: str
    blocks: tuple[Block, ...]
    stop_reason: str
    input_tokens: int
    output_tokens: int

    def latency_ms(self) -> int:
        """Deterministic stand-in for the latency figures Bedrock reports."""
        return ids.number(self.seed, "latency", 300, 1200)

    def first_byte_latency_ms(self) -> int:
        return ids.number(self.seed, "first-byte-latency", 100, 299)


def tier_label(model: str) -> str:
    """"sonnet" for any Sonnet id on any provider, else the model id itself."""
    for tier in ("haiku", "sonnet", "opus"):
        if tier in model.lower():
            return tier
    return model


def plan_reply(conversation: Conversation) -> ReplyPlan:
    tier = tier_label(conversation.model)
    count = conversation.message_count
    blocks: list[Block] = []
    if conversation.thinking:
        thinking = f"ccmatrix emulator: synthetic thinking ({tier}); no model reasoned here."
        if conversation.thinking_display == "omitted":
            thinking = ""
        blocks.append(ThinkingBlock(thinking=thinking, signature=ids.signature(conversation.seed)))
    blocks.append(TextBlock(f"ccmatrix emulator: synthetic reply ({tier}, {count} message{'s' if count != 1 else ''})"))
    return ReplyPlan(
        seed=conversation.seed,
        model=conversation.model,
        blocks=tuple(blocks),
        stop_reason="end_turn",
        input_tokens=max(1, conversation.body_size // 4),
        output_tokens=sum(_tokens(block) for block in blocks),
    )


def _tokens(block: Block) -> int:
    text = block.text if isinstance(block, TextBlock) else block.thinking
    return max(1, len(text) // 4)


def split_text(text: str, parts: int = 3) -> list[str]:
    """Cut text at word boundaries into up to `parts` non-empty pieces (stream deltas)."""
    words = re.findall(r"\S+\s*|\s+", text)
    if len(words) <= 1:
        return [text] if text else []
    parts = min(parts, len(words))
    pieces = []
    for i in range(parts):
        start, end = len(words) * i // parts, len(words) * (i + 1) // parts
        pieces.append("".join(words[start:end]))
    return [piece for piece in pieces if piece]

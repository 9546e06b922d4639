"""Decide WHAT the emulated model answers, independent of any provider's wire shape.

Every route turns its request into a `Conversation`, `plan_reply` turns that into
a `ReplyPlan` (content blocks, stop reason, token counts), and the per-provider
encoders (anthropic_messages, bedrock, converse) only render a plan. A new
feature (tool_use, server tools, an error on purpose...) is a new decision here
and one new block kind per encoder, not a change to every route.

Two kinds of determinism meet here:
- message ids, latencies and token counts derive from the request body's hash
  (`Conversation.seed`): same bytes, same answer;
- anything a client echoes back later (tool_use ids, server tool ids, thinking
  signatures) derives from the conversation's CONTENT (`Conversation.content_key`:
  the first user message's text without whitespace, plus how many tool calls
  the assistant already made), so
  the Claude Code CLI talking first-party and LiteLLM talking Vertex, Bedrock
  Invoke, Converse or Foundry for the same conversation get the same ids.

The directive protocol: a line `ccmatrix-directive: <JSON>` anywhere in the
text of the first user message scripts the reply (see `parse_directive`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Union

from ccmatrix.cassette.redact import normalize_text
from ccmatrix.providers import ids, signatures

__all__ = [
    "Conversation",
    "RedactedThinkingBlock",
    "ReplyPlan",
    "ServerToolUseBlock",
    "TextBlock",
    "ThinkingBlock",
    "ToolSpec",
    "ToolUseBlock",
    "WebSearchResultBlock",
    "content_key",
    "parse_directive",
    "plan_reply",
    "split_text",
    "synthesize_from_schema",
    "tier_label",
]

DIRECTIVE_PREFIX = "ccmatrix-directive:"
# Anthropic's documented test string: a request that carries it (with thinking on) is
# answered with redacted thinking (platform.claude.com, "Thinking redaction"; the real
# streams in ../shared/reference/provider-captures/pydantic__pydantic-ai/*redacted*)
REDACTED_THINKING_TRIGGER = ("ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
                             "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB")
STRUCTURED_OUTPUT_TOOL = "StructuredOutput"
# Claude Code's client tool that loads deferred tools (2.1.332 defers WebSearch behind
# it): its own description says deferred tools are named in a system reminder, have no
# schema until fetched, and that `"select:<tool_name>"` fetches one by name. A model
# asked to use a tool it only sees by name calls this first.
TOOL_SEARCH_TOOL = "ToolSearch"


@dataclass(frozen=True)
class ToolSpec:
    """A tool the request offers: a client tool (type None/"custom") or a server tool."""

    name: str
    type: str | None = None
    input_schema: Any = None


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
    # --- content (provider-neutral; see the module docstring)
    first_user_text: str = ""  # every text block of the first user message, joined by "\n"
    latest_user_text: str = ""
    tools: tuple[ToolSpec, ...] = ()
    # names of the client tools the assistant called so far, one entry per tool_use block
    assistant_tool_calls: tuple[str, ...] = ()
    server_tool_calls: int = 0  # server_tool_use blocks the assistant already sent
    latest_has_tool_result: bool = False
    tool_results: int = 0  # tool_result blocks in the whole conversation
    images_in_results: int = 0  # image blocks inside (or next to) tool results
    documents_in_results: int = 0
    document_texts: tuple[str, ...] = ()  # what the emulator can read in those documents (pdf_text)
    cache_markers: int = 0  # cache_control / cachePoint blocks in the request
    cache_markers_1h: int = 0  # ... of which with ttl "1h"

    @property
    def directive(self) -> dict | None:
        return parse_directive(self.first_user_text)

    @property
    def content_key(self) -> str:
        return content_key(self.first_user_text)

    def tool(self, name: str) -> ToolSpec | None:
        return next((tool for tool in self.tools if tool.name == name), None)

    @property
    def web_search_tool(self) -> ToolSpec | None:
        return next((tool for tool in self.tools if (tool.type or "").startswith("web_search_")), None)


@dataclass(frozen=True)
class TextBlock:
    text: str
    # web_search_result_location citations (a cited block opens with citations: [] and
    # receives them as citations_delta events)
    citations: tuple[dict, ...] = ()


@dataclass(frozen=True)
class ThinkingBlock:
    thinking: str
    signature: str


@dataclass(frozen=True)
class RedactedThinkingBlock:
    """Thinking the provider withholds: an opaque blob the client must echo back as is."""

    data: str


@dataclass(frozen=True)
class _ToolCall:
    id: str
    name: str
    input: dict

    @property
    def input_json(self) -> str:
        return json.dumps(self.input, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class ToolUseBlock(_ToolCall):
    """A client tool call (Anthropic `tool_use`, Converse `toolUse`)."""


@dataclass(frozen=True)
class ServerToolUseBlock(_ToolCall):
    """A server tool call the provider runs itself (web_search); not a ToolUseBlock."""


@dataclass(frozen=True)
class WebSearchResultBlock:
    tool_use_id: str
    results: tuple[dict, ...]


Block = Union[TextBlock, ThinkingBlock, RedactedThinkingBlock, ToolUseBlock, ServerToolUseBlock, WebSearchResultBlock]


@dataclass(frozen=True)
class ReplyPlan:
    seed: str
    model: str
    blocks: tuple[Block, ...]
    stop_reason: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    # the 1h share of cache_creation_input_tokens; None = no 1h breakdown to report
    cache_creation_1h_tokens: int | None = None
    web_search_requests: int = 0

    def latency_ms(self) -> int:
        """Deterministic stand-in for the latency figures Bedrock reports."""
        return ids.number(self.seed, "latency", 300, 1200)

    def first_byte_latency_ms(self) -> int:
        return ids.number(self.seed, "first-byte-latency", 100, 299)

    @property
    def cache_creation_5m_tokens(self) -> int:
        return self.cache_creation_input_tokens - (self.cache_creation_1h_tokens or 0)

    @property
    def text(self) -> str:
        """The reply's text blocks, joined (for APIs whose answer has one text)."""
        return "".join(b.text for b in self.blocks if isinstance(b, TextBlock))

    @property
    def tool_calls(self) -> list[ToolUseBlock]:
        """The reply's client tool calls, in order."""
        return [b for b in self.blocks if isinstance(b, ToolUseBlock)]


# ---------------------------------------------------------------- content helpers


def content_key(first_user_text: str) -> str:
    """The first user text without any whitespace (survives block merging, re-joining and
    trimming) and without its per-run values (the day: recordings made on other days agree)."""
    return "".join(normalize_text(first_user_text).split())


def parse_directive(text: str) -> dict | None:
    """The JSON object after the first `ccmatrix-directive:` in text, or None.

    Accepted forms: `{"tool_use": {"name", "input"}}` (one step) and
    `{"steps": [{"tool_use": ...}, ...]}` (one tool call per assistant turn).
    The JSON may be followed by other text on the same line.
    """
    at = text.find(DIRECTIVE_PREFIX)
    if at < 0:
        return None
    rest = text[at + len(DIRECTIVE_PREFIX) :].lstrip()
    try:
        value, _ = json.JSONDecoder().raw_decode(rest)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# What the live harness's prompts ask for (BerriAI/litellm tests/e2e/claude_code/), as
# the tool call a model makes when the tool is offered.
_RUN_COMMAND = re.compile(r"run (?:exactly )?the command `([^`]+)`")
_READ_FILE = re.compile(r"[Rr]ead the file at (\S+?)\.?(?:\s|$)")
_WEB_SEARCH = re.compile(r"[Uu]se web search to find (.+?)\.(?:\s|$)")


def intent_steps(text: str) -> list[dict]:
    """The tool call a prompt asks for in so many words: run a command with Bash, read a
    file with Read, search the web with WebSearch (one step; the directive scripts more)."""
    if m := _RUN_COMMAND.search(text):
        return [{"name": "Bash", "input": {"command": m[1], "description": f"Run {m[1]}"}}]
    if m := _READ_FILE.search(text):
        return [{"name": "Read", "input": {"file_path": m[1]}}]
    if m := _WEB_SEARCH.search(text):
        return [{"name": "WebSearch", "input": {"query": m[1]}}]
    return []


_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)
_PDF_SHOWN = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj")


def pdf_text(data: bytes) -> str:
    """The text a PDF shows with Tj in its content streams (plain or Flate-compressed):
    enough to read the one-page documents the rows send, not a PDF parser."""
    shown = []
    for stream in _PDF_STREAM.findall(data):
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass  # not compressed
        shown += [m.decode("latin-1") for m in _PDF_SHOWN.findall(stream)]
    return " ".join(shown)


def document_text(b64: Any) -> str | None:
    if not isinstance(b64, str):
        return None
    try:
        data = base64.b64decode(b64, validate=False)
    except ValueError:
        return None
    return pdf_text(data) if data.startswith(b"%PDF") else None


def directive_steps(directive: dict | None) -> list[dict]:
    """The directive's tool calls in order, each {"name": str, "input": dict}."""
    if not directive:
        return []
    raw = directive.get("steps") if isinstance(directive.get("steps"), list) else [directive]
    steps = []
    for step in raw:
        call = step.get("tool_use") if isinstance(step, dict) else None
        if isinstance(call, dict) and isinstance(call.get("name"), str):
            steps.append({"name": call["name"], "input": call.get("input") if isinstance(call.get("input"), dict) else {}})
    return steps


def synthesize_from_schema(schema: Any, depth: int = 0) -> Any:
    """A value satisfying a (simple) JSON schema: its required properties, filled plainly."""
    if not isinstance(schema, dict) or depth > 8:
        return "ccmatrix"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for union in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(union), list) and schema[union]:
            return synthesize_from_schema(schema[union][0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None and isinstance(schema.get("properties"), dict):
        kind = "object"
    if kind == "object":
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = [name for name in schema.get("required") or [] if isinstance(name, str)]
        return {name: synthesize_from_schema(props.get(name), depth + 1) for name in required}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "ccmatrix"


def _content_id(key: str, label: str, prefix: str) -> str:
    """An Anthropic-shaped id from the conversation content (not the body bytes)."""
    return ids.anthropic_id(hashlib.sha256(f"{key}\x00{label}".encode()).hexdigest(), prefix)


def _search_query(conversation: Conversation) -> str:
    text = conversation.latest_user_text or conversation.first_user_text
    match = re.search(r"query:\s*(.+)", text)
    query = match[1] if match else text
    query = " ".join(query.split())[:120]
    return query or "ccmatrix"


def _encrypted_index(key: str) -> str:
    return "ccmatrix-synthetic-" + base64.b64encode(hashlib.sha256(f"{key}\x00index".encode()).digest()).decode("ascii")


def _search_results(key: str, query: str) -> tuple[dict, ...]:
    results = []
    for i in (1, 2):
        blob = hashlib.sha256(f"{key}\x00search-result-{i}".encode()).digest() * 2
        results.append(
            {
                "type": "web_search_result",
                "url": f"https://example.com/ccmatrix/synthetic-result-{i}",
                "title": f"ccmatrix synthetic search result {i} for {query!r}",
                "encrypted_content": "ccmatrix-synthetic-" + base64.b64encode(blob).decode("ascii"),
                "page_age": "January 1, 2025",
            }
        )
    return tuple(results)


# ---------------------------------------------------------------- the decision


def plan_reply(conversation: Conversation) -> ReplyPlan:
    """Thinking first (when enabled), then, in order of precedence:

    1. the directive's next tool call, if one remains and the request offers the tool
       (or, offered only by name behind ToolSearch, a ToolSearch call that fetches it);
    2. a web search (server tool), if offered and not yet run in this conversation;
    3. a StructuredOutput call, if offered and not yet called;
    4. text: plain, or a summary of the tool results seen.
    """
    tier = tier_label(conversation.model)
    count = conversation.message_count
    key = conversation.content_key
    blocks: list[Block] = []
    if conversation.thinking:
        # not only ASCII: a stream cut inside a multi-byte character must survive (--chunkings)
        thinking = f"ccmatrix emulator: synthetic thinking ({tier}); no model reasoned here \u2014 \u201cnone\u201d \u2713"
        if conversation.thinking_display == "omitted":
            thinking = ""
        # the client echoes signatures back: content-derived like the tool ids
        progress = len(conversation.assistant_tool_calls) + conversation.server_tool_calls
        signature_seed = hashlib.sha256(f"{key}\x00thinking:{progress}".encode()).hexdigest()
        if REDACTED_THINKING_TRIGGER in conversation.latest_user_text:
            # two redacted blocks, as the real streams show; opaque, but stable per conversation
            blocks.extend(RedactedThinkingBlock(signatures.sign(f"redacted:{n}", signature_seed) * 4) for n in (0, 1))
        else:
            # a MAC over the text, so a proxy that alters the echoed thinking is caught
            blocks.append(ThinkingBlock(thinking=thinking, signature=signatures.sign(thinking, signature_seed)))

    stop_reason = "end_turn"
    searches = 0
    steps = directive_steps(conversation.directive) or intent_steps(conversation.first_user_text)
    done = sum(1 for name in conversation.assistant_tool_calls if name not in (STRUCTURED_OUTPUT_TOOL, TOOL_SEARCH_TOOL))
    structured = conversation.tool(STRUCTURED_OUTPUT_TOOL)
    web_search = conversation.web_search_tool
    wanted = steps[done]["name"] if done < len(steps) else None
    searched = conversation.assistant_tool_calls.count(TOOL_SEARCH_TOOL)
    if wanted is not None and conversation.tool(wanted) is not None:
        step = steps[done]
        tool_id = _content_id(key, f"tool_use:{done}:{step['name']}", "toolu_")
        blocks.append(ToolUseBlock(id=tool_id, name=step["name"], input=step["input"]))
        stop_reason = "tool_use"
    elif wanted is not None and conversation.tool(TOOL_SEARCH_TOOL) is not None and searched <= done:
        # the step's tool is deferred (offered by name only): fetch it, once per step
        tool_id = _content_id(key, f"tool_use:{done}:{TOOL_SEARCH_TOOL}", "toolu_")
        blocks.append(ToolUseBlock(id=tool_id, name=TOOL_SEARCH_TOOL, input={"query": f"select:{wanted}", "max_results": 1}))
        stop_reason = "tool_use"
    elif web_search is not None and conversation.server_tool_calls == 0 and not conversation.latest_has_tool_result:
        query = _search_query(conversation)
        tool_id = _content_id(key, "server_tool_use:web_search", "srvtoolu_")
        blocks.append(ServerToolUseBlock(id=tool_id, name="web_search", input={"query": query}))
        results = _search_results(key, query)
        blocks.append(WebSearchResultBlock(tool_use_id=tool_id, results=results))
        # as real answers come: plain text, then text that cites a result
        blocks.append(TextBlock(f"ccmatrix emulator: synthetic web search summary ({tier}); "))
        first = results[0]
        cited = "2 placeholder results on example.com, nothing was searched."
        blocks.append(TextBlock(cited, citations=({"type": "web_search_result_location", "cited_text": cited,
                                                  "url": first["url"], "title": first["title"],
                                                  "encrypted_index": _encrypted_index(key)},)))
        searches = 1
    elif structured is not None and STRUCTURED_OUTPUT_TOOL not in conversation.assistant_tool_calls:
        tool_id = _content_id(key, f"tool_use:{len(conversation.assistant_tool_calls)}:{STRUCTURED_OUTPUT_TOOL}", "toolu_")
        blocks.append(ToolUseBlock(id=tool_id, name=STRUCTURED_OUTPUT_TOOL, input=_object(synthesize_from_schema(structured.input_schema))))
        stop_reason = "tool_use"
    elif conversation.tool_results or conversation.document_texts:
        text = f"ccmatrix emulator: synthetic reply after {conversation.tool_results} tool result(s) ({tier})"
        seen = [f"{n} {what}{'s' if n != 1 else ''}" for n, what in ((conversation.images_in_results, "image"), (conversation.documents_in_results, "document")) if n]
        if seen:
            text += "; saw " + " and ".join(seen)
        readable = [t for t in conversation.document_texts if t]
        if readable:
            text += "; the document reads: " + " / ".join(readable)
        blocks.append(TextBlock(text))
    else:
        blocks.append(TextBlock(f"ccmatrix emulator: synthetic reply ({tier}, {count} message{'s' if count != 1 else ''})"))

    total = max(1, conversation.body_size // 4)
    creation, creation_1h = 0, None
    if conversation.cache_markers:
        creation = max(1, total * 3 // 4)
        total = max(1, total - creation)
        if conversation.cache_markers_1h:
            creation_1h = creation * conversation.cache_markers_1h // conversation.cache_markers
    return ReplyPlan(
        seed=conversation.seed,
        model=conversation.model,
        blocks=tuple(blocks),
        stop_reason=stop_reason,
        input_tokens=total,
        output_tokens=sum(_tokens(block) for block in blocks),
        cache_creation_input_tokens=creation,
        cache_creation_1h_tokens=creation_1h,
        web_search_requests=searches,
    )


def _object(value: Any) -> dict:
    return value if isinstance(value, dict) else {"value": value}


def _tokens(block: Block) -> int:
    if isinstance(block, TextBlock):
        text = block.text
    elif isinstance(block, ThinkingBlock):
        text = block.thinking
    elif isinstance(block, (ToolUseBlock, ServerToolUseBlock)):
        text = block.name + block.input_json
    else:
        return 0  # search results are input to the model, not output
    return max(1, len(text) // 4)


def tier_label(model: str) -> str:
    """"sonnet" for any Sonnet id on any provider, else the model id itself."""
    for tier in ("haiku", "sonnet", "opus"):
        if tier in model.lower():
            return tier
    return model


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


def split_json(text: str, parts: int = 3) -> list[str]:
    """Cut compact JSON into up to `parts` non-empty character runs (input_json_delta pieces)."""
    if len(text) < parts:
        return [text] if text else []
    cuts = [len(text) * i // parts for i in range(parts + 1)]
    return [text[cuts[i] : cuts[i + 1]] for i in range(parts) if cuts[i] < cuts[i + 1]]

"""Run inside a LiteLLM environment (its own python): Claude Code's two tool-use turns
through `litellm.anthropic_messages`, what the proxy's /v1/messages calls, unstreamed
and streamed, for each (upstream URL, deployment) pair of the arguments after the first.
Writes one JSON line per run to the file named first: the Anthropic answer of each turn
as Claude Code would read it. A file of its own, not stdout: LiteLLM prints to stdout
from its logging threads, and a line of theirs could land inside one of ours.

Not a test module: tests/e2e/test_openai_translation.py runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

# as the live harness's proxy config sets them (ccmatrix/proxy/litellm_config.py)
litellm.drop_params = True
litellm.modify_params = True

OUT = open(sys.argv[1], "w")  # noqa: SIM115 - open for the whole run, closed at exit
PAIRS = list(zip(sys.argv[2::2], sys.argv[3::2]))
TOOLS = [{"name": "Bash", "description": "Run a shell command", "input_schema": {
    "type": "object", "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
    "required": ["command"]}}]
PROMPT = {"role": "user", "content": [{"type": "text", "text": "Use the Bash tool to run the command `echo pong` "
                                                               "and report what it printed."}]}
# what Claude Code sends beside the conversation (docs/gpt-columns.md)
FIELDS = {"max_tokens": 32000, "system": [{"type": "text", "text": "You are Claude Code."}],
          "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}, "metadata": {"user_id": "ccmatrix"}}


def where(upstream: str, model: str) -> dict:
    if model.startswith("bedrock_mantle/"):  # SigV4, with the AWS keys of the environment
        return {"api_base": upstream, "aws_region_name": "us-east-1"}
    if model.startswith("azure/"):
        return {"api_base": upstream, "api_key": "ccmatrix-test-key", "api_version": "2025-04-01-preview"}
    return {"api_base": upstream + "/v1", "api_key": "sk-ccmatrix-test"}


async def turn(upstream: str, model: str, messages: list, stream: bool) -> dict:
    """The answer as content blocks, its stop reason and any error event."""
    answer = await litellm.anthropic_messages(model=model, messages=messages, stream=stream, tools=TOOLS, **FIELDS,
                                              **where(upstream, model))
    if not stream:
        return {"content": answer["content"], "stop_reason": answer.get("stop_reason"), "errors": []}
    raw = b"".join([e if isinstance(e, bytes) else json.dumps(e).encode() async for e in answer]).decode()
    events = [json.loads(line[6:]) for line in raw.splitlines() if line.startswith("data: ")]
    blocks: dict[int, dict] = {}
    for event in events:
        if event["type"] == "content_block_start":
            blocks[event["index"]] = {**event["content_block"], "partial": ""}
        elif event["type"] == "content_block_delta":
            delta, block = event["delta"], blocks[event["index"]]
            block["partial"] += delta.get("partial_json", "")
            if "text" in delta:
                block["text"] = block.get("text", "") + delta["text"]
    for block in blocks.values():
        partial = block.pop("partial")
        if block["type"] == "tool_use" and partial:
            block["input"] = json.loads(partial)
    stops = [e["delta"].get("stop_reason") for e in events if e["type"] == "message_delta"]
    return {"content": list(blocks.values()), "stop_reason": stops[-1] if stops else None,
            "errors": [e["error"] for e in events if e["type"] == "error"],
            "deltas": sum(1 for e in events if e["type"] == "content_block_delta")}


async def main() -> None:
    for upstream, model in PAIRS:
        for stream in (False, True):
            try:
                await run(upstream, model, stream)
            except Exception as exc:  # what the proxy would answer Claude Code with instead
                report({"model": model, "stream": stream, "raised": f"{type(exc).__name__}: {exc}"})


async def run(upstream: str, model: str, stream: bool) -> None:
    first = await turn(upstream, model, [PROMPT], stream)
    calls = [b for b in first["content"] if b["type"] == "tool_use"]
    second = None
    if calls:
        echoed = [b for b in first["content"] if b["type"] in ("tool_use", "thinking", "redacted_thinking")]
        result = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": calls[0]["id"], "content": "pong"}]}
        second = await turn(upstream, model, [PROMPT, {"role": "assistant", "content": echoed}, result], stream)
    report({"model": model, "stream": stream, "first": first, "second": second})


def report(run: dict) -> None:
    OUT.write(json.dumps(run) + "\n")
    OUT.flush()


asyncio.run(main())

"""A tiny stdio MCP server: the deferred tools Claude Code's tool search finds.

Claude Code defers MCP tools (`defer_loading`) and discovers them with its
ToolSearch tool, whose results come back as `tool_reference` blocks: the
tool_search row needs an MCP server, and this one is enough (JSON-RPC 2.0 over
stdio, newline-delimited, the MCP subset the CLI uses).

    python -m ccmatrix.mcp_stub
"""

from __future__ import annotations

import json
import sys

PROTOCOL_VERSION = "2025-06-18"
TOOLS = [
    {
        "name": f"ccmatrix_{name}",
        "description": f"ccmatrix stub tool: {desc} (synthetic, for tool-search tests)",
        "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    }
    for name, desc in [
        ("weather_lookup", "look up the weather for a city"),
        ("stock_quote", "fetch a stock quote"),
        ("unit_convert", "convert between units"),
        ("time_zone", "tell the time in a time zone"),
    ]
]


def handle(request: dict) -> dict | None:
    method, rid = request.get("method"), request.get("id")
    if rid is None:  # a notification
        return None
    if method == "initialize":
        result = {
            "protocolVersion": request.get("params", {}).get("protocolVersion", PROTOCOL_VERSION),
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "ccmatrix", "version": "1.0"},
        }
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call":
        name = request.get("params", {}).get("name")
        result = {"content": [{"type": "text", "text": f"ccmatrix stub: {name} called (synthetic)"}]}
    elif method in ("ping", "resources/list", "prompts/list"):
        result = {} if method == "ping" else {method.split("/")[0]: []}
    else:
        return {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": f"method not found: {method}"}}
    return {"jsonrpc": "2.0", "id": rid, "result": result}


def main() -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle(json.loads(line))
        if reply is not None:
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()

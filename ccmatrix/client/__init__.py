"""The client stage: what Claude Code sends, and sending it to the proxy.

capture_format.py   the client capture format (cassettes/clients/<scenario>/<tier>.json)
scenarios.py        how the CLI is made to produce each row's traffic
capture.py          `ccmatrix capture`: run the pinned CLI against the emulator, keep the turns
driver.py           replay a capture's turns against the LiteLLM proxy (the captured-request client)
claude_cli.py       the pinned CLI, installed from npm into the cache
workspace.py        the PNG and PDF the CLI's Read tool is pointed at
mcp_stub.py         the stub MCP server behind the tool_search row
"""

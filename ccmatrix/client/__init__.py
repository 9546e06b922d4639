"""The client stage: who talks to the LiteLLM proxy for a cell tier, and what it ended up with.

cli_driver.py   the pinned `claude` CLI, run as the live harness runs it (the CLI client)
driver.py       a cassette's recorded client leg, sent again (the captured-request client)
probes.py       the live harness's plain-HTTP probes (count_tokens, tool search)
inputs.py       what a row gives the CLI besides flags: the PDF, the vision and long-context stdin
outcome.py      ClientOutcome: what the client ended up with, whichever client ran
claude_cli.py   the pinned CLI, installed from npm into the cache
"""

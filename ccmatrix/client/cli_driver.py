"""The CLI client: the pinned `claude` binary against the proxy, as the live harness runs it.

    claude --print --output-format stream-json --verbose --model <alias>
           --session-id 00000000-0000-4000-8000-000000000000 --no-session-persistence
           <row flags> -- <prompt>            (or the row's stdin instead of a prompt)

With the live harness's environment (an allow-list, the shell pinned, `ANTHROPIC_BASE_URL`,
`ANTHROPIC_AUTH_TOKEN`, a fresh HOME, a fixed config dir seeded with
`{"userID": "0"*64}`, a fixed empty working directory), so that its requests are the
same on every run and replay. ccmatrix adds two things: retries bounded to
CLI_MAX_RETRIES, and a dead loopback HTTP(S) proxy
with `NO_PROXY=127.0.0.1,localhost`, which keeps the CLI's own telemetry off the
internet; measured against the emulator, the CLI's API requests are byte-identical
with and without it. The CLI runs the conversation itself: turn 2 is what it makes
of LiteLLM's turn-1 answer.

Natively (`NativeEndpoint`, for the native reference: ccmatrix/run/native.py) the same
run talks to the provider itself (`CLAUDE_CODE_USE_BEDROCK` and the like, with
`--model` the provider's model id); its HTTPS proxy is then mitmdump, which records
its requests, lets the emulator answer, and refuses every other host (its telemetry).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccmatrix.catalog.features import CliRun
from ccmatrix.client import inputs
from ccmatrix.client.outcome import ClientOutcome

__all__ = ["RUN_DIR", "SESSION_ID", "NativeEndpoint", "cli_argv", "outcome_of", "run_cli"]

SESSION_ID = "00000000-0000-4000-8000-000000000000"
# Fixed, not per-run: the CLI writes its working directory and config paths into its
# prompts, and a random path would make every run's requests differ.
RUN_DIR = Path("/tmp/ccmatrix-cli")
# One CLI run at a time per machine holds RUN_DIR: two processes sharing it (two pytest
# workers, two `ccmatrix run`s) read each other's config state, which changed a
# recorded request by a token in CI.
RUN_LOCK = Path("/tmp/ccmatrix-cli.lock")
_ALLOWED_ENV = ("PATH", "USER", "LOGNAME", "NODE_PATH")
# Set, not passed through: the CLI writes its shell into the system prompt ("Shell: bash",
# "Shell: unknown" with SHELL unset), so an ambient SHELL changed every recorded request
# in CI, whose environment has none. These are the values the cassettes were recorded with.
_PINNED_ENV = {"SHELL": "/bin/bash", "TERM": "xterm", "LANG": "C.UTF-8"}
_DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: nothing listens, connections fail at once
_TRUNCATE = 800
CLI_MAX_RETRIES = 2


def cli_argv(binary: Path, run: CliRun, model: str, files: dict[str, str]) -> list[str]:
    argv = [str(binary), "--print", "--output-format", "stream-json", "--verbose", "--model", model,
            "--session-id", SESSION_ID, "--no-session-persistence", *run.args]
    if run.stdin is None:
        # "--" keeps variadic flags (--allowed-tools X) from swallowing the prompt
        argv += ["--", (run.prompt or "").format(**files)]
    return argv


@contextlib.contextmanager
def _holding_run_dir():
    with RUN_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        yield


def _prepare() -> tuple[Path, Path, dict[str, str]]:
    """RUN_DIR as a first start finds it: the CLI keeps state in its config dir (migration
    flags in .claude.json, caches, shell snapshots, a telemetry backlog that grew by
    a file per run), and a later run must not see what an earlier one left."""
    shutil.rmtree(RUN_DIR, ignore_errors=True)
    config, workspace = RUN_DIR / "config", RUN_DIR / "workspace"
    config.mkdir(parents=True, exist_ok=True, mode=0o700)
    workspace.mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "tmp").mkdir(exist_ok=True)
    (config / ".claude.json").write_text(json.dumps({"userID": "0" * 64}))
    files = inputs.write_files(RUN_DIR / "files")
    return config, workspace, files


@dataclass(frozen=True)
class NativeEndpoint:
    """Claude Code talking to a provider itself: the provider's switches and throwaway
    credentials (Provider.native_environment), through an HTTPS proxy (mitmdump, which
    records the requests and lets the emulator answer) whose CA the CLI trusts."""

    environment: dict[str, str]
    proxy: str
    ca_file: Path


def environment(base_url: str, token: str, home: Path, config: Path, extra: dict[str, str],
                native: NativeEndpoint | None = None) -> dict[str, str]:
    env = {k: os.environ[k] for k in _ALLOWED_ENV if k in os.environ}
    env.update(_PINNED_ENV)
    proxy = native.proxy if native else _DEAD_PROXY
    env.update({
        "HOME": str(home), "TMPDIR": str(RUN_DIR / "tmp"), "CLAUDE_CONFIG_DIR": str(config),
        "HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy, "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        # the CLI retries 5xx and connection errors with backoff for minutes by default
        # (field notes); two retries keep a dead proxy's cost to seconds and still let a
        # fault that clears on retry through. Requests are the same either way.
        "CLAUDE_CODE_MAX_RETRIES": str(CLI_MAX_RETRIES),
    })
    if native is None:
        env.update({"ANTHROPIC_BASE_URL": base_url, "ANTHROPIC_AUTH_TOKEN": token})
    else:
        env.update({**native.environment, "NODE_EXTRA_CA_CERTS": str(native.ca_file)})
    env.update(extra)
    return env


def run_cli(binary: Path, run: CliRun, provider: str, model: str, base_url: str, token: str,
            native: NativeEndpoint | None = None) -> ClientOutcome:
    """One row's CLI run against `base_url` (or, `native`, against the provider itself);
    never raises for what the CLI does."""
    with _holding_run_dir():
        return _run_cli(binary, run, provider, model, base_url, token, native)


def _run_cli(binary: Path, run: CliRun, provider: str, model: str, base_url: str, token: str,
             native: NativeEndpoint | None) -> ClientOutcome:
    config, workspace, files = _prepare()
    argv = cli_argv(binary, run, model, files)
    home = Path(tempfile.mkdtemp(prefix="claude-cli-home-"))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, env=environment(base_url, token, home, config, run.environment(provider), native),
                              cwd=workspace, input=inputs.stdin_for(run.stdin), capture_output=True, text=True,
                              timeout=run.timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        outcome = outcome_of(out, None, "")
        outcome.failure = f"claude CLI timed out after {float(run.timeout)}s"
        outcome.detail.update(argv=_shown(argv), seconds=round(time.perf_counter() - t0, 2))
        return outcome
    finally:
        shutil.rmtree(home, ignore_errors=True)
    outcome = outcome_of(proc.stdout, proc.returncode, proc.stderr)
    outcome.detail.update(argv=_shown(argv), seconds=round(time.perf_counter() - t0, 2))
    return outcome


def _shown(argv: list[str]) -> list[str]:
    return ["claude", *argv[1:]]


def parse_stream_json(stdout: str) -> list[dict[str, Any]]:
    """The lines that parse as JSON objects (others are skipped, as the harness skips them)."""
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            events.append(value)
    return events


def outcome_of(stdout: str, exit_code: int | None, stderr: str) -> ClientOutcome:
    """What the live harness reads from a run: assistant text and blocks across all
    assistant events, the last usage, stream events, the trailing result event."""
    events = parse_stream_json(stdout)
    outcome = ClientOutcome(client="cli", detail={"exit_code": exit_code})
    results = [e for e in events if e.get("type") == "result"]
    for event in events:
        kind = event.get("type")
        if kind == "assistant":
            content = (event.get("message") or {}).get("content")
            if isinstance(content, str):
                outcome.text += content
            elif isinstance(content, list):
                outcome.blocks += [b for b in content if isinstance(b, dict)]
                outcome.text += "".join(b.get("text", "") for b in content
                                        if isinstance(b, dict) and b.get("type") == "text")
        elif kind == "stream_event" and isinstance(event.get("event"), dict):
            outcome.stream_events += 1
            inner = event["event"]
            if inner.get("type") == "content_block_delta" and (inner.get("delta") or {}).get("type") == "input_json_delta":
                outcome.input_json_deltas += 1
        usage = event.get("usage") or (event.get("message") or {}).get("usage")
        if isinstance(usage, dict) and usage:
            outcome.usage = usage
    if results:
        outcome.structured_output = results[-1].get("structured_output")
    if exit_code not in (0, None):
        parts = [f"exit={exit_code}"]
        status = results[-1].get("api_error_status") if results else None
        if isinstance(status, int):
            parts.append(f"api_status={status}")
        if outcome.text.strip():
            parts.append(f"text={_cut(outcome.text.strip())}")
        if stderr.strip():
            parts.append(f"stderr={_cut(stderr.strip())}")
        if len(parts) == 1:
            parts.append("(no diagnostic output)")
        outcome.failure = "claude CLI failed: " + "; ".join(parts)
    return outcome


def _cut(text: str) -> str:
    return text if len(text) <= _TRUNCATE else text[:_TRUNCATE] + "...(truncated)"

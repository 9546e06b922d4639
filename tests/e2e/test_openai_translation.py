"""LiteLLM's own translation, Anthropic Messages <-> OpenAI, over the emulator's OpenAI
answers: the GPT-5.6 columns' first layer (issue 23, docs/gpt-columns.md).

LiteLLM runs in its own environment (`litellm.anthropic_messages`, what the proxy's
/v1/messages calls) against a loopback server that answers as OpenAI's Responses API
does (ccmatrix/emulator/openai_responses.py) and keeps each request. Claude Code's two
tool-use turns, unstreamed and streamed, for an `openai/` and an `azure/` deployment:
the answers must be what Claude Code needs (a Bash tool call with its input, then text),
and the requests must carry what Claude Code asked for.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ccmatrix.emulator import EmulatedRequest, openai_chat, openai_responses
from ccmatrix.providers.contract import ProviderRequest, judge, on_path
from ccmatrix.providers.openai_api import chat_completions_rules, responses_rules
from ccmatrix.proxy.litellm_env import resolve

pytestmark = pytest.mark.proxy
PROBE = Path(__file__).with_name("litellm_messages_probe.py")
DEPLOYMENTS = ("openai/gpt-5.6-sol", "azure/gpt-5.6-sol", "bedrock_mantle/openai.gpt-5.6-sol")
# throwaway keys for Bedrock Mantle's SigV4 signature (the upstream here checks none)
AWS_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
REGRESSED = "1.83.14"  # sends no `stream` to the Responses API (docs/gpt-columns.md)
# OpenAI's contracts; Bedrock Mantle's own strictness is not measured (docs/gpt-columns.md)
CONTRACT = responses_rules("openai", on_path(r"/responses$")) + \
    chat_completions_rules("openai", on_path(r"/chat/completions$"))


class Upstream(ThreadingHTTPServer):
    """OpenAI on loopback: the Responses API and Chat Completions as the emulator answers
    them, held to their contracts (a request that breaks a rule gets OpenAI's refusal);
    every request kept."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Upstream

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        body = json.loads(raw)
        self.server.requests.append((self.path, body))
        route = self.path.split("?")[0]
        if not route.endswith(("/responses", "/chat/completions")):
            self.send_error(404)
            return
        verdict = judge(CONTRACT, ProviderRequest.of("POST", "api.openai.com", self.path, dict(self.headers), body))
        request = EmulatedRequest("POST", "api.openai.com", self.path, dict(self.headers), raw)
        if verdict.rejected:
            answer = openai_chat.refusal(verdict.rejected, {})
        elif route.endswith("/responses"):
            answer = openai_responses.answer(request, body, {})
        else:
            answer = openai_chat.answer(request, body, str(body["model"]), {})
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, *args: object) -> None:
        pass


def _probe(release: str | None, upstreams: dict[str, Upstream], out: Path) -> dict[str, list[dict]]:
    """One LiteLLM process of `release` runs every deployment, each against its own upstream."""
    python = resolve(release, install=False).python
    pairs = [arg for model, upstream in upstreams.items() for arg in (upstream.url, model)]
    done = subprocess.run([str(python), str(PROBE), str(out), *pairs], capture_output=True, text=True,
                          timeout=240, env={**os.environ, **AWS_KEYS})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return {model: [line for line in lines if line["model"] == model] for model in upstreams}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[tuple[str | None, str], tuple[list[dict], list[tuple[str, dict]]]]:
    """Each release's runs of each deployment, the two releases side by side."""
    releases = (None, REGRESSED)
    upstreams = {release: {model: Upstream() for model in DEPLOYMENTS} for release in releases}
    outs = {release: tmp_path_factory.mktemp("probe") / "runs.jsonl" for release in releases}
    try:
        with ThreadPoolExecutor(2) as pool:
            answers = dict(zip(releases, pool.map(lambda r: _probe(r, upstreams[r], outs[r]), releases)))
        return {(release, model): (answers[release][model], upstreams[release][model].requests)
                for release in releases for model in DEPLOYMENTS}
    finally:
        for upstream in (u for by_model in upstreams.values() for u in by_model.values()):
            upstream.shutdown()
            upstream.server_close()


def _tool_call(answer: dict) -> dict | None:
    return next((b for b in answer["content"] if b["type"] == "tool_use"), None)


@pytest.mark.parametrize("model", DEPLOYMENTS)
def test_claude_code_s_tool_turns_come_through_the_default_litellm(runs, model):
    answers, requests = runs[(None, model)]
    assert [a["stream"] for a in answers] == [False, True] and not [a for a in answers if "raised" in a], answers
    for answer in answers:
        first, second = answer["first"], answer["second"]
        call = _tool_call(first)
        assert first["errors"] == [] and first["stop_reason"] == "tool_use", answer
        assert call is not None and call["name"] == "Bash" and call["input"]["command"] == "echo pong", first
        assert second is not None and second["errors"] == [] and second["stop_reason"] == "end_turn", answer
        assert any("after 1 tool result" in b.get("text", "") for b in second["content"]), second
        if answer["stream"]:
            assert first["deltas"] > 2  # the arguments came in pieces, as they were streamed
    # four requests (two turns, unstreamed and streamed), all to the Responses API, each
    # carrying what Claude Code asked for
    assert len(requests) == 4 and all(path.split("?")[0].endswith("/responses") for path, _ in requests)
    for n, (_, body) in enumerate(requests):
        assert body["reasoning"]["effort"] == "high" and body["max_output_tokens"] == 32000, body
        assert "max_tokens" not in body and "output_config" not in body
        assert [t["name"] for t in body["tools"]] == ["Bash"]
        assert body.get("stream", False) is (n >= 2)
    # the tool result went back as the call's output
    outputs = [i for i in requests[1][1]["input"] if i.get("type") == "function_call_output"]
    calls = [i for i in requests[1][1]["input"] if i.get("type") == "function_call"]
    assert len(outputs) == len(calls) == 1 and outputs[0]["call_id"] == calls[0]["call_id"]


@pytest.mark.parametrize("model", DEPLOYMENTS[:2])
def test_litellm_1_83_14_asks_for_no_stream_and_the_streamed_tool_call_is_lost(runs, model):
    """1.83.14 sends Claude Code's streamed request to the Responses API without
    `stream: true`; the API answers such a request with one JSON object (OpenAI's
    reference: streaming is opt-in), and what LiteLLM makes of it for Claude Code says
    tool_use with no tool call in it. Emulator only: no live recording of 1.83.14 on
    these columns exists."""
    answers, requests = runs[(REGRESSED, model)]
    streamed = [body for _, body in requests[2:]]
    assert streamed and all("stream" not in body for body in streamed)
    unstreamed, stream = answers[0], answers[1]
    assert _tool_call(unstreamed["first"]) is not None  # unstreamed, the call comes through
    assert stream["first"]["stop_reason"] == "tool_use" and _tool_call(stream["first"]) is None, stream


def test_litellm_1_83_14_sends_bedrock_mantle_an_anthropic_field_openai_refuses(runs):
    """1.83.14 sends Bedrock Mantle's GPT-5.6 Chat Completions (not the Responses API, as
    1.110.2 does), with Claude Code's `output_config` left in: OpenAI's contract refuses it
    by name, and Claude Code gets an error instead of an answer. Measured: the request;
    emulator only: the refusal (OpenAI's rule; Mantle's own strictness is not measured)."""
    answers, requests = runs[(REGRESSED, DEPLOYMENTS[2])]
    assert requests and all(path.endswith("/chat/completions") for path, _ in requests)
    assert all("output_config" in body and "max_tokens" in body for _, body in requests)
    assert len(answers) == 2 and all("Unrecognized request argument supplied: output_config" in a["raised"]
                                     for a in answers), answers

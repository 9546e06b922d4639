"""What `ccmatrix export` writes, from one cassette.

    provider_leg.yaml   LiteLLM's upstream exchanges as a vcrpy cassette (version 1): bodies
                        as sent, streams as recorded (SSE text; Bedrock's event streams as
                        binary, frames intact), auth exchanges left out
    client_leg.json     the Anthropic Messages requests Claude Code sent the proxy
    expected.json       the deployment (its litellm_params, throwaway credentials), the
                        turns to send, the load-bearing fields each upstream request
                        carried when it was recorded, the row's criteria
    test_<cell>.py      the test (ccmatrix/export/unit_test.py): no ccmatrix import
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.cassette.field_diff import CREDENTIAL_HEADERS, matches, request_view
from ccmatrix.catalog import layout
from ccmatrix.errors import CcmatrixError
from ccmatrix.export import unit_test
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice, auth_cassette_name
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.recorder.match import conversation_of

# the row's answer checks the exported test can make on LiteLLM's answer itself
# (ccmatrix/verdict/criteria.py has the CLI's versions of them)
ANSWER_CRITERIA = ("assistant_text", "tool_use_block", "thinking_block", "input_json_delta", "stream_events")


class ExportError(CcmatrixError):
    """A cell tier that cannot be exported (no cassette, a probe row): exit 2."""


def export_cell(cell: catalog.CellTier, root: Path, release: str, to: Path,
                credentials: CredentialChoice = DEFAULT_CHOICE,
                traffic: list[cassettes.Interaction] | None = None) -> list[Path]:
    """Write the export into `to` (created; its files replaced), all or nothing. The
    expectations are the cassette's; the provider leg is the cassette's too, or
    `traffic` (what a run's provider answered: `run_traffic`)."""
    if cell.feature.cli is None:
        raise ExportError(f"{cell.id}: a probe row ({cell.feature.probe}); its traffic is one plain HTTP request, "
                          "nothing for a LiteLLM unit test to replay")
    if cell.not_applicable_reason:
        raise ExportError(f"{cell.id}: not applicable ({cell.not_applicable_reason})")
    path = cell.cassette_path(root, release)
    try:
        recorded = cassettes.load(path, root)
    except cassettes.CassetteError as exc:
        raise ExportError(str(exc)) from None
    mode = credentials.for_provider(cell.provider)
    turns = [r for r in recorded.client if _model(r) == cell.proxy_model]
    upstream = _on_model(cell, recorded.interactions)
    answers = upstream if traffic is None else _on_model(cell, traffic)
    if not turns or not upstream or not answers:
        raise ExportError(f"{path}: no request on {cell.proxy_model} in its client leg, or none upstream on "
                          f"{cell.model_id}")
    # every load-bearing field leaf by leaf, the conversation's too, as the replay holds them: left
    # out, five of 1.83.14's 33 red exportable tiers passed here (a PDF and a cache point lost
    # inside the conversation); with them all 33 fail and the rest pass, on the default all 190
    fields = tuple(cell.feature.load_bearing(cell.provider))
    expected = {
        "cell": cell.id,
        "release": release,
        "recorded": {"litellm": recorded.provenance.litellm_version, "verdict": (recorded.verdict.status
                                                                               if recorded.verdict else None)},
        "deployment": cell.provider.litellm_params(cell.model_id, mode),
        "environment": cell.provider.fake_credentials(Path(tempfile.gettempdir()), None, mode),
        "turns": [{"headers": _forwarded_headers(r.headers), "body": r.body.json_} for r in turns if r.body is not None],
        "requests": [{"route": f"{i.request.method} {i.request.url.split('?')[0]}",
                      "fields": _fields(i.request, fields), "turns": _turns(i.request),
                      "conversation": _conversation(i.request)} for i in upstream],
        "criteria": [c for c in cell.feature.criteria if c in ANSWER_CRITERIA],
        # Vertex AI's metadata-server mode: google.auth's default credentials, stood in for
        "google_adc": mode.id == "metadata-server",
    }
    staging = Path(tempfile.mkdtemp(prefix=".ccmatrix-export-", dir=to.parent if to.parent.exists() else None))
    try:
        (staging / "provider_leg.yaml").write_text(vcr_cassette(answers), encoding="utf-8")
        (staging / "client_leg.json").write_text(json.dumps([r.model_dump(by_alias=True, exclude_none=True)
                                                             for r in recorded.client], indent=1), encoding="utf-8")
        (staging / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")
        name = f"test_{cell.feature.id}_{cell.provider.id}_{cell.tier.id}.py"
        (staging / name).write_text(unit_test.render(cell, str(to)), encoding="utf-8")
        to.mkdir(parents=True, exist_ok=True)
        written = []
        for item in sorted(staging.iterdir()):
            target = to / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_traffic(cell: catalog.CellTier, litellm: LiteLLMEnv, root: Path, release: str,
                credentials: CredentialChoice = DEFAULT_CHOICE) -> list[cassettes.Interaction]:
    """What the provider answered when `litellm` ran the cell tier: Claude Code's recorded
    requests sent again through it, its upstream requests answered by the emulator (a
    recording into a scratch tree; the bundled one is left alone)."""
    from ccmatrix.recorder.mode import Upstream
    from ccmatrix.run.options import RunOptions
    from ccmatrix.run.runner import execute

    with tempfile.TemporaryDirectory(prefix="ccmatrix-export-run-") as scratch:
        tree = Path(scratch)
        source = cell.cassette_path(root, release)
        if not source.exists():
            raise ExportError(f"{source}: no such cassette")
        target = cell.cassette_path(tree, release)
        target.parent.mkdir(parents=True)
        shutil.copy2(source, target)
        shutil.copytree(layout.blob_dir(root), layout.blob_dir(tree))
        result = execute([cell], litellm, RunOptions(mode=Upstream.EMULATE, root=tree, client="captured",
                                                     claude_code=release, credentials=credentials))
        if result.run_errors:
            raise ExportError(f"{cell.id}: the run through {litellm.label} broke: {result.run_errors[0].error}")
        return cassettes.load(target, tree).interactions


def _on_model(cell: catalog.CellTier, interactions: list[cassettes.Interaction]) -> list[cassettes.Interaction]:
    """The exchanges of the cell's conversation: on its model, no token endpoint's."""
    # a model id in a path is percent-encoded (Bedrock's `...-v1:0` as `...-v1%3A0`)
    return [i for i in interactions if auth_cassette_name(_host(i.request.url)) is None
            and (cell.model_id in unquote(urlsplit(i.request.url).path) or _model(i.request) == cell.model_id)]


def vcr_cassette(interactions: list[cassettes.Interaction]) -> str:
    """vcrpy's cassette format (version 1): what `vcr.cassette` loads with its YAML serializer."""
    out = []
    for i in interactions:
        request, response = i.request, i.response
        body = request.body.to_bytes() if request.body is not None else b""
        content = response.content()
        out.append({
            "request": {"method": request.method, "uri": request.url, "body": _text_or_bytes(body),
                        "headers": {k: [v] for k, v in request.headers.items()}},
            "response": {"status": {"code": response.status, "message": _REASONS.get(response.status, "")},
                         "headers": {k: [v] for k, v in response.headers.items()
                                     if k.lower() not in ("content-length", "transfer-encoding", "content-encoding")},
                         "body": {"string": _text_or_bytes(content)}},
        })
    return yaml.safe_dump({"interactions": out, "version": 1}, sort_keys=False, allow_unicode=True, width=120)


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable", 529: "Overloaded"}


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # YAML !!binary: Bedrock's event-stream frames, byte for byte


def _fields(request: cassettes.RecordedRequest, patterns: tuple[str, ...]) -> dict[str, Any]:
    body = request.body.json_ if request.body is not None else None
    view = request_view(request.method, request.url, request.headers, body)
    return {path: value for path, value in view.items()
            if path in ("method", "path") or (path.startswith("body.") and matches(path, patterns))}


def _turns(request: cassettes.RecordedRequest) -> int:
    """How many messages (Gemini's contents, the Responses API's input items) it carries:
    what the exported test pairs a sent request with its recording by, as ccmatrix does."""
    body = request.body.value() if request.body is not None else None
    lists = [body.get(key) for key in ("messages", "contents", "input")] if isinstance(body, dict) else []
    return next((len(items) for items in lists if isinstance(items, list)), 0)


def _conversation(request: cassettes.RecordedRequest) -> list[str] | None:
    """Which conversation it belongs to, as the replay tells (recorder/match.py): its first
    message's last text block and whole text, whitespace removed. The exported test pairs by
    it too, so that a request the recording never saw is not taken for a recorded one."""
    conversation = conversation_of(request.body.value() if request.body is not None else None)
    return [conversation.prompt, conversation.full] if conversation else None


def _forwarded_headers(headers: dict[str, str]) -> dict[str, str]:
    """What LiteLLM's proxy passes on of a request's headers under the live harness's
    `forward_client_headers_to_llm_api` (LiteLLMProxyRequestSetup._get_forwardable_headers):
    its `x-` headers but the SDK's `x-stainless-` ones, and `anthropic-beta`; Claude Code's
    credentials (redacted here) are not among them."""
    def forwarded(name: str) -> bool:
        name = name.lower()
        return name not in CREDENTIAL_HEADERS and (
            (name.startswith("x-") and not name.startswith("x-stainless")) or name.startswith("anthropic-beta"))

    return {name: value for name, value in headers.items() if forwarded(name)}


def _model(request: cassettes.RecordedRequest) -> str | None:
    body = request.body.value() if request.body is not None else None
    return body.get("model") if isinstance(body, dict) else None


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""

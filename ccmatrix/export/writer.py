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

import yaml

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.cassette.field_diff import matches, request_view
from ccmatrix.errors import CcmatrixError
from ccmatrix.export import unit_test
from ccmatrix.providers import DEFAULT_CHOICE, CredentialChoice, auth_cassette_name

# the row's answer checks the exported test can make on LiteLLM's answer itself
# (ccmatrix/verdict/criteria.py has the CLI's versions of them)
ANSWER_CRITERIA = ("assistant_text", "tool_use_block", "thinking_block", "input_json_delta", "stream_events")
# base fields too large or too release-specific to assert leaf by leaf in a unit test
# (the conversation itself); the route and the rest of the base fields are asserted
_CONVERSATION = ("body.messages", "body.system", "body.input", "body.contents", "body.tools")


class ExportError(CcmatrixError):
    """A cell tier that cannot be exported (no cassette, a probe row): exit 2."""


def export_cell(cell: catalog.CellTier, root: Path, release: str, to: Path,
                credentials: CredentialChoice = DEFAULT_CHOICE) -> list[Path]:
    """Write the export into `to` (created; its files replaced), all or nothing."""
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
    interactions = [i for i in recorded.interactions if auth_cassette_name(_host(i.request.url)) is None]
    turns = [r for r in recorded.client if _model(r) == cell.proxy_model]
    upstream = [i for i in interactions if cell.model_id in i.request.url or _model(i.request) == cell.model_id]
    if not turns or not upstream:
        raise ExportError(f"{path}: no request on {cell.proxy_model} in its client leg, or none upstream on "
                          f"{cell.model_id}")
    fields = tuple(p for p in cell.feature.load_bearing(cell.provider) if p not in _CONVERSATION)
    expected = {
        "cell": cell.id,
        "release": release,
        "recorded": {"litellm": recorded.provenance.litellm_version, "verdict": (recorded.verdict.status
                                                                               if recorded.verdict else None)},
        "deployment": cell.provider.litellm_params(cell.model_id, mode),
        "environment": cell.provider.fake_credentials(Path(tempfile.gettempdir()), None, mode),
        "turns": [r.body.json_ for r in turns if r.body is not None],
        "requests": [{"route": f"{i.request.method} {i.request.url.split('?')[0]}",
                      "fields": _fields(i.request, fields)} for i in upstream],
        "criteria": [c for c in cell.feature.criteria if c in ANSWER_CRITERIA],
        # Vertex AI's metadata-server mode: google.auth's default credentials, stood in for
        "google_adc": mode.id == "metadata-server",
    }
    staging = Path(tempfile.mkdtemp(prefix=".ccmatrix-export-", dir=to.parent if to.parent.exists() else None))
    try:
        (staging / "provider_leg.yaml").write_text(vcr_cassette(upstream), encoding="utf-8")
        (staging / "client_leg.json").write_text(json.dumps([r.model_dump(by_alias=True, exclude_none=True)
                                                             for r in recorded.client], indent=1), encoding="utf-8")
        (staging / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")
        name = f"test_{cell.feature.id}_{cell.provider.id}_{cell.tier.id}.py"
        (staging / name).write_text(unit_test.render(cell), encoding="utf-8")
        to.mkdir(parents=True, exist_ok=True)
        written = []
        for item in sorted(staging.iterdir()):
            target = to / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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


def _model(request: cassettes.RecordedRequest) -> str | None:
    body = request.body.json_ if request.body is not None else None
    return body.get("model") if isinstance(body, dict) else None


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or ""

"""diff.py: the normalized request view, path patterns, compare() and summarize()."""

from __future__ import annotations

import copy

import pytest

from ccmatrix import catalog
from ccmatrix.cassette import load
from ccmatrix.cassette.field_diff import FieldDiff, compare, matches, normalize_path, request_view, summarize
from ccmatrix.cassette.redact import PER_CALL
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.recorder.match import view

BEDROCK_URL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/us.anthropic.claude-haiku-4-5-20251001-v1{colon}0/invoke"
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE00/20260101/us-east-1/bedrock/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-date, Signature={sig}"
)


def recorded_request(cell_id: str):
    cell = catalog.CellTier.parse(cell_id)
    return load(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, CLAUDE_CODE_VERSION), catalog.DEFAULT_CASSETTE_DIR).interactions[0].request


def body_view(body) -> dict:
    return {k: v for k, v in request_view("POST", "https://api.anthropic.com/v1/messages", {}, body).items()
            if k.startswith("body")}


# ---------------------------------------------------------------- request_view normalization


def test_view_is_flat_with_method_host_path_and_query():
    v = request_view("post", "https://api.anthropic.com/v1/messages?beta=true&x=", {}, {"a": {"b": [1, {"c": 2}]}, "e": {}, "f": []})
    assert v == {
        "method": "POST",
        "host": "api.anthropic.com",
        "path": "/v1/messages",
        "query.beta": "true",
        "query.x": "",
        "body.a.b[0]": 1,
        "body.a.b[1].c": 2,
        "body.e": {},
        "body.f": [],
    }


def test_anthropic_beta_header_is_an_order_insensitive_set_of_flags():
    one = request_view("POST", "https://api.anthropic.com/v1/messages", {"anthropic-beta": "b-2025,a-2024"}, None)
    two = request_view("POST", "https://api.anthropic.com/v1/messages", {"Anthropic-Beta": " a-2024 , b-2025,"}, None)
    assert one == two
    assert one["headers.anthropic-beta.a-2024"] is True and one["headers.anthropic-beta.b-2025"] is True
    assert "headers.anthropic-beta" not in one
    three = request_view("POST", "https://api.anthropic.com/v1/messages", {"anthropic-beta": "a-2024"}, None)
    diffs = compare(one, three, ["headers.anthropic-beta"])
    assert [(d.path, d.kind, d.load_bearing) for d in diffs] == [("headers.anthropic-beta.b-2025", "missing", True)]


def test_body_anthropic_beta_list_is_a_set_of_flags():
    one = body_view({"anthropic_beta": ["x-1", "y-2"], "max_tokens": 5})
    two = body_view({"max_tokens": 5, "anthropic_beta": ["y-2", "x-1"]})
    assert one == two == {"body.anthropic_beta.x-1": True, "body.anthropic_beta.y-2": True, "body.max_tokens": 5}
    # other lists keep their order
    assert body_view({"stop": ["a", "b"]}) != body_view({"stop": ["b", "a"]})


def test_metadata_user_id_and_billing_line_are_per_call():
    def body(user: str, billing: str) -> dict:
        return {
            "metadata": {"user_id": user, "keep": "me"},
            "system": [{"type": "text", "text": f"x-anthropic-billing-header: cc_version=2.1.126; cch={billing};"},
                       {"type": "text", "text": "You are Claude Code."}],
        }

    one, two = body_view(body("user_abc_session_1", "111")), body_view(body("user_def_session_2", "222"))
    assert one == two
    assert one["body.metadata.user_id"] == PER_CALL and one["body.metadata.keep"] == "me"
    # the billing line is left out of the view: some releases drop it, some forward it
    assert one["body.system[0].text"] == "You are Claude Code." and "body.system[1].text" not in one
    dropped = body_view({"metadata": {"user_id": "u", "keep": "me"},
                         "system": [{"type": "text", "text": "You are Claude Code."}]})
    assert dropped == one
    # only system[0], and only when it is the billing line
    other = body_view({"system": [{"type": "text", "text": "You are Claude Code."},
                                  {"type": "text", "text": "x-anthropic-billing-header: cch=1;"}]})
    assert other["body.system[0].text"] == "You are Claude Code."
    assert other["body.system[1].text"].startswith("x-anthropic-billing-header")


def test_vertex_project_id_is_abstracted():
    url = "https://us-east5-aiplatform.googleapis.com/v1/projects/{}/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict"
    a = request_view("POST", url.format("my-project-123"), {}, None)
    b = request_view("POST", url.format("ccmatrix-project"), {}, None)
    assert a == b
    assert a["path"] == "/v1/projects/{project}/locations/{location}/publishers/anthropic/models/claude-haiku-4-5@20251001:rawPredict"


def test_url_encoded_bedrock_model_id_is_decoded():
    encoded = request_view("POST", BEDROCK_URL.format(colon="%3A"), {}, None)
    plain = request_view("POST", BEDROCK_URL.format(colon=":"), {}, None)
    assert encoded == plain
    assert plain["path"] == "/model/us.anthropic.claude-haiku-4-5-20251001-v1:0/invoke"
    assert normalize_path("/model/a%2Fb/invoke") == "/model/a/b/invoke"


def test_authentication_is_left_to_the_credential_mode_and_amz_date_dropped():
    """How a request authenticates is judged by the run's credential mode
    (tests/unit/test_credentials.py), not compared with the recording: a SigV4 recording
    stands for a bearer request and the reverse."""
    a = request_view("POST", BEDROCK_URL.format(colon=":"),
                     {"Authorization": SIGV4.format(sig="a" * 64), "X-Amz-Date": "20260101T000000Z",
                      "X-Amz-Security-Token": "FwoGZXIvYXdzEJr"}, None)
    b = request_view("POST", BEDROCK_URL.format(colon=":"), {"authorization": "Bearer ABSK-placeholder-bedrock-api-key"}, None)
    assert a == b
    assert not any(k.startswith(("headers.authorization", "headers.x-amz")) for k in a)
    keyed = [request_view("POST", "https://api.anthropic.com/v1/messages", {h: "sk-ant-api03-x"}, None)
             for h in ("x-api-key", "api-key")]
    assert keyed[0] == keyed[1] == request_view("POST", "https://api.anthropic.com/v1/messages", {}, None)


def test_a_vertex_location_is_left_to_the_credential_mode():
    path = "/v1/projects/p/locations/{}/publishers/anthropic/models/claude-opus-4-7:rawPredict"
    regional = request_view("POST", "https://us-east5-aiplatform.googleapis.com" + path.format("us-east5"), {}, None)
    global_ = request_view("POST", "https://aiplatform.googleapis.com" + path.format("global"), {}, None)
    assert regional == global_ and regional["host"] == "aiplatform.googleapis.com"


def test_transport_headers_are_not_in_the_view():
    v = request_view("POST", "https://api.anthropic.com/v1/messages",
                     {"Host": "h", "Content-Length": "5", "User-Agent": "litellm/1", "Accept-Encoding": "gzip",
                      "Accept": "*/*", "Connection": "keep-alive", "anthropic-version": "2023-06-01"}, None)
    assert [k for k in v if k.startswith("headers.")] == ["headers.anthropic-version"]


def test_recorded_request_views_are_stable_and_normalized():
    """The bundled cassettes' requests: the view of a request equals itself across
    per-call changes a live LiteLLM makes (signature, date, beta order, %3A)."""
    req = recorded_request("basic_messaging_streaming/bedrock_converse/haiku")
    assert "%3A" in req.url
    base = view(req)
    assert base["path"].endswith("-v1:0/converse-stream")
    changed = req.model_copy(deep=True)
    changed.url = req.url.replace("%3A", ":")
    changed.headers["authorization"] = SIGV4.format(sig="c" * 64).replace(
        "content-type;host;x-amz-date", "content-type;host;x-amz-date;x-amz-security-token")
    changed.headers["x-amz-date"] = "20990101T000000Z"
    assert view(changed) == base


# ---------------------------------------------------------------- patterns


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("body.messages", "body.messages", True),
        ("body.messages[0]", "body.messages", True),
        ("body.messages[3].content[0].text", "body.messages", True),
        ("body.messages_x", "body.messages", False),
        ("body.messagesx[0]", "body.messages", False),
        ("body.message", "body.messages", False),
        ("xbody.messages", "body.messages", False),
        ("body.messages[2].role", "body.messages[*].role", True),
        ("body.messages[2].role_x", "body.messages[*].role", False),
        ("body.messages.role", "body.messages[*].role", False),
        ("body.messages[x].role", "body.messages[*].role", False),
        ("body.system[0].cache_control.type", "body.system[*].cache_control", True),
        ("body.output_config.effort", "body.*.effort", True),
        ("body.output_config.inner.effort", "body.*.effort", False),
        ("headers.anthropic-beta.effort-2025-11-24", "headers.anthropic-beta", True),
        ("headers.anthropic-version", "headers.anthropic-beta", False),
        ("body.inferenceConfig.maxTokens", "body.inferenceConfig.maxTokens", True),
        ("body.inferenceConfig.maxTokensX", "body.inferenceConfig.maxTokens", False),
        ("path", "path", True),
        ("pathx", "path", False),
    ],
)
def test_matches(path, pattern, expected):
    assert matches(path, [pattern]) is expected


def test_matches_any_of_several_and_none():
    assert matches("body.system[1].text", ["body.messages", "body.system"])
    assert not matches("body.system[1].text", [])


# ---------------------------------------------------------------- compare / summarize


def test_compare_kinds_flags_and_order():
    recorded = {"method": "POST", "path": "/v1/messages", "body.max_tokens": 100, "body.messages[0].role": "user",
                "body.temperature": 1, "headers.x-app": "cli", "body.metadata.user_id": PER_CALL}
    observed = {"method": "POST", "path": "/v1/messages", "body.max_tokens": 200, "body.top_k": 5,
                "body.messages[0].role": "user", "body.messages[1].role": "assistant", "headers.x-app": "cli",
                "body.metadata.user_id": PER_CALL}
    diffs = compare(recorded, observed, ["body.messages", "body.max_tokens"])
    assert [(d.path, d.kind, d.load_bearing) for d in diffs] == [
        ("body.max_tokens", "changed", True),
        ("body.messages[1].role", "added", True),
        ("body.temperature", "missing", False),
        ("body.top_k", "added", False),
    ]
    changed, added, missing, drift = diffs
    assert (changed.recorded, changed.observed) == (100, 200)
    assert (added.recorded, added.observed) == (None, "assistant")
    assert (missing.recorded, missing.observed) == (1, None)
    assert compare(recorded, dict(recorded), ["body.messages"]) == []


def test_compare_value_types_matter():
    req = recorded_request("basic_messaging_non_streaming/anthropic/haiku")
    cell = catalog.CellTier.parse("basic_messaging_non_streaming/anthropic/haiku")
    assert req.body.json_["stream"] is True and req.body.json_["max_tokens"] == 32000
    observed = req.model_copy(deep=True)
    observed.body = observed.body.model_copy(update={"json_": {**req.body.json_, "stream": 1, "max_tokens": 32000.0}})
    diffs = compare(view(req), view(observed), cell.feature.load_bearing(cell.provider))
    assert [(d.path, d.load_bearing) for d in diffs] == [("body.max_tokens", True), ("body.stream", True)]


def test_compare_on_recorded_request_with_changed_fields():
    req = recorded_request("basic_messaging_non_streaming/anthropic/haiku")
    cell = catalog.CellTier.parse("basic_messaging_non_streaming/anthropic/haiku")
    observed = req.model_copy(deep=True)
    body = copy.deepcopy(observed.body.json_)
    body["max_tokens"] = 1234
    body["messages"][0]["content"][2]["text"] = "Reply about coffee."
    body["temperature"] = 0.5
    observed.body = observed.body.model_copy(update={"json_": body})
    observed.headers["anthropic-beta"] = ",".join(reversed(req.headers["anthropic-beta"].split(",")))
    diffs = compare(view(req), view(observed), cell.feature.load_bearing(cell.provider))
    assert [(d.path, d.kind, d.load_bearing) for d in diffs] == [
        ("body.max_tokens", "changed", True),
        ("body.messages[0].content[2].text", "changed", True),
        ("body.temperature", "added", False),
    ]


def test_summarize():
    diffs = [FieldDiff(path=f"body.f{i}", kind="changed", recorded=i, observed=i + 1, load_bearing=True) for i in range(7)]
    diffs.append(FieldDiff(path="body.drift", kind="added", observed=1))
    text = summarize(diffs, limit=3)
    assert text == "body.f0 changed: 0 -> 1; body.f1 changed: 1 -> 2; body.f2 changed: 2 -> 3; and 4 more"
    assert summarize(diffs[:2]) == "body.f0 changed: 0 -> 1; body.f1 changed: 1 -> 2"
    assert summarize([FieldDiff(path="body.drift", kind="added", observed=1)]) == ""
    assert summarize([]) == ""
    assert summarize([FieldDiff(path="body.x", kind="missing", recorded="v", load_bearing=True)]) == "body.x missing (recorded 'v')"
    assert summarize([FieldDiff(path="body.x", kind="added", observed={"a": 1}, load_bearing=True)]) == 'body.x added ({"a": 1})'
    long = summarize([FieldDiff(path="body.x", kind="changed", recorded="a" * 100, observed="b", load_bearing=True)])
    assert long.startswith("body.x changed: 'aaaa") and "..." in long and len(long) < 100

"""cassette.py: the on-disk format, its blob store, its errors, and byte-exact streams."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from ccmatrix import cassette as cassettes
from ccmatrix import catalog, wire
from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.cassette import (
    Body,
    Cassette,
    CassetteError,
    Interaction,
    Provenance,
    RecordedRequest,
    RecordedResponse,
    Stream,
    store,
)
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from tests.conftest import derive_cassette

ROOT = catalog.DEFAULT_CASSETTE_DIR
SCHEMA_FILE = CHECKOUT_DIR / "docs" / "cassette.schema.json"
CELL = "tool_search/anthropic/haiku"  # a Messages request answered with JSON (the probe)
OTHER_CELL = "basic_messaging_streaming/bedrock_invoke/sonnet"
BLOB_CELL = "basic_messaging_non_streaming/anthropic/haiku"  # Claude Code's tools: a JSON blob


def bundled_cassettes() -> list[Path]:
    """Every cell and auth cassette in the repo (not blobs, not client captures, not the
    top-level records beside the trees: recorded-with.json)."""
    return sorted(p for p in ROOT.rglob("*.json")
                  if len(p.relative_to(ROOT).parts) > 1 and p.relative_to(ROOT).parts[0] not in (cassettes.BLOB_DIR, "clients"))


def stream_cassettes(fmt: str) -> list[Path]:
    out = []
    for path in bundled_cassettes():
        doc = json.loads(path.read_text())
        if any((i["response"].get("stream") or {}).get("format") == fmt for i in doc["interactions"]):
            out.append(path)
    return out


def streamed(path: Path, fmt: str) -> list[Interaction]:
    """The interactions of a bundled cassette answered with a stream of `fmt`."""
    found = [i for i in cassettes.load(path, ROOT).interactions if i.response.stream and i.response.stream.format == fmt]
    assert found
    return found


def rel_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def make_cassette(body_json, response: RecordedResponse | None = None) -> Cassette:
    return Cassette(
        provenance=Provenance(recorded_at="2026-01-01T00:00:00Z", source="emulator"),
        interactions=[Interaction(
            request=RecordedRequest(method="POST", url="https://api.anthropic.com/v1/messages",
                                    headers={"content-type": "application/json"}, body=Body(json_=body_json)),
            response=response or RecordedResponse(status=200, body=Body(json_={"ok": True})),
        )],
    )


@pytest.fixture
def cell_copy(tmp_path: Path) -> Path:
    """Three recorded cells and the blob store, copied from cassettes/ (the whole tree is large)."""
    import shutil

    target = tmp_path / "cassettes"
    for cell_id in (CELL, OTHER_CELL, BLOB_CELL):
        rel = catalog.CellTier.parse(cell_id).cassette_path(ROOT, CLAUDE_CODE_VERSION).relative_to(ROOT)
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target / rel)
    shutil.copytree(ROOT / cassettes.BLOB_DIR, target / cassettes.BLOB_DIR)
    return target


def blob_files(root: Path) -> dict[str, str]:
    return {p.name: p.read_bytes().decode("utf-8") for p in sorted((root / cassettes.BLOB_DIR).glob("*"))}


# ---------------------------------------------------------------- blob store


def test_round_trip_externalizes_large_values_and_shares_identical_ones(tmp_path):
    prompt = "You are Claude Code. " * 80  # > 1 KiB: a .txt blob
    tools = [{"name": f"tool{i}", "description": "d" * 60, "input_schema": {"type": "object"}} for i in range(20)]
    body = {"model": "claude-haiku-4-5", "max_tokens": 100, "system": [{"type": "text", "text": prompt}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}], "tools": tools}
    original = make_cassette(body)
    path = tmp_path / "f" / "p" / "haiku.json"
    cassettes.save(original, path, tmp_path)

    blobs = blob_files(tmp_path)
    txt = [n for n in blobs if n.endswith(".txt")]
    js = [n for n in blobs if n.endswith(".json")]
    assert len(txt) == 1 and blobs[txt[0]] == prompt  # stored once, verbatim
    assert len(js) == 1 and json.loads(blobs[js[0]]) == tools
    raw = json.loads(path.read_text())
    stored = raw["interactions"][0]["request"]["body"]["json"]
    # the root body stays inline: its small fields are read and diffed in the cassette file
    assert stored["model"] == "claude-haiku-4-5" and stored["max_tokens"] == 100
    assert stored["system"][0]["text"] == {"$blob": txt[0]} == stored["messages"][0]["content"][0]["text"]
    assert stored["tools"] == {"$blob": js[0]}
    assert raw["interactions"][0]["response"]["body"] == {"json": {"ok": True}}
    assert cassettes.load(path, tmp_path) == original
    # saving again is byte-stable
    before = path.read_bytes()
    cassettes.save(cassettes.load(path, tmp_path), path, tmp_path)
    assert path.read_bytes() == before and blob_files(tmp_path) == blobs


def test_root_body_stays_inline_however_large(tmp_path):
    for n, value in enumerate(["x" * 5000, {"big": "y" * 500, "other": "z" * 600}]):
        path = tmp_path / f"c{n}.json"
        cassettes.save(make_cassette(value), path, tmp_path)
        raw = json.loads(path.read_text())["interactions"][0]["request"]["body"]["json"]
        assert raw == value
    assert not (tmp_path / cassettes.BLOB_DIR).exists()


def test_nested_blobs_round_trip(tmp_path):
    """A large list of large strings: the strings become blobs, then the list of references."""
    items = [f"{i}:" + "w" * 1100 for i in range(3)] + ["q" * 40] * 30
    path = tmp_path / "c.json"
    cassettes.save(make_cassette({"messages": items}), path, tmp_path)
    blobs = blob_files(tmp_path)
    assert len([n for n in blobs if n.endswith(".txt")]) == 3
    [outer] = [n for n in blobs if n.endswith(".json")]
    assert json.loads(blobs[outer])[0] == {"$blob": store._blob_name(items[0])}
    assert cassettes.load(path, tmp_path).interactions[0].request.body.json_ == {"messages": items}
    assert cassettes.referenced_blobs(tmp_path) == set(blobs)


def test_bundled_cassettes_resave_byte_identically(tmp_path, monkeypatch):
    """load -> save reproduces every bundled cassette and blob byte for byte, and loads back equal."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # durability is not what this test is about
    paths = bundled_cassettes()
    assert len(paths) >= 30
    for path in paths:
        cassette = cassettes.load(path, ROOT)
        target = tmp_path / path.relative_to(ROOT)
        cassettes.save(cassette, target, tmp_path)
        assert target.read_bytes() == path.read_bytes(), rel_id(path)
        assert cassettes.load(target, tmp_path) == cassette, rel_id(path)
    written = blob_files(tmp_path)
    assert written
    for name, text in written.items():
        assert (ROOT / cassettes.BLOB_DIR / name).read_text() == text, name


def test_text_blob_keeps_carriage_returns(tmp_path):
    text = "line one\r\nline two\rline three\n" * 60
    original = make_cassette({"messages": [{"role": "user", "content": text}]})
    path = tmp_path / "c.json"
    cassettes.save(original, path, tmp_path)
    assert any(n.endswith(".txt") for n in blob_files(tmp_path))
    assert cassettes.load(path, tmp_path).interactions[0].request.body.json_["messages"][0]["content"] == text


def test_bundled_blob_store_has_no_orphans_and_no_dangling_references():
    present = {p.name for p in (ROOT / cassettes.BLOB_DIR).iterdir()}
    referenced = cassettes.referenced_blobs(ROOT)
    assert referenced == present, {"orphans": sorted(present - referenced), "missing": sorted(referenced - present)}


def test_referenced_and_pruned_blobs(cell_copy):
    blob_dir = cell_copy / cassettes.BLOB_DIR
    # the copy holds two cells but every blob: the others' go
    wanted = cassettes.referenced_blobs(cell_copy)
    assert wanted and wanted < {p.name for p in blob_dir.iterdir()}
    removed = {p.name for p in cassettes.prune_blobs(cell_copy)}
    assert {p.name for p in blob_dir.iterdir()} == wanted and not removed & wanted
    assert cassettes.prune_blobs(cell_copy) == []

    (blob_dir / "0123456789abcdef01234567.txt").write_text("orphan")
    (blob_dir / "0123456789abcdef01234567.json").write_text("[]")
    removed = cassettes.prune_blobs(cell_copy)
    assert sorted(p.name for p in removed) == ["0123456789abcdef01234567.json", "0123456789abcdef01234567.txt"]

    # a blob only one cassette uses goes when that cassette is replaced without it
    path = catalog.CellTier.parse(CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    only_here = {"big": "only-in-this-cassette " * 100}
    cassette = cassettes.load(path, cell_copy)
    body = {**cassette.interactions[0].request.body.json_, "extra": only_here}
    cassette.interactions[0].request.body = Body(json_=body)
    cassettes.save(cassette, path, cell_copy)
    name = store._blob_name(only_here["big"])
    assert name in cassettes.referenced_blobs(cell_copy) and (blob_dir / name).exists()
    del body["extra"]
    cassettes.save(cassette, path, cell_copy)
    assert [p.name for p in cassettes.prune_blobs(cell_copy)] == [name]
    # what is left still loads
    for cell_id in (CELL, OTHER_CELL):
        cassettes.load(catalog.CellTier.parse(cell_id).cassette_path(cell_copy, CLAUDE_CODE_VERSION), cell_copy)


def test_atomic_write_keeps_the_old_file_when_serialization_fails(cell_copy):
    path = catalog.CellTier.parse(CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    before = path.read_bytes()
    cassette = cassettes.load(path, cell_copy)
    # a lone surrogate serializes with ensure_ascii=False but cannot be encoded as UTF-8:
    # the failure comes while the file is being written
    cassette.interactions[0].response.body = Body(json_={"text": "half a pair \ud83d"})
    with pytest.raises(UnicodeEncodeError):
        cassettes.save(cassette, path, cell_copy)
    assert path.read_bytes() == before
    leftovers = [p.name for p in path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == [], leftovers


def test_atomic_write_into_a_new_directory_leaves_nothing_on_failure(tmp_path):
    cassette = make_cassette({"text": "\udc80"})
    path = tmp_path / "new" / "c.json"
    with pytest.raises(UnicodeEncodeError):
        cassettes.save(cassette, path, tmp_path)
    assert not path.exists() and list(path.parent.iterdir()) == []


# ---------------------------------------------------------------- errors name the file


def test_invalid_json_names_the_file(cell_copy):
    path = catalog.CellTier.parse(CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    path.write_text(path.read_text()[:300])  # derived: the recorded file, cut short
    with pytest.raises(CassetteError, match="not valid JSON") as err:
        cassettes.load(path, cell_copy)
    assert str(err.value).startswith(f"{path}: ")


def test_missing_cassette_names_the_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(CassetteError, match="no such cassette") as err:
        cassettes.load(path, tmp_path)
    assert str(path) in str(err.value)


def test_missing_blob_names_the_cassette_and_the_blob(cell_copy):
    path = catalog.CellTier.parse(BLOB_CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    ref = json.loads(path.read_text())["interactions"][0]["request"]["body"]["json"]["tools"]["$blob"]
    (cell_copy / cassettes.BLOB_DIR / ref).unlink()
    with pytest.raises(CassetteError) as err:
        cassettes.load(path, cell_copy)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and ref in message and "missing" in message


def test_corrupt_json_blob_names_the_blob(cell_copy):
    path = catalog.CellTier.parse(BLOB_CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    ref = json.loads(path.read_text())["interactions"][0]["request"]["body"]["json"]["tools"]["$blob"]
    blob = cell_copy / cassettes.BLOB_DIR / ref
    blob.write_text(blob.read_text()[:100])
    with pytest.raises(CassetteError, match="not valid JSON") as err:
        cassettes.load(path, cell_copy)
    assert str(blob) in str(err.value)


@pytest.mark.parametrize("ref", ["../../etc/passwd", ".hidden", 42])
def test_invalid_blob_reference(cell_copy, ref):
    def point_elsewhere(doc):
        doc["interactions"][0]["request"]["body"]["json"]["tools"] = {"$blob": ref}

    path = derive_cassette(cell_copy, BLOB_CELL, point_elsewhere)
    with pytest.raises(CassetteError, match="invalid blob reference") as err:
        cassettes.load(path, cell_copy)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("mutate", "where", "what"),
    [
        (lambda d: d["interactions"][0]["request"].update(extra=1), "interactions.0.request.extra", "Extra inputs"),
        (lambda d: d["interactions"][0]["response"].update(status="two hundred"), "interactions.0.response.status", "integer"),
        (lambda d: d["verdict"].update(status="green"), "verdict.status", "Input should be"),
        (lambda d: d.update(format="ccmatrix-cassette/0"), "format", "Input should be"),
        (lambda d: d["cell"].pop("tier"), "cell.tier", "Field required"),
        (lambda d: d["interactions"][0]["response"]["body"].update(form=["a"]), "interactions.0.response.body.form", "dictionary"),
    ],
)
def test_schema_violation_names_file_and_location(cell_copy, mutate, where, what):
    path = derive_cassette(cell_copy, CELL, mutate)
    with pytest.raises(CassetteError) as err:
        cassettes.load(path, cell_copy)
    message = str(err.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert what in message and "problem(s)" in message


# ---------------------------------------------------------------- bodies


def test_body_from_bytes():
    j = Body.from_bytes(b'{"a": [1, 2], "b": "\xc3\xa9"}', "application/json")
    assert j.json_ == {"a": [1, 2], "b": "é"} and j.value() == {"a": [1, 2], "b": "é"}
    assert j.to_bytes() == '{"a":[1,2],"b":"é"}'.encode()  # compact, as the providers send it

    f = Body.from_bytes(b"grant_type=urn%3Aietf%3Aparams&assertion=a.b.c&empty=", "Application/X-WWW-Form-Urlencoded; charset=utf-8")
    assert f.form == {"grant_type": "urn:ietf:params", "assertion": "a.b.c", "empty": ""} and f.json_ is None
    assert Body.from_bytes(f.to_bytes(), "application/x-www-form-urlencoded") == f

    t = Body.from_bytes(b"upstream connect error\n", "text/plain")
    assert t.text == "upstream connect error\n" and t.value() == t.text and t.to_bytes() == b"upstream connect error\n"
    # JSON is recognized by content, whatever the content type says
    assert Body.from_bytes(b"[1]", "text/plain").json_ == [1]

    raw = bytes(range(256))
    b = Body.from_bytes(raw, "application/octet-stream")
    assert b.base64 == base64.b64encode(raw).decode() and b.to_bytes() == raw
    assert b.value() == {"base64": b.base64}

    assert Body.from_bytes(b"", "application/json") is None


def test_body_round_trips_through_a_cassette(tmp_path):
    responses = [Body.from_bytes(b"a=1&b=2", "application/x-www-form-urlencoded"), Body.from_bytes(b"plain"),
                 Body.from_bytes(b"\xff\xfe\x00"), Body.from_bytes(b'{"k": null}')]
    cassette = make_cassette({"x": 1})
    cassette.interactions = [cassette.interactions[0].model_copy(update={"response": RecordedResponse(status=200, body=b)})
                             for b in responses]
    cassettes.save(cassette, tmp_path / "c.json", tmp_path)
    loaded = cassettes.load(tmp_path / "c.json", tmp_path)
    assert [i.response.body for i in loaded.interactions] == responses
    assert [i.response.content() for i in loaded.interactions] == [b"a=1&b=2", b"plain", b"\xff\xfe\x00", b'{"k":null}']


# ---------------------------------------------------------------- streams, byte-exact


@pytest.mark.parametrize("path", stream_cassettes("sse"), ids=rel_id)
def test_sse_streams_reencode_byte_exact(path):
    for interaction in streamed(path, "sse"):
        response = interaction.response
        content = response.content()
        assert content == wire.encode_sse(response.stream.events)
        assert wire.decode_sse(content) == response.stream.events  # the events are the reading of those bytes
        assert content.endswith(b"\n\n")
        # Anthropic's and the Responses API's events say their type; Chat Completions chunks their object
        kinds = [e["data"].get("type", e["data"].get("object")) for e in response.stream.events
                 if isinstance(e.get("data"), dict)]
        if interaction.response.status == 200:
            # a stream broken on purpose ends with its error event, or where it was cut
            broken = "x-ccmatrix-fault" in interaction.response.headers
            # an Anthropic Messages stream, or (the GPT-5.6 columns) the Responses API's, or chunks
            first, last = {"response.created": ("response.created", "response.completed"),
                           "chat.completion.chunk": ("chat.completion.chunk", "chat.completion.chunk")}.get(
                kinds[0], ("message_start", "message_stop"))
            assert kinds[0] == first and (kinds[-1] == last or broken)


@pytest.mark.parametrize("path", stream_cassettes("aws-eventstream"), ids=rel_id)
def test_eventstreams_reencode_byte_exact_with_valid_crcs(path):
    for interaction in streamed(path, "aws-eventstream"):
        events = interaction.response.stream.events
        content = interaction.response.content()
        assert content == wire.encode_eventstream(events)
        assert wire.decode_eventstream(content, strict=True) == events
        buffer = EventStreamBuffer()
        buffer.add_data(content)
        parsed = list(buffer)  # botocore checks the prelude and message CRCs
        assert len(parsed) == len(events)
        for message, event in zip(parsed, events):
            assert message.headers[":message-type"] == event["headers"][":message-type"]
            payload = json.loads(message.payload)
            if "bytes_json" in event["payload"]:  # Bedrock Invoke: base64 of the Anthropic event
                assert set(payload) == set(event["payload"]) - {"bytes_json"} | {"bytes"}
                assert json.loads(base64.b64decode(payload["bytes"])) == event["payload"]["bytes_json"]
            else:  # Converse: the event itself
                assert payload == event["payload"]
        # a flipped payload byte is caught by the CRC botocore checks
        broken = bytearray(content)
        broken[parsed[0].prelude.total_length - 6] ^= 0x01
        buffer = EventStreamBuffer()
        buffer.add_data(bytes(broken))
        with pytest.raises(ChecksumMismatch):
            list(buffer)


def test_there_are_bundled_streams_of_both_formats():
    assert len(stream_cassettes("sse")) >= 3 and len(stream_cassettes("aws-eventstream")) >= 2


def test_stream_rejects_unknown_format():
    with pytest.raises(ValueError):
        Stream(format="websocket", events=[])


# ---------------------------------------------------------------- JSON Schema


def generated_schema() -> dict:
    return Cassette.model_json_schema(by_alias=True)


def test_schema_file_is_generated_from_the_model():
    if not SCHEMA_FILE.exists():
        pytest.skip(f"{SCHEMA_FILE.relative_to(CHECKOUT_DIR)} is not in the repository yet "
                    "(generate it with Cassette.model_json_schema(by_alias=True))")
    on_disk = json.loads(SCHEMA_FILE.read_text())
    on_disk_model = {k: v for k, v in on_disk.items() if k not in ("$schema", "$id")}
    assert on_disk_model == generated_schema(), (
        f"{SCHEMA_FILE} is out of date with ccmatrix.cassette.Cassette; regenerate it")


def _schemas() -> list:
    schemas = [pytest.param(generated_schema, id="generated")]
    schemas.append(pytest.param(lambda: json.loads(SCHEMA_FILE.read_text()), id="docs-file",
                                marks=pytest.mark.skipif(not SCHEMA_FILE.exists(), reason=f"{SCHEMA_FILE} absent")))
    return schemas


@pytest.mark.parametrize("schema", _schemas())
def test_every_bundled_cassette_validates_against_the_schema(schema):
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(schema())
    validator_cls.check_schema(schema())
    validator = validator_cls(schema())
    paths = bundled_cassettes()
    assert len(paths) >= 30
    resolved_dirs = set()
    for path in paths:
        errors = sorted(validator.iter_errors(json.loads(path.read_text())), key=str)
        assert not errors, f"{path}: {errors[0].message} at {list(errors[0].absolute_path)}"
        if path.parent not in resolved_dirs:  # the blob-resolved document too, once per directory
            resolved_dirs.add(path.parent)
            assert not list(validator.iter_errors(cassettes.read_document(path, ROOT))), path


@pytest.mark.parametrize("schema", _schemas())
def test_schema_rejects_derived_broken_cassettes(cell_copy, schema):
    import jsonschema

    validator = jsonschema.validators.validator_for(schema())(schema())
    broken = [
        lambda d: d["interactions"][0]["request"].update(extra=1),
        lambda d: d["interactions"][0]["response"].update(status="OK"),
        lambda d: d.update(format="ccmatrix-cassette/2"),
        lambda d: d.pop("interactions"),
        lambda d: d["verdict"].update(status="green"),
    ]
    path = catalog.CellTier.parse(CELL).cassette_path(cell_copy, CLAUDE_CODE_VERSION)
    recorded = path.read_text()
    assert not list(validator.iter_errors(json.loads(recorded)))
    for n, mutate in enumerate(broken):
        path.write_text(recorded)
        derive_cassette(cell_copy, CELL, mutate)
        assert list(validator.iter_errors(json.loads(path.read_text()))), n
        with pytest.raises(CassetteError):
            cassettes.load(path, cell_copy)


def test_os_replace_is_what_publishes_the_file(tmp_path, monkeypatch):
    """Interrupting the final rename leaves neither a partial target nor a temp file."""
    path = tmp_path / "c.json"
    cassettes.save(make_cassette({"v": 1}), path, tmp_path)
    before = path.read_bytes()

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cassettes.save(make_cassette({"v": 2}), path, tmp_path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]

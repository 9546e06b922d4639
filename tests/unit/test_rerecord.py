"""What a re-recording changed, and the LiteLLM release a cassette tree stands for."""

from __future__ import annotations

import json
from types import SimpleNamespace

from ccmatrix import catalog
from ccmatrix.cassette import recorded_with
from ccmatrix.client.claude_cli import BUNDLED_VERSIONS, CLAUDE_CODE_VERSION
from ccmatrix.proxy.litellm_env import DEFAULT_LITELLM_VERSION
from ccmatrix.run import rerecord
from tests.conftest import derive_cassette

CELL = "thinking/bedrock_invoke/opus"


def test_the_default_release_is_the_one_every_bundled_tree_was_recorded_with():
    record = recorded_with.read(catalog.DEFAULT_CASSETTE_DIR)
    assert record is not None and record.litellm == DEFAULT_LITELLM_VERSION
    assert sorted(record.claude_code) == sorted(BUNDLED_VERSIONS)
    for release in BUNDLED_VERSIONS:
        cell = catalog.CellTier.parse(CELL)
        document = json.loads(cell.cassette_path(catalog.DEFAULT_CASSETTE_DIR, release).read_text())
        assert document["provenance"]["litellm_version"] == DEFAULT_LITELLM_VERSION, release


def test_a_changed_request_and_verdict_are_named(cassette_copy):
    cells = [catalog.CellTier.parse(CELL), catalog.CellTier.parse("thinking/vertex_ai/opus")]
    before = rerecord.snapshot(cells, cassette_copy, CLAUDE_CODE_VERSION)

    def drop_effort(document):  # as LiteLLM 1.83.14 sends it
        document["interactions"][0]["request"]["body"]["json"].pop("output_config")
        document["verdict"]["status"] = "fail"

    derive_cassette(cassette_copy, CELL, drop_effort)
    changed = rerecord.changes(before, cells, cassette_copy, CLAUDE_CODE_VERSION)
    assert [c.cell for c in changed] == [CELL]
    assert changed[0].verdict == ("pass", "fail")
    assert "body.output_config.effort missing (recorded 'max') [load-bearing]" in changed[0].requests
    assert rerecord.render(changed) == [f"  {CELL}: verdict pass -> fail; upstream requests: {changed[0].requests}"]


def test_a_complete_recording_moves_the_trees_release_and_says_so(tmp_path, capsys):
    from ccmatrix import cli

    root = tmp_path / "cassettes"
    root.mkdir()
    recorded_with.write(root, "1.108.7", "2.1.126")
    recorded_with.write(root, "1.108.7", "2.1.332")
    env = SimpleNamespace(version="1.110.2", source=None)
    cli._name_what_changed({}, [], root, "2.1.332", env, complete=False)
    assert recorded_with.read(root).litellm == "1.108.7"  # a selection says nothing of the tree
    cli._name_what_changed({}, [], root, "2.1.332", env, complete=True)
    record = recorded_with.read(root)
    assert record.litellm == "1.110.2" and list(record.claude_code) == ["2.1.332"]  # the others are behind now
    assert "now stand for LiteLLM 1.110.2 (were 1.108.7)" in capsys.readouterr().out
    cli._name_what_changed({}, [], root, "2.1.126", env, complete=True)
    assert sorted(recorded_with.read(root).claude_code) == ["2.1.126", "2.1.332"]

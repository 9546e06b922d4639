"""Writing a cell's cassettes from its CellEnd (ccmatrix.recorder.write), as the driver does
after judging: what the addons recorded, written back, is the cassette byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmatrix import cassette as cassettes
from ccmatrix import catalog
from ccmatrix.catalog import layout
from ccmatrix.client.claude_cli import CLAUDE_CODE_VERSION
from ccmatrix.recorder.exchanges import CellEnd, ClientLegExchange, RecordedExchange
from ccmatrix.recorder.mode import Upstream
from ccmatrix.recorder.write import write_auth, write_cell

# what write_cell adds to the driver's provenance itself
WRITER_PROVENANCE = ("recorded_at", "source", "ccmatrix_version")


def _end(cell: str, cassette: cassettes.Cassette, auth: bool = False) -> CellEnd:
    """What /cell/end answered for the traffic the cassette holds, as it came over the wire."""
    end = CellEnd(
        cell=cell,
        exchanges=[RecordedExchange(request=i.request, auth=auth, chunks=None, response=i.response)
                   for i in cassette.interactions],
        client=[ClientLegExchange(request=r) for r in cassette.client],
    )
    return CellEnd.model_validate_json(end.model_dump_json())


def _driver_provenance(cassette: cassettes.Cassette) -> dict:
    given = cassette.provenance.model_dump(exclude_none=True)
    return {k: v for k, v in given.items() if k not in WRITER_PROVENANCE}


def _mode(cassette: cassettes.Cassette) -> Upstream:
    return Upstream.LIVE if cassette.provenance.source == "live" else Upstream.EMULATE


# a sample (all of them take a minute): streams, a stalled stream, a web search's side
# requests to other providers, plain JSON answers; and their native references
SAMPLE = ("basic_messaging_streaming", "fault_stream_stall", "web_search", "tool_search")


def _recorded_files(root: Path) -> list[tuple[Path, bool]]:
    """The sample's cell-tier cassettes and native references in the newest tree: (path, native)."""
    tree = layout.release_dir(root, CLAUDE_CODE_VERSION)
    found = [(p, False) for feature in SAMPLE for p in sorted((tree / feature).rglob("*.json"))]
    return found + [(p, True) for feature in SAMPLE for p in sorted((tree / "native" / feature).rglob("*.json"))]


def test_recorded_cassettes_are_written_again_byte_for_byte(cassette_copy):
    files = _recorded_files(cassette_copy)
    assert len(files) > 50 and any(native for _, native in files)
    for path, native in files:
        before = path.read_bytes()
        cassette = cassettes.load(path, cassette_copy)
        ref = cassette.cell
        assert ref is not None
        cell = catalog.CellTier.parse(f"{ref.feature}/{ref.provider}/{ref.tier}")
        written = write_cell(cassette_copy, cell, CLAUDE_CODE_VERSION, _end(cell.id, cassette), cassette.verdict,
                             _driver_provenance(cassette), native, mode=_mode(cassette))
        assert written == path
        assert path.read_bytes() == before, path


def test_auth_exchanges_merge_into_their_cassette_per_route(cassette_copy):
    path = layout.auth_cassette_path(cassette_copy, "aws_sts")
    before = path.read_bytes()
    cassette = cassettes.load(path, cassette_copy)
    assert len(cassette.interactions) >= 2
    # the driver's provenance by then names the cell's client too: not the run-wide cassette's
    provenance = {**_driver_provenance(cassette), "client": "cli", "claude_code_version": "2.1.332",
                  "command": ["claude", "-p"]}
    end = _end("basic_messaging_streaming/bedrock_invoke/haiku", cassette, auth=True)
    assert write_auth(cassette_copy, end, provenance, mode=_mode(cassette)) == [path]
    assert path.read_bytes() == before

    # a route asked again: its latest answer replaces the one kept, and comes last
    first, *others = cassette.interactions
    again = first.model_copy(update={"response": cassettes.RecordedResponse(status=503)})
    end = CellEnd(cell=end.cell, exchanges=[RecordedExchange(request=again.request, auth=True, chunks=None,
                                                             response=again.response)])
    write_auth(cassette_copy, end, provenance, mode=_mode(cassette))
    merged = cassettes.load(path, cassette_copy)
    assert merged.interactions == [*others, again]
    assert merged.provenance.client is None and merged.provenance.command is None


def test_a_cell_without_token_exchanges_writes_no_auth_cassette(tmp_path):
    assert write_auth(tmp_path, CellEnd(cell="x/y/z", exchanges=[]), {}, mode=Upstream.EMULATE) == []
    assert not list(tmp_path.iterdir())


def test_replay_writes_nothing(tmp_path):
    cell = catalog.CellTier.parse("basic_messaging_streaming/anthropic/haiku")
    with pytest.raises(ValueError, match="records nothing"):
        write_cell(tmp_path, cell, "2.1.332", CellEnd(cell=cell.id, exchanges=[]), None, {}, mode=Upstream.REPLAY)

"""Shards across CI runners: whole cells, dealt deterministically, merged back into one run."""

from __future__ import annotations

import pytest

from ccmatrix import catalog
from ccmatrix.report import RUN_FILENAME, MergeError, load_run, merge, write_reports
from ccmatrix.run.runner import RunOptions, assemble
from ccmatrix.run.shards import ShardError, parse_shard, shard
from ccmatrix.verdict.results import TierResult


def _result(cell: catalog.CellTier) -> TierResult:
    status = "fail" if (cell.feature.id, cell.provider.id) == ("thinking", "vertex_ai") else "pass"
    return TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                      model_alias=cell.proxy_model, status=status, recorded_status="pass",
                      error="lost body.output_config.effort" if status == "fail" else None)


def _run(cells: list[catalog.CellTier], **kw):
    return assemble([_result(c) for c in cells], RunOptions(), litellm_version=kw.get("litellm", "1.108.7"),
                    claude_code_version="2.1.126")


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_shards_cover_the_selection_once_in_whole_cells(n):
    cells = catalog.select()
    shards = [shard(cells, f"{k}/{n}") for k in range(1, n + 1)]
    assert sorted(c.id for s in shards for c in s) == sorted(c.id for c in cells)  # all, once
    for s in shards:
        for c in s:  # a cell's tiers all in one shard
            assert {t.id for t in s if (t.feature, t.provider) == (c.feature, c.provider)} == \
                   {t.id for t in cells if (t.feature, t.provider) == (c.feature, c.provider)}
    assert shard(cells, f"1/{n}") == shards[0]  # deterministic
    sizes = [len({(c.feature.id, c.provider.id) for c in s}) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # balanced by cell count


def test_a_shard_spreads_every_provider():
    providers = {c.provider.id for c in shard(catalog.select(), "2/3")}
    assert providers == {p.id for p in catalog.PROVIDERS}


@pytest.mark.parametrize("spec", ["0/3", "4/3", "1", "a/b", "1/0", "-1/2"])
def test_bad_shard_specs_are_named(spec):
    with pytest.raises(ShardError, match=f"--shard '{spec}': expected K/N"):
        parse_shard(spec)


def test_merged_shards_equal_the_whole_run(tmp_path):
    cells = catalog.select()
    whole = _run(cells)
    parts = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard-{k}"
        write_reports(_run(shard(cells, f"{k}/3")), out)
        assert (out / RUN_FILENAME).is_file()
        parts.append((str(out), load_run(out)))
    merged = merge(parts)
    assert merged.rows == whole.rows
    assert merged.stacks == 3  # each shard's one stack
    assert [c.feature for c in merged.regressions] == ["thinking"]


def test_merge_refuses_overlap_and_mixed_runs():
    cells = catalog.select()
    a, b = _run(shard(cells, "1/2")), _run(shard(cells, "2/2"))
    with pytest.raises(MergeError, match="again and a both ran basic_messaging_non_streaming/anthropic: overlapping"):
        merge([("a", a), ("again", a)])
    other = _run(shard(cells, "2/2"), litellm="1.83.14")
    with pytest.raises(MergeError, match="b: litellm_version is '1.83.14', a has '1.108.7': not shards of one run"):
        merge([("a", a), ("b", other)])
    assert len(merge([("a", a), ("b", b)]).cells()) == len(catalog.FEATURES) * len(catalog.PROVIDERS)


def test_load_run_names_the_file(tmp_path):
    with pytest.raises(MergeError, match=f"{tmp_path}/{RUN_FILENAME}: no such file"):
        load_run(tmp_path)
    (tmp_path / RUN_FILENAME).write_text('{"rows": []}')
    with pytest.raises(MergeError, match=f"{RUN_FILENAME}: not a ccmatrix run result: litellm_version: Field required"):
        load_run(tmp_path)

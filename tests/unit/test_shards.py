"""Shards across CI runners: whole cells, dealt deterministically, merged back into one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccmatrix import catalog
from ccmatrix.proxy.litellm_env import LiteLLMEnv
from ccmatrix.proxy.process import StackError
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


class _StackRunThatMayNotStart:
    """runner.StackRun, for execute's side-by-side logic alone: each tier passes, except on
    a share holding one of `unstartable`, whose stack does not start (at its first tier)."""

    unstartable: set[str] = set()

    def __init__(self, the_plan, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.cells, self.config_label = the_plan.cell_tiers, "ccmatrix"

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        pass

    def run(self, cell):  # type: ignore[no-untyped-def]
        if any(c.id in self.unstartable for c in self.cells):
            raise StackError("litellm exited with code 3; log tail: address already in use")
        return TierResult(feature=cell.feature.id, provider=cell.provider.id, tier=cell.tier.id,
                          model_alias=cell.proxy_model, status="pass", recorded_status="pass")


def test_a_stack_that_does_not_start_costs_its_own_share_not_the_others(monkeypatch):
    """`--jobs 2`: the stack that started keeps its tiers' verdicts; the other's tiers are run
    errors saying why, and the run record counts one stack. None started: the start's error."""
    from ccmatrix.run import runner

    monkeypatch.setattr(runner, "StackRun", _StackRunThatMayNotStart)
    env = LiteLLMEnv(python=Path("/nonexistent/bin/python"), version="1.110.2")
    cells = catalog.select(features=["thinking", "tool_use"])
    first, second = shard(cells, "1/2"), shard(cells, "2/2")
    monkeypatch.setattr(_StackRunThatMayNotStart, "unstartable", {second[0].id})
    result = runner.execute(cells, env, RunOptions(jobs=2))
    tiers = {f"{t.feature}/{t.provider}/{t.tier}": t for c in result.cells() for t in c.tiers}
    assert [tiers[c.id].status for c in first] == ["pass"] * len(first)
    for cell in second:
        assert tiers[cell.id].status == "error", cell.id
        assert "not run: its stack did not start: litellm exited with code 3" in tiers[cell.id].error
    assert result.stacks == 1
    monkeypatch.setattr(_StackRunThatMayNotStart, "unstartable", {first[0].id, second[0].id})
    with pytest.raises(StackError, match="exited with code 3"):
        runner.execute(cells, env, RunOptions(jobs=2))

"""The gate's verdict (ccmatrix.verdict.gate) and its renderings, in-process: a head
judged against its base, tier by tier, from run results made here."""

from __future__ import annotations

from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.report.gate import by_cell, render_html, render_markdown, render_text
from ccmatrix.verdict.gate import compare
from tests.unit.test_report import make_run, tier

EFFORT = FieldDiff(path="body.output_config.effort", kind="missing", recorded="max", load_bearing=True)
TTL = FieldDiff(path="body.system[1].cache_control.ttl", kind="missing", recorded="1h", load_bearing=True)


def _cell(feature, provider, statuses, **kw):
    return {(feature, provider): [tier(feature, provider, t, s, **kw) if s != "pass" else tier(feature, provider, t)
                                  for t, s in zip(("haiku", "sonnet", "opus"), statuses)]}


def test_only_what_the_head_breaks_is_a_regression():
    base = make_run({**_cell("pdf_input", "bedrock_converse", ["fail"] * 3, error="old"),
                     **_cell("vision", "azure", ["fail", "pass", "pass"], error="old")})
    head = make_run({**_cell("pdf_input", "bedrock_converse", ["fail"] * 3, error="old"),
                     **_cell("thinking", "bedrock_invoke", ["pass", "fail", "fail"], error="lost", diffs=[EFFORT])})
    verdict = compare(base, head, "base", "head")
    outcome = {t.id: t.outcome for t in verdict.tiers if t.outcome != "unchanged"}
    assert outcome == {"pdf_input/bedrock_converse/haiku": "pre-existing", "pdf_input/bedrock_converse/sonnet":
                       "pre-existing", "pdf_input/bedrock_converse/opus": "pre-existing",
                       "vision/azure/haiku": "fixed",
                       "thinking/bedrock_invoke/sonnet": "regressed", "thinking/bedrock_invoke/opus": "regressed"}
    assert [d.path for d in verdict.regressions[0].lost] == ["body.output_config.effort"]


def test_a_field_the_head_loses_is_a_regression_even_where_the_base_already_failed():
    """A second bug behind the first: red on both, but the head loses a load-bearing field
    the base still sent."""
    base = make_run(_cell("prompt_caching_1h", "anthropic", ["fail"] * 3, error="old", diffs=[TTL]))
    head = make_run(_cell("prompt_caching_1h", "anthropic", ["fail"] * 3, error="old", diffs=[TTL, EFFORT]))
    verdict = compare(base, head, "base", "head")
    assert {t.outcome for t in verdict.tiers if t.feature == "prompt_caching_1h" and t.provider == "anthropic"} == {
        "regressed"}
    assert [d.path for d in verdict.regressions[0].lost] == ["body.output_config.effort"]  # not the old ttl
    same = compare(base, base, "base", "base")
    assert not same.regressions and len(same.of("pre-existing")) == 3


def test_a_tier_the_run_could_not_judge_is_not_judged_either_way():
    base = make_run()
    head = make_run(_cell("vision", "vertex_ai", ["error", "pass", "pass"], error="LiteLLM died"))
    verdict = compare(base, head, "base", "head")
    assert [t.id for t in verdict.of("not judged")] == ["vision/vertex_ai/haiku"] and not verdict.regressions


def test_renderings_put_the_regression_first_and_stay_short():
    base = make_run(_cell("pdf_input", "bedrock_converse", ["fail"] * 3, error="old"))
    head = make_run({**_cell("pdf_input", "bedrock_converse", ["fail"] * 3, error="old"),
                     **_cell("thinking", "bedrock_invoke", ["pass", "fail", "fail"], error="lost", diffs=[EFFORT])})
    verdict = compare(base, head, "base tree", "head tree", not_covered=["the Rust crate: 1 file(s)"])
    assert by_cell(verdict.regressions) == [("thinking", "bedrock_invoke", ["sonnet", "opus"],
                                             "body.output_config.effort missing (recorded 'max')")]
    text = render_text(verdict)
    assert text[2] == "gate: 2 regressed, 3 pre-existing, 220 unchanged (225 cell tiers)"
    assert "    LiteLLM: litellm/llms/bedrock/messages/invoke_transformations/" in text
    assert "not covered: the Rust crate: 1 file(s)" in text
    md = render_markdown(verdict)
    assert md.startswith("## ccmatrix gate: ❌ regressed") and '- body.output_config.effort: "max"' in md
    assert "| Thinking | ✅ | ✅ → ❌ | ✅ | ✅ | ✅ |" in md and len(md.splitlines()) < 60
    page = render_html(verdict)
    assert "What failed and why" in page and "thinking/bedrock_invoke/sonnet" in page and "(regressed)" in page

"""Reports: schema v1 JSON, terminal table, Markdown, known issues, matrix comparison.

Runs are built in code (no cassettes, no proxy), so these tests are fast and pin
exactly what each rendering says about a given set of verdicts.
"""

from __future__ import annotations

import copy
import json
import re

import jsonschema
import pytest
from rich.console import Console

from ccmatrix import catalog
from ccmatrix.bundled import CHECKOUT_DIR
from ccmatrix.cassette import Provenance
from ccmatrix.cassette.field_diff import FieldDiff
from ccmatrix.report import (
    KnownIssuesError,
    MatrixError,
    compare_matrices,
    load_known_issues,
    load_matrix,
    matrix_json,
    render_comparison,
    render_html,
    render_markdown,
    render_table,
    to_schema_v1,
    write_matrix,
)
from ccmatrix.verdict.results import NOT_SELECTED, CellResult, Failure, FeatureRow, RunResult, TierResult

REPO = CHECKOUT_DIR
REFERENCE = CHECKOUT_DIR.parent / "shared" / "reference" / "litellm-docs-compatibility-matrix.json"
SCHEMA = json.loads((REPO / "docs" / "compatibility-matrix.schema.json").read_text())
KNOWN_ISSUES = REPO / "known-issues.yaml"

EFFORT_MISSING = FieldDiff(path="body.output_config.effort", kind="missing", recorded="high", load_bearing=True)
EFFORT_CHANGED = FieldDiff(path="body.output_config.effort", kind="changed", recorded="xhigh", observed="low",
                           load_bearing=True)
DRIFT = FieldDiff(path="body.metadata.user_id", kind="changed", recorded="u1", observed="u2")
BETA_ADDED = FieldDiff(path="headers.anthropic-beta", kind="added", observed="x-beta", load_bearing=False)


def tier(f: str, p: str, t: str, status: str = "pass", **kw) -> TierResult:
    kw.setdefault("recorded_status", "pass" if status == "pass" else None)
    kw.setdefault("provenance", Provenance(recorded_at="2026-07-20T10:00:00Z", source="emulator"))
    return TierResult(feature=f, provider=p, tier=t,
                      model_alias=catalog.proxy_model_name(catalog.provider(p), catalog.tier(t)),
                      status=status, **kw)


def make_run(overrides: dict[tuple[str, str], list[TierResult]] | None = None, selected_only: bool = False,
             **kw) -> RunResult:
    """All 75 cells pass (3 tiers each) unless overridden (`selected_only`: only the
    overridden cells ran, the rest were not selected)."""
    overrides = overrides or {}
    rows = []
    for f in catalog.FEATURES:
        cells = {}
        for p in catalog.PROVIDERS:
            if selected_only and (f.id, p.id) not in overrides:
                cells[p.id] = CellResult(feature=f.id, provider=p.id, status="not_tested", reason=NOT_SELECTED)
                continue
            tiers = overrides.get((f.id, p.id)) or [tier(f.id, p.id, t.id) for t in catalog.TIERS]
            cells[p.id] = CellResult.aggregate(f.id, p.id, tiers)
        rows.append(FeatureRow(id=f.id, name=f.name, cells=cells))
    kw.setdefault("generated_at", "2026-07-28T00:00:00Z")
    kw.setdefault("litellm_version", "1.83.14")
    return RunResult(claude_code_version="2.1.126", ccmatrix_version="0.1.0",
                     providers=[p.id for p in catalog.PROVIDERS], rows=rows, **kw)


def sample_run() -> RunResult:
    """Several statuses: a regression with diffs, a multi-tier failure, an n/a cell,
    a cell with one n/a tier, a not_tested cell, live provenance, drift."""
    live = Provenance(recorded_at="2026-07-01T08:00:00Z", source="live")
    return make_run({
        ("thinking", "bedrock_invoke"): [
            tier("thinking", "bedrock_invoke", "haiku"),
            tier("thinking", "bedrock_invoke", "sonnet", "fail", error="upstream request lost output_config.effort",
                 recorded_status="pass", diffs=[EFFORT_MISSING, DRIFT], failed_checks=["effort_forwarded"]),
            tier("thinking", "bedrock_invoke", "opus", "fail", error="effort rewritten",
                 recorded_status="pass", diffs=[EFFORT_CHANGED]),
        ],
        ("tool_search", "bedrock_invoke"): [
            tier("tool_search", "bedrock_invoke", "haiku", "fail", error="status 400: tools.0: Input tag",
                 recorded_status="fail"),
            tier("tool_search", "bedrock_invoke", "sonnet"),
            tier("tool_search", "bedrock_invoke", "opus", provenance=live),
        ],
        ("web_search", "vertex_ai"): [
            tier("web_search", "vertex_ai", t.id, "not_applicable", reason="no server tools on Vertex")
            for t in catalog.TIERS
        ],
        ("long_context_1m", "anthropic"): [
            tier("long_context_1m", "anthropic", "haiku", "not_applicable", reason="Haiku has no 1M context"),
            tier("long_context_1m", "anthropic", "sonnet", diffs=[BETA_ADDED]),
            tier("long_context_1m", "anthropic", "opus"),
        ],
        ("count_tokens", "azure"): [
            tier("count_tokens", "azure", t.id, "not_tested", reason="no capture yet") for t in catalog.TIERS
        ],
    })


@pytest.fixture
def run() -> RunResult:
    return sample_run()


# --- schema v1 output -------------------------------------------------------------


def test_schema_v1_top_level_and_cells(run):
    doc = to_schema_v1(run)
    assert list(doc)[:6] == ["schema_version", "generated_at", "litellm_version", "claude_code_version",
                             "providers", "features"]
    assert doc["schema_version"] == "1"
    assert doc["providers"] == ["anthropic", "bedrock_invoke", "bedrock_converse", "vertex_ai", "azure"]
    assert [f["id"] for f in doc["features"]] == [f.id for f in catalog.FEATURES]
    feats = {f["id"]: f["providers"] for f in doc["features"]}

    passed = feats["vision"]["anthropic"]
    assert {k for k in passed if k != "tiers"} == {"status"} and passed["status"] == "pass"

    failed = feats["thinking"]["bedrock_invoke"]
    assert failed["status"] == "fail"
    # the published rule: every failing tier's error, each prefixed with its alias, joined by "; "
    assert failed["error"] == ("[claude-sonnet-4-6-bedrock-invoke] upstream request lost output_config.effort; "
                               "[claude-opus-4-7-bedrock-invoke] effort rewritten")
    assert "reason" not in failed
    sonnet = dict(failed["tiers"]["sonnet"])
    assert sonnet.pop("cassette") == {"recorded_at": "2026-07-20T10:00:00Z", "source": "emulator",
                                      "litellm_version": None}
    assert sonnet == {"status": "fail", "model": "claude-sonnet-4-6-bedrock-invoke",
                      "error": "upstream request lost output_config.effort",
                      "diff": ["body.output_config.effort missing (recorded 'high')"], "drift": 1,
                      "recorded_status": "pass"}
    assert failed["tiers"]["opus"]["diff"] == ["body.output_config.effort changed: 'xhigh' -> 'low'"]
    assert {k: v for k, v in failed["tiers"]["haiku"].items() if k != "cassette"} == {"status": "pass", "model": "claude-haiku-4-5-bedrock-invoke",
                                        "diff": [], "drift": 0, "recorded_status": "pass"}

    na = feats["web_search"]["vertex_ai"]
    assert (na["status"], na["reason"]) == ("not_applicable", "no server tools on Vertex") and "error" not in na
    # an n/a tier is neutral: the cell still passes, and says nothing of reasons
    mixed = feats["long_context_1m"]["anthropic"]
    assert mixed["status"] == "pass" and "reason" not in mixed
    assert {k: v for k, v in mixed["tiers"]["haiku"].items() if k != "cassette"} == {"status": "not_applicable", "model": "claude-haiku-4-5",
                                       "reason": "Haiku has no 1M context", "diff": [], "drift": 0}
    assert mixed["tiers"]["sonnet"]["drift"] == 1 and mixed["tiers"]["sonnet"]["diff"] == []
    nt = feats["count_tokens"]["azure"]
    assert (nt["status"], nt["reason"]) == ("not_tested", "no capture yet")


def test_ccmatrix_extension_summarises_provenance(run):
    ext = to_schema_v1(run)["ccmatrix"]
    assert ext["version"] == "0.1.0" and ext["mode"] == "replay"
    assert ext["cassettes"]["count"] == 75 * 3
    assert ext["cassettes"]["sources"] == {"emulator": 224, "live": 1}
    assert ext["cassettes"]["recorded_at"] == {"first": "2026-07-01T08:00:00Z", "last": "2026-07-20T10:00:00Z"}


def test_output_and_reference_validate_against_json_schema(run):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.validate(json.loads(REFERENCE.read_text()))
    validator.validate(to_schema_v1(run))


@pytest.mark.parametrize("mutate, key", [
    (lambda d: d["features"][2]["providers"]["azure"].update(status="broken"), "features[2].providers.azure.status"),
    (lambda d: d["features"][0]["providers"]["anthropic"].update(error="boom"), "features[0].providers.anthropic"),
    (lambda d: d.pop("litellm_version"), "litellm_version"),
    (lambda d: d.update(schema_version="2"), "schema_version"),
    (lambda d: d["features"][1].pop("name"), "features[1].name"),
])
def test_malformed_matrix_rejected_by_schema_and_loader(mutate, key):
    doc = json.loads(REFERENCE.read_text())
    mutate(doc)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
    with pytest.raises(MatrixError) as exc:
        load_matrix(doc, name="bad.json")
    assert "bad.json" in str(exc.value) and key in str(exc.value)


def test_loader_names_the_file(tmp_path):
    bad = tmp_path / "matrix.json"
    bad.write_text("{not json")
    with pytest.raises(MatrixError, match=str(bad)):
        load_matrix(bad)
    bad.write_text(json.dumps({"schema_version": "1"}))
    with pytest.raises(MatrixError, match=rf"{bad}.*generated_at"):
        load_matrix(str(bad))
    with pytest.raises(MatrixError, match="no such file"):
        load_matrix(tmp_path / "absent.json")


def test_reference_and_ccmatrix_output_load_through_the_same_path(run, tmp_path):
    ref = load_matrix(REFERENCE)
    assert ref.ccmatrix is None and len(ref.features) == 15
    assert ref.cell("tool_search", "bedrock_invoke").error.startswith("[claude-haiku-4-5-bedrock-invoke]")
    assert ref.cell("thinking", "bedrock_invoke").tiers is None

    ours = load_matrix(write_matrix(run, tmp_path))
    assert type(ours) is type(ref)
    cell = ours.cell("thinking", "bedrock_invoke")
    assert cell.regressed and cell.tiers["sonnet"].diff
    assert ours.ccmatrix.cassettes.sources == {"emulator": 224, "live": 1}
    # the published file survives a load -> dump round trip unchanged
    assert load_matrix(json.loads(REFERENCE.read_text())).model_dump(exclude_none=True) == \
        json.loads(REFERENCE.read_text())


def test_write_matrix_is_atomic(run, tmp_path, monkeypatch):
    path = write_matrix(run, tmp_path / "out")
    assert path.name == "compatibility-matrix.json"
    first = path.read_text()
    assert json.loads(first)["litellm_version"] == "1.83.14"
    assert [p.name for p in path.parent.iterdir()] == [path.name]

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(matrix_json.os, "replace", crash)
    with pytest.raises(OSError):
        write_matrix(run.model_copy(update={"litellm_version": "9"}), path.parent)
    # the old file is untouched and no temp file is left behind
    assert path.read_text() == first
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# --- terminal table ---------------------------------------------------------------


def test_render_table_without_color_spells_statuses(run):
    console = Console(record=True, width=200, no_color=True, color_system=None)
    render_table(run, console)
    out = console.export_text()
    assert "Anthropic" in out and "Bedrock Invoke" in out and "Azure AI Foundry" in out
    assert "Thinking" in out and "❌ !" in out  # a regressed cell
    # the legend spells each glyph out where there is no color
    assert "✅ pass" in out and "❌ fail" in out and "➖ n/a" in out and "⬜ not tested" in out and "! regressed" in out
    # per-tier detail of the red cells
    assert "thinking / bedrock_invoke" in out
    assert "sonnet [claude-sonnet-4-6-bedrock-invoke]" in out and "    upstream request lost output_config.effort" in out
    assert "body.output_config.effort missing (recorded 'high')" in out
    assert "body.output_config.effort changed: 'xhigh' -> 'low'" in out
    assert "check failed: effort_forwarded" in out
    assert "1 drift diff(s)" in out
    assert "tool_search / bedrock_invoke" in out and "status 400: tools.0: Input tag" in out
    # one line per regressed tier; a tier that was already failing is not one
    assert "REGRESSION thinking/bedrock_invoke/sonnet" in out
    assert "REGRESSION thinking/bedrock_invoke/opus" in out
    assert "REGRESSION tool_search" not in out


def test_render_table_at_80_columns_is_one_line_a_row(run):
    """A CI log: short provider labels, one line per selected row, the rest counted."""
    console = Console(record=True, width=80, no_color=True, color_system=None)
    render_table(run, console)
    out = console.export_text()
    header = next(line for line in out.splitlines() if "Feature" in line)
    for label in ("Anthropic", "Invoke", "Converse", "Vertex", "Azure"):
        assert label in header, header
    assert "…" not in header
    rows = [line for line in out.splitlines() if line.strip().startswith(("Thinking", "Vision", "Web search"))]
    assert len(rows) == 3 and all(len(line) <= 80 for line in out.splitlines())


def test_rows_not_selected_are_not_drawn():
    run = make_run({("vision", "azure"): [tier("vision", "azure", t) for t in ("haiku", "sonnet", "opus")]},
                   selected_only=True)
    console = Console(record=True, width=80, no_color=True, color_system=None)
    render_table(run, console)
    out = console.export_text()
    assert "Vision" in out and "Thinking" not in out and "14 row(s) not selected" in " ".join(out.split())


def test_findings_on_passing_tiers_are_counted_unless_verbose(run):
    from ccmatrix.verdict.results import Finding

    quiet = Finding(kind="native-extra", severity="info", message="something LiteLLM adds")
    loud = Finding(kind="provider-refused", severity="high", message="the provider refused a request: " + "x " * 60)
    passing = next(t for c in run.cells() for t in c.tiers if t.status == "pass")
    passing.findings = [quiet, loud]
    console = Console(record=True, width=80, no_color=True, color_system=None)
    render_table(run, console)
    out = console.export_text()
    assert "[high] provider-refused" in out and "native-extra" not in out
    assert "1 more distinct finding(s) on 1 passing tier(s)" in out
    listed = out.split("Findings (")[1].split("1 more distinct")[0].splitlines()[1:]
    assert len(listed) >= 3 and all(line.startswith("  ") for line in listed), listed  # wrapped, still indented
    console = Console(record=True, width=80, no_color=True, color_system=None)
    render_table(run, console, verbose=True)
    assert "[info] native-extra" in console.export_text()


def test_render_table_with_color_uses_glyphs_only(run):
    console = Console(record=True, width=200, force_terminal=True, color_system="truecolor")
    render_table(run, console)
    out = console.export_text()
    assert "✅" in out and "❌" in out and "✅ pass" not in out


# --- Markdown ---------------------------------------------------------------------


def test_render_markdown(run):
    md = render_markdown(run)
    lines = md.splitlines()
    header = "| Feature | Anthropic | Bedrock Invoke | Bedrock Converse | Vertex AI | Azure AI Foundry |"
    assert header in lines
    assert "| Thinking | ✅ | ❌ ⚠️ | ✅ | ✅ | ✅ |" in lines
    assert "| Web search (server tool) | ✅ | ✅ | ✅ | ➖ | ✅ |" in lines
    assert "| count_tokens endpoint | ✅ | ✅ | ✅ | ✅ | ⬜ |" in lines
    assert "LiteLLM `1.83.14`" in md and "Claude Code `2.1.126`" in md

    reg = md.index("Regressions (2)")
    fail = md.index("Failing cells (2)")
    assert reg < fail
    regression_part = md[reg:fail]
    assert '```diff\n  - body.output_config.effort: "high"\n  ```' in regression_part
    assert '- body.output_config.effort: "xhigh"\n  + body.output_config.effort: "low"' in regression_part
    assert "metadata.user_id" not in md  # drift is counted, not listed
    assert "1 drift diff(s)" in regression_part
    failing_part = md[fail:]
    assert "`tool_search` / `bedrock_invoke`" in failing_part
    assert "status 400: tools.0: Input tag" in failing_part
    assert "regression, see above" in failing_part


def test_markdown_escapes_table_and_fences():
    nasty = FieldDiff(path="body.system", kind="added", observed="```\n| x", load_bearing=True)
    run = make_run({("vision", "azure"): [
        tier("vision", "azure", "haiku", "fail", error="a | b", diffs=[nasty]),
        tier("vision", "azure", "sonnet"), tier("vision", "azure", "opus"),
    ]})
    run.rows[4].name = "Vision | images"
    md = render_markdown(run)
    assert "| Vision \\| images |" in md
    assert "`a | b`" in md  # errors are code spans: no markup, pipes harmless in a list
    assert "````diff" in md  # fence longer than the backticks inside the value


def test_markdown_all_green_has_no_detail_sections():
    md = render_markdown(make_run())
    assert "Regressions" not in md and "Failing cells" not in md and "✅ 75 pass" in md


# --- known issues -----------------------------------------------------------------


def test_repo_known_issues_load_and_ready_to_remove():
    issues = load_known_issues(KNOWN_ISSUES)
    ids = [i.id for i in issues]
    assert len(ids) == len(set(ids))
    ref = load_matrix(REFERENCE)
    ready = {i.id: i.ready_to_remove(ref) for i in issues}
    # in the v1.93.0 snapshot thinking passes on invoke and vertex: the effort entry can go
    assert ready["effort-dropped-invoke-vertex"] is True
    # ...while these entries still have red cells there
    assert ready["azure-deployment-not-found"] is False
    assert ready["bedrock-invoke-tool-search-beta"] is False
    assert ready["bedrock-converse-empty-reasoning-delta"] is False
    # ready_to_remove means exactly "every named cell passes"
    for issue in issues:
        assert ready[issue.id] == all(ref.cells()[k].status == "pass" for k in issue.cell_keys()), issue.id


@pytest.mark.parametrize("entry, message", [
    ({"cells": ["thinking/azur"]}, "entry 0 (id 'x'): cells: cells[0]: unknown provider 'azur'"),
    ({"cells": ["thinkin/azure"]}, "unknown feature 'thinkin'"),
    ({"cells": ["thinking"]}, "is not 'feature/provider'"),
    ({"status": "closed"}, "status"),
    ({"owner": "me"}, "owner: Extra inputs are not permitted"),
    ({"id": "Bad Id"}, "id"),
])
def test_known_issue_errors_name_file_and_entry(tmp_path, entry, message):
    good = {"id": "x", "title": "t", "cells": ["thinking/azure"], "symptom": "s", "status": "open", "fix": "f"}
    path = tmp_path / "ki.yaml"
    path.write_text(json.dumps({"issues": [{**good, **entry}]}))
    with pytest.raises(KnownIssuesError) as exc:
        load_known_issues(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_known_issues_duplicates_aliases_and_shape(tmp_path):
    path = tmp_path / "ki.yaml"
    entry = {"id": "x", "title": "t", "cells": ["extended_thinking/vertex_ai"], "symptom": "s",
             "status": "open", "fix": "f", "matches": "output_config"}
    path.write_text(json.dumps({"issues": [entry]}))
    assert load_known_issues(path)[0].cells == ("thinking/vertex_ai",)  # old row id accepted, canonicalised
    for bad, says in (({"matches": "("}, "matches: not a regular expression"),
                      ({"releases": "before 1.84"}, "releases: 'before 1.84' is not a PEP 440 release range"),
                      ({"matches": None}, "matches")):
        path.write_text(json.dumps({"issues": [{**entry, **bad}]}))
        with pytest.raises(KnownIssuesError, match=re.escape(says)):
            load_known_issues(path)
    path.write_text(json.dumps({"issues": [entry, entry]}))
    with pytest.raises(KnownIssuesError, match="entry 1 .*duplicate id 'x'"):
        load_known_issues(path)
    path.write_text("- just a list")
    with pytest.raises(KnownIssuesError, match="single key 'issues'"):
        load_known_issues(path)


# --- HTML (structure; the browser behaviour is in test_html_chromium.py) ------------


def test_html_from_reference_dict_is_self_contained():
    page = render_html(json.loads(REFERENCE.read_text()), load_known_issues(KNOWN_ISSUES))
    assert "default-src 'none'" in page
    assert "<link" not in page and " src=" not in page and "@import" not in page and "url(" not in page
    assert 'id="litellm-version">v1.93.0<' in page and 'id="claude-code-version">2.1.126<' in page
    assert page.count('class="cell s-fail') == 27
    assert "DeploymentNotFound" in page  # the plain v1 error shows in the tooltip
    # the default page: the entries whose symptom shows here, in their release range
    assert 'data-issue-id="azure-deployment-not-found" data-ready="false"' in page
    assert 'data-issue-id="effort-dropped-invoke-vertex"' not in page  # < 1.84.0 only, and its cells pass
    assert "ready to remove" not in page
    review = render_html(json.loads(REFERENCE.read_text()), load_known_issues(KNOWN_ISSUES), review=True)
    assert 'data-issue-id="effort-dropped-invoke-vertex" data-ready="true"' in review
    assert 'data-issue-id="azure-deployment-not-found" data-ready="false"' in review
    assert '<a href="https://github.com/BerriAI/litellm/issues/29441">' in review


def test_known_issues_match_by_symptom_and_release_not_by_cell():
    """A new output_config break on 1.98.0 is not the 1.83.14 issue "fixed in 1.84.0";
    an Azure cell red for a replay mismatch is not the live project's missing deployment."""
    issues = load_known_issues(KNOWN_ISSUES)
    lost = FieldDiff(path="body.output_config.effort", kind="missing", recorded="max", load_bearing=True)
    broken = {("thinking", "bedrock_invoke"): [tier("thinking", "bedrock_invoke", t, "fail", error="lost effort",
                                                    diffs=[lost]) for t in ("haiku", "sonnet", "opus")],
              ("vision", "azure"): [tier("vision", "azure", t, "fail", error="ccmatrix replay: no recorded request")
                                    for t in ("haiku", "sonnet", "opus")]}

    def tagged(version: str) -> set[str]:
        page = render_html(make_run(broken, litellm_version=version), issues)
        return set(re.findall(r'data-issue-id="([^"]+)"', page))

    assert tagged("1.98.0") == set()
    assert tagged("1.83.14") == {"effort-dropped-invoke-vertex"}


def test_html_from_run_shows_tiers_and_escapes(run):
    run.rows[0].name = "<script>alert(1)</script>"
    page = render_html(run, None)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "No known-issues file was given." in page
    assert "upstream request lost output_config.effort" in page and "effort rewritten" in page
    assert "body.output_config.effort missing (recorded &#x27;high&#x27;)" in page
    assert 'id="ccmatrix-version">0.1.0 (replay)<' in page


# --- comparison -------------------------------------------------------------------


def _matrix(overrides=None):
    return load_matrix(to_schema_v1(make_run(overrides)))


def _fail(f, p, error="boom"):
    return [tier(f, p, "haiku", "fail", error=error), tier(f, p, "sonnet"), tier(f, p, "opus")]


def test_compare_pass_to_fail_is_a_regression():
    cmp = compare_matrices(_matrix(), _matrix({("vision", "azure"): _fail("vision", "azure")}))
    assert [c.key for c in cmp.regressions] == ["vision/azure"]
    assert cmp.exit_code == 3
    text = render_comparison(cmp)
    assert "REGRESSIONS pass -> fail (1)" in text and "[claude-haiku-4-5-azure] boom" in text
    assert "exit 3" in text


def test_compare_fail_to_fail_does_not_block_and_fix_is_listed():
    old = _matrix({("vision", "azure"): _fail("vision", "azure"),
                   ("tool_use", "anthropic"): _fail("tool_use", "anthropic")})
    new = _matrix({("vision", "azure"): _fail("vision", "azure", "other error")})
    cmp = compare_matrices(old, new)
    assert cmp.regressions == [] and cmp.exit_code == 0
    assert [c.key for c in cmp.fixes] == ["tool_use/anthropic"]
    assert [c.key for c in cmp.error_changes] == ["vision/azure"]
    text = render_comparison(cmp)
    assert "Fixed fail -> pass (1)" in text and "no regressions" in text
    same = compare_matrices(old, old)
    assert not same.changed and same.unchanged == 75 and "matrices agree" in render_comparison(same)


def test_compare_other_status_changes():
    na = [tier("vision", "azure", t.id, "not_applicable", reason="r") for t in catalog.TIERS]
    cmp = compare_matrices(_matrix(), _matrix({("vision", "azure"): na}))
    assert cmp.exit_code == 0 and [(c.old, c.new) for c in cmp.other_changes] == [("pass", "not_applicable")]


def test_compare_reference_snapshot_with_a_modified_copy():
    ref = json.loads(REFERENCE.read_text())
    new = copy.deepcopy(ref)
    new["litellm_version"] = "v1.94.0"
    rows = {f["id"]: f for f in new["features"]}
    rows["tool_use"]["providers"]["anthropic"] = {"status": "fail", "error": "[claude-opus-4-7-anthropic] x"}
    rows["vision"]["providers"]["bedrock_converse"] = {"status": "pass"}
    rows["count_tokens"]["providers"]["azure"] = {"status": "not_tested", "reason": "skipped"}
    del rows["pdf_input"]["providers"]["vertex_ai"]
    new["providers"].append("openai")
    rows["vision"]["providers"]["openai"] = {"status": "pass"}
    # the old layout's name for the thinking row must still line up
    old = copy.deepcopy(ref)
    next(f for f in old["features"] if f["id"] == "thinking")["id"] = "extended_thinking"

    cmp = compare_matrices(load_matrix(old, name="old.json"), load_matrix(new, name="new.json"))
    assert [c.key for c in cmp.regressions] == ["tool_use/anthropic"]
    assert [c.key for c in cmp.fixes] == ["vision/bedrock_converse"]
    assert [(c.key, c.old, c.new) for c in cmp.other_changes] == [("count_tokens/azure", "pass", "not_tested")]
    assert [c.key for c in cmp.added] == ["vision/openai"]
    assert [c.key for c in cmp.removed] == ["pdf_input/vertex_ai"]
    assert cmp.exit_code == 3
    assert cmp.unchanged == 75 - 4
    text = render_comparison(cmp)
    assert "old: LiteLLM v1.93.0" in text and "new: LiteLLM v1.94.0" in text
    assert "tool_use/anthropic  ✅ pass -> ❌ fail" in text
    assert "pdf_input/vertex_ai  ✅ pass -> (absent)" in text


def test_compare_ccmatrix_output_against_reference():
    # a ccmatrix run (tiers extension) against the published snapshot (plain v1)
    cmp = compare_matrices(load_matrix(REFERENCE), _matrix())
    assert cmp.regressions == [] and len(cmp.fixes) == 27 and cmp.exit_code == 0


# --- typed failures ----------------------------------------------------------------

MISMATCH = ("ccmatrix replay: no recorded request in x.json matches POST https://x/model/m/invoke; closest is "
            "interaction #0; load-bearing differences: body.output_config.effort missing")
PIPED = "claude CLI failed: exit=1; text=API Error: a | inside Claude Code's own words"


def _typed_failures_run() -> RunResult:
    failures = [Failure(kind="replay-mismatch", message=MISMATCH, field="body.output_config.effort"),
                Failure(kind="criteria-unmet", message="no `thinking` content block observed in stream-json events",
                        field="thinking_block"),
                Failure(kind="contract-refused", message="extraneous key [x]", field="bedrock_invoke.top-level-fields",
                        evidence=["https://docs.aws.amazon.com/bedrock/"])]
    return make_run({("thinking", "bedrock_invoke"): [
        tier("thinking", "bedrock_invoke", "haiku"),
        tier("thinking", "bedrock_invoke", "sonnet", "fail", recorded_status="pass", failures=failures,
             diffs=[EFFORT_MISSING]),
        tier("thinking", "bedrock_invoke", "opus", "fail", recorded_status="pass",
             failures=[Failure(kind="client-failed", message=PIPED)]),
    ]})


def test_a_tier_s_typed_failures_are_in_the_matrix_json_beside_their_text(tmp_path):
    run = _typed_failures_run()
    data = to_schema_v1(run)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    sonnet = data["features"][5]["providers"]["bedrock_invoke"]["tiers"]["sonnet"]
    assert sonnet["error"] == (f"{MISMATCH} | no `thinking` content block observed in stream-json events | "
                               "contract bedrock_invoke.top-level-fields: extraneous key [x]")
    assert sonnet["failures"] == [
        {"kind": "replay-mismatch", "message": MISMATCH, "field": "body.output_config.effort"},
        {"kind": "criteria-unmet", "message": "no `thinking` content block observed in stream-json events",
         "field": "thinking_block"},
        {"kind": "contract-refused", "message": "extraneous key [x]", "field": "bedrock_invoke.top-level-fields",
         "evidence": ["https://docs.aws.amazon.com/bedrock/"]}]
    assert "failures" not in data["features"][5]["providers"]["bedrock_invoke"]["tiers"]["haiku"]
    loaded = load_matrix(write_matrix(run, tmp_path)).features[5].providers["bedrock_invoke"].tiers["sonnet"]
    assert loaded.failures == sonnet["failures"] and loaded.error == sonnet["error"]
    broken = copy.deepcopy(data)
    del broken["features"][5]["providers"]["bedrock_invoke"]["tiers"]["sonnet"]["failures"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_the_terminal_lists_a_tier_s_failures_one_each():
    console = Console(record=True, width=400, no_color=True, color_system=None)
    render_table(_typed_failures_run(), console)
    out = console.export_text()
    assert f"    {MISMATCH}" in out  # each failure on a line of its own, whatever its words hold
    assert "    no `thinking` content block observed in stream-json events" in out
    assert "    contract bedrock_invoke.top-level-fields: extraneous key [x]" in out
    assert f"    {PIPED}" in out
    assert "check failed: thinking_block" not in out  # the criterion's own words are listed above


def test_a_tier_read_back_from_a_run_file_keeps_its_text(tmp_path):
    from ccmatrix.report import load_run

    run = _typed_failures_run()
    path = tmp_path / "ccmatrix-run.json"
    path.write_text(run.model_dump_json())
    sonnet = load_run(path).rows[5].cells["bedrock_invoke"].tiers[1]
    assert sonnet.failures == run.rows[5].cells["bedrock_invoke"].tiers[1].failures
    assert sonnet.failed_checks == ["thinking_block"] and sonnet.error.startswith(MISMATCH + " | ")


# --- run errors (docs/faults.md) ----------------------------------------------------


def test_a_run_error_tier_leaves_its_cell_unjudged_in_every_output(tmp_path):
    broke = ("run error during basic_messaging_streaming/vertex_ai/sonnet: LiteLLM exited with code -9; "
             "LiteLLM log tail:\nKilled")
    run = make_run({("basic_messaging_streaming", "vertex_ai"): [
        tier("basic_messaging_streaming", "vertex_ai", "haiku"),
        tier("basic_messaging_streaming", "vertex_ai", "sonnet", "error", error=broke),
        tier("basic_messaging_streaming", "vertex_ai", "opus"),
    ]})
    cell = run.rows[1].cells["vertex_ai"]
    assert (cell.status, cell.state, cell.error) == ("not_tested", "error", None)
    assert cell.reason == ("run error: [claude-sonnet-4-6-vertex] run error during basic_messaging_streaming/"
                           "vertex_ai/sonnet: LiteLLM exited with code -9; LiteLLM log tail:")
    assert [t.tier for t in run.run_errors] == ["sonnet"] and not run.regressions

    data = to_schema_v1(run)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    entry = data["features"][1]["providers"]["vertex_ai"]
    assert entry["status"] == "not_tested" and "error" not in entry
    assert entry["tiers"]["sonnet"] == {**entry["tiers"]["sonnet"], "status": "error", "error": broke}
    assert load_matrix(write_matrix(run, tmp_path)).features[1].providers["vertex_ai"].state == "error"

    console = Console(record=True, width=200, color_system=None)
    render_table(run, console)
    text = console.export_text()
    assert "1 run error" in text
    assert ("run error basic_messaging_streaming / vertex_ai / sonnet: run error during "
            "basic_messaging_streaming/vertex_ai/sonnet: LiteLLM exited with code -9") in text
    markdown = render_markdown(run)
    assert "Run errors (1): not judged, the run broke (run again)" in markdown and "Killed" in markdown
    html = render_html(run)
    assert 'data-status="error"' in html and "LiteLLM exited with code -9" in html


def test_failing_tiers_outrank_a_run_error_in_the_cell():
    run = make_run({("thinking", "anthropic"): [
        tier("thinking", "anthropic", "haiku", "fail", error="no thinking block", recorded_status="pass"),
        tier("thinking", "anthropic", "sonnet", "error", error="run error during thinking/anthropic/sonnet: x"),
        tier("thinking", "anthropic", "opus"),
    ]})
    cell = next(r for r in run.rows if r.id == "thinking").cells["anthropic"]
    assert (cell.status, cell.error) == ("fail", "[claude-haiku-4-5] no thinking block")
    assert cell.regressed and len(run.run_errors) == 1


# --- fault rows: ccmatrix's own, kept apart from the published rows ----------------


def _with_fault_rows() -> RunResult:
    from ccmatrix.run.runner import RunOptions, assemble

    results = [t for row in sample_run().rows for c in row.cells.values() for t in c.tiers]
    results += [tier(f.id, p.id, t.id) for f in catalog.FAULT_FEATURES for p in catalog.PROVIDERS for t in catalog.TIERS]
    results[-1] = tier("fault_stream_error", "azure", "opus", "fail", error="a truncated answer taken as complete",
                       recorded_status="pass")
    return assemble(results, RunOptions(), litellm_version="1.83.14", claude_code_version="2.1.126")


def test_fault_rows_are_kept_apart_in_every_report(tmp_path):
    run = _with_fault_rows()
    doc = to_schema_v1(run)
    assert [f["id"] for f in doc["features"]] == [f.id for f in catalog.FEATURES]
    assert [f["id"] for f in doc["ccmatrix"]["fault_rows"]] == [f.id for f in catalog.FAULT_FEATURES]
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    loaded = load_matrix(doc)
    assert loaded.ccmatrix.fault_rows[2].providers["azure"].status == "fail"
    assert ("fault_stream_error", "azure") not in loaded.cells()  # a v1 reader sees the published rows only
    assert run.regressions[-1].feature == "fault_stream_error"  # a fault row regression gates the run too
    md = render_markdown(run)
    published, faults = md.split("Fault rows (ccmatrix's own")
    assert "Provider error mid-stream" not in published and "| Provider error mid-stream (clears on retry) |" in faults
    html = render_html(run)
    assert html.index('id="fault-rows"') > html.index("Long context (1M)")
    console = Console(record=True, width=160)
    render_table(run, console)
    assert "Fault rows (emulator only)" in console.export_text()
    without = to_schema_v1(sample_run())
    assert "fault_rows" not in without["ccmatrix"]


def test_merge_keeps_fault_rows(tmp_path):
    from ccmatrix.report.merge import merge

    run = _with_fault_rows()
    merged = merge([("a", run)])
    assert [r.id for r in merged.fault_rows] == [f.id for f in catalog.FAULT_FEATURES]
    assert merged.fault_rows[2].cells["azure"].status == "fail"


def test_a_finding_seen_on_many_tiers_is_listed_once_with_its_tiers():
    from rich.console import Console

    from ccmatrix.verdict.results import Finding

    same = Finding(kind="native-divergence", severity="warning", message="LiteLLM sent none")
    high = Finding(kind="provider-refused", severity="high", message="refused")
    run = make_run({("thinking", "vertex_ai"): [tier("thinking", "vertex_ai", t, findings=[same]) for t in
                                               ("haiku", "sonnet", "opus")],
                    ("tool_use", "vertex_ai"): [tier("tool_use", "vertex_ai", "haiku", findings=[same, high]),
                                               tier("tool_use", "vertex_ai", "sonnet"),
                                               tier("tool_use", "vertex_ai", "opus")]})
    grouped = run.findings_by_message()
    assert [(f.kind, len(tiers)) for f, tiers in grouped] == [("provider-refused", 1), ("native-divergence", 4)]
    console = Console(record=True, width=200)
    render_table(run, console, verbose=True)
    text = console.export_text()
    assert "Findings (2 distinct)" in text
    assert text.count("native-divergence: LiteLLM sent none") == 1
    assert "4 tier(s): tool_use/vertex_ai/haiku, thinking/vertex_ai/haiku, thinking/vertex_ai/sonnet and 1 more" in text
    markdown = render_markdown(run)
    assert markdown.count("native-divergence: LiteLLM sent none") == 1 and "4 tier(s)" in markdown

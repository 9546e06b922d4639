"""The matrix in a terminal: a rich table, then why each red cell is red."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ccmatrix import catalog
from ccmatrix.report.matrix_json import GLYPH, LABEL
from ccmatrix.verdict.results import NOT_SELECTED, CellResult, RunResult, tiers_shown

_STYLE = {"pass": "green", "changed": "cyan", "fail": "bold red", "not_applicable": "dim", "not_tested": "yellow",
          "error": "bold yellow"}


def provider_name(provider_id: str, short: bool = False) -> str:
    try:
        p = catalog.provider(provider_id)
    except catalog.CatalogError:
        return provider_id  # a column from some other matrix layout: show its id
    return p.label if short else p.name


def _cell_text(cell: CellResult | None, words: bool) -> Text:
    if cell is None:
        return Text("")
    # Without color, a legend under the table spells each glyph out (some terminals lack
    # the emoji font); a regression is flagged either way. One line per row at 80 columns.
    state = _state(cell)
    label = GLYPH[state] + (" !" if cell.regressed else "")
    return Text(label, style=_STYLE[state])


LEGEND = "  ".join(f"{GLYPH[s]} {LABEL[s]}" for s in LABEL) + "  ! regressed"
# failing-cell detail kept to a few lines a tier: the whole of it is in summary.md and the JSON
_PART_CHARS = 240
_DIFFS_SHOWN = 4


def _say(console: Console, indent: int, text: str, style: str) -> None:
    """A detail line, indented; a line too long for the terminal wraps under itself, not
    at the left margin (a CI log is 80 columns)."""
    console.print(Padding(Text(text, style=style), (0, 0, 0, indent), expand=False))


def _selected(row) -> bool:  # type: ignore[no-untyped-def]
    return any(c.reason != NOT_SELECTED for c in row.cells.values())


def _state(cell: CellResult) -> str:
    return cell.state


def _summary(run: RunResult) -> str:
    counts = {s: 0 for s in LABEL}
    for c in run.cells():
        counts[_state(c)] += 1
    return ", ".join(f"{n} {LABEL[s]}" for s, n in counts.items() if n)


def render_table(run: RunResult, console: Console, verbose: bool = False) -> None:
    words = console.no_color or console.color_system is None
    rows = [r for r in run.rows if _selected(r)]
    hidden = len(run.rows) - len(rows)
    table = Table(
        title=f"Claude Code {run.claude_code_version} x LiteLLM {run.litellm_version}",
        caption=f"{run.mode}, generated {run.generated_at}: {_summary(run)}"
                + (f"; {hidden} row(s) not selected" if hidden else ""),
        box=box.SIMPLE_HEAVY, padding=(0, 1), pad_edge=False,
    )
    # a long feature name gives way first (ellipsis), never a provider header
    table.add_column("Feature", no_wrap=True, overflow="ellipsis", max_width=36 if console.width >= 100 else 28)
    for p in run.providers:
        # short headers on a narrow terminal (CI logs are 80 columns)
        header = provider_name(p, short=console.width < 120)
        table.add_column(header, justify="center", no_wrap=True, min_width=len(header))
    for row in rows:
        table.add_row(row.name, *(_cell_text(row.cells.get(p), words) for p in run.providers))
    if run.fault_rows:
        # ccmatrix's own rows, apart from the published ones (docs/faults.md)
        table.add_section()
        table.add_row(Text("Fault rows (emulator only)", style="bold"), *([""] * len(run.providers)))
        for row in run.fault_rows:
            table.add_row(row.name, *(_cell_text(row.cells.get(p), words) for p in run.providers))
    console.print(table)
    if words:
        console.print(Text(LEGEND), soft_wrap=False)

    failing = [c for c in run.cells() if c.status == "fail"]
    if failing:
        console.print(Text("Failing cells", style="bold"))
    for cell in failing:
        console.print(Text(f"{cell.feature} / {cell.provider}", style="bold red"))
        for t in cell.tiers:
            if t.status != "fail":
                continue
            line = Text(f"  {t.tier} [{t.model_alias}]")
            if t.regressed:
                line.append("  (regression: recorded pass)", style="bold red")
            elif t.fails_differently:
                line.append("  (failing differently than recorded: ", style="yellow")
                line.append(f"{(t.recorded_error or '')[:120]})", style="yellow")
            console.print(line)
            # the failures already carry the failed checks and replay mismatches; each is
            # cut to a few lines, the load-bearing differences below say the rest
            shown = []
            for part in t.failure_texts():
                part = " ".join(part.split())
                shown.append(part[:_PART_CHARS])
                _say(console, 4, shown[-1] + ("..." if len(part) > _PART_CHARS else ""), "red")
            # a criterion's failure is listed above in its own words; other checks (a chunking) by name
            listed = {f.field for f in t.failures if f.kind == "criteria-unmet"}
            for check in t.failed_checks:
                if check not in listed and check not in (t.error or ""):
                    _say(console, 4, f"check failed: {check}", "red")
            bearing = [d for d in t.diffs if d.load_bearing and not any(d.describe() in p for p in shown)]
            for d in bearing[:_DIFFS_SHOWN]:
                _say(console, 4, d.describe(), "red")
            if len(bearing) > _DIFFS_SHOWN:
                _say(console, 4, f"and {len(bearing) - _DIFFS_SHOWN} more load-bearing difference(s) "
                                 "(summary.md, ccmatrix-run.json)", "red")
            if t.drift:
                _say(console, 4, f"+ {len(t.drift)} drift diff(s), not load-bearing", "dim")
        if not cell.tiers and cell.error:
            _say(console, 2, cell.error, "red")

    changed = run.changed
    if changed:
        console.print(Text(f"Changed tiers ({len(changed)}): they work, their cassettes need re-recording", style="bold cyan"))
    for t in changed:
        _say(console, 2, f"{t.feature}/{t.provider}/{t.tier}", "cyan")
        for change in t.changes:
            _say(console, 4, change.describe(), "cyan")

    _render_findings(run, console, verbose)

    regressed = [t for c in run.cells() for t in c.tiers if t.regressed]
    if regressed:
        console.print(Text(f"{len(regressed)} regression(s) (recorded pass -> now fail)", style="bold red"))
    for t in regressed:
        first = " ".join((t.error or "failed").split())
        console.print(Text(f"REGRESSION {t.feature}/{t.provider}/{t.tier}: {first[:_PART_CHARS]}", style="bold red"))

    for t in run.run_errors:  # not verdicts: say so apart, with the first line of what broke
        console.print(Text(f"run error {t.feature} / {t.provider} / {t.tier}: {(t.error or 'failed').splitlines()[0][:200]}",
                           style="bold yellow"))


def shown_findings(run: RunResult, verbose: bool = False) -> tuple[list, int, int]:
    """(the findings to list, how many more there are, on how many tiers): those on a
    failing tier and every [high] one are listed; the rest, on passing tiers, are only
    counted unless `verbose` (docs/findings.md says what each severity means)."""
    failing = {f"{t.feature}/{t.provider}/{t.tier}" for c in run.cells() for t in c.tiers if t.status == "fail"}
    listed, rest = [], []
    for finding, tiers in run.findings_by_message():
        shown = verbose or finding.severity == "high" or bool(failing & set(tiers))
        (listed if shown else rest).append((finding, tiers))
    return listed, len(rest), sum(len(tiers) for _, tiers in rest)


def _render_findings(run: RunResult, console: Console, verbose: bool) -> None:
    listed, more, on_tiers = shown_findings(run, verbose)
    if listed:
        console.print(Text(f"Findings ({len(listed)} distinct): on the wire, beside the verdicts", style="bold"))
    for finding, tiers in listed:
        _say(console, 2, f"[{finding.severity}] {finding.describe()}", "magenta")
        _say(console, 6, f"{len(tiers)} tier(s): {tiers_shown(tiers)}", "magenta")
    if more:
        console.print(Text(f"{more} more distinct finding(s) on {on_tiers} passing tier(s): listed in summary.md and "
                           "with --verbose", style="dim"))

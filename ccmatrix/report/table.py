"""The matrix in a terminal: a rich table, then why each red cell is red."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ccmatrix import catalog
from ccmatrix.report.matrix_json import GLYPH, LABEL
from ccmatrix.verdict.results import CellResult, RunResult, tiers_shown

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
    # Without color, the emoji alone can be ambiguous (and some terminals lack the
    # font), so spell the status out; a regression is flagged either way.
    state = _state(cell)
    label = GLYPH[state] + (f" {LABEL[state]}" if words else "")
    if cell.regressed:
        label += " REGRESSED" if words else " !"
    return Text(label, style=_STYLE[state])


def _state(cell: CellResult) -> str:
    return cell.state


def _summary(run: RunResult) -> str:
    counts = {s: 0 for s in LABEL}
    for c in run.cells():
        counts[_state(c)] += 1
    return ", ".join(f"{n} {LABEL[s]}" for s, n in counts.items() if n)


def render_table(run: RunResult, console: Console) -> None:
    words = console.no_color or console.color_system is None
    table = Table(
        title=f"Claude Code {run.claude_code_version} x LiteLLM {run.litellm_version}",
        caption=f"{run.mode}, generated {run.generated_at}: {_summary(run)}",
        box=box.SIMPLE_HEAVY,
    )
    table.add_column("Feature", no_wrap=True)
    for p in run.providers:
        # short headers on a narrow terminal (CI logs are 80 columns)
        header = provider_name(p, short=console.width < 120)
        table.add_column(header, justify="center")
    for row in run.rows:
        table.add_row(row.name, *(_cell_text(row.cells.get(p), words) for p in run.providers))
    if run.fault_rows:
        # ccmatrix's own rows, apart from the published ones (docs/faults.md)
        table.add_section()
        table.add_row(Text("Fault rows (emulator only)", style="bold"), *([""] * len(run.providers)))
        for row in run.fault_rows:
            table.add_row(row.name, *(_cell_text(row.cells.get(p), words) for p in run.providers))
    console.print(table)

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
            # the error already carries the failed checks and replay mismatches, one per " | "
            for part in (t.error or "failed").split(" | "):
                console.print(Text(f"    {part}", style="red"))
            for check in t.failed_checks:
                if check not in (t.error or ""):
                    console.print(Text(f"    check failed: {check}", style="red"))
            for d in t.diffs:
                if d.load_bearing and d.describe() not in (t.error or ""):
                    console.print(Text(f"    {d.describe()}", style="red"))
            if t.drift:
                console.print(Text(f"    + {len(t.drift)} drift diff(s), not load-bearing", style="dim"))
        if not cell.tiers and cell.error:
            console.print(Text(f"  {cell.error}", style="red"))

    changed = run.changed
    if changed:
        console.print(Text(f"Changed tiers ({len(changed)}): they work, their cassettes need re-recording", style="bold cyan"))
    for t in changed:
        console.print(Text(f"  {t.feature}/{t.provider}/{t.tier}", style="cyan"))
        for change in t.changes:
            console.print(Text(f"    {change.describe()}", style="cyan"))

    grouped = run.findings_by_message()
    if grouped:
        console.print(Text(f"Findings ({sum(len(tiers) for _, tiers in grouped)} on the tiers, {len(grouped)} "
                           "distinct): on the wire, beside the verdicts", style="bold"))
    for finding, tiers in grouped:
        console.print(Text(f"  [{finding.severity}] {finding.describe()}", style="magenta"))
        console.print(Text(f"    {len(tiers)} tier(s): {tiers_shown(tiers)}", style="magenta"))

    regressed = [t for c in run.cells() for t in c.tiers if t.regressed]
    if regressed:
        console.print(Text(f"{len(regressed)} regression(s) (recorded pass -> now fail)", style="bold red"))
    for t in regressed:
        console.print(Text(f"REGRESSION {t.feature}/{t.provider}/{t.tier}: {t.error or 'failed'}", style="bold red"))

    for t in run.run_errors:  # not verdicts: say so apart, with the first line of what broke
        console.print(Text(f"run error {t.feature} / {t.provider} / {t.tier}: {(t.error or 'failed').splitlines()[0][:200]}",
                           style="bold yellow"))

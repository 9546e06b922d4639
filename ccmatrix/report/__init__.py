"""Renderings of a run: schema v1 JSON, terminal table, Markdown, HTML, and matrix diffs."""

from ccmatrix.report.html import render_html
from ccmatrix.report.known_issues import DEFAULT_KNOWN_ISSUES, KnownIssue, KnownIssuesError, load_known_issues
from ccmatrix.report.markdown import render_markdown
from ccmatrix.report.matrix_diff import CellChange, MatrixComparison, compare_matrices, render_comparison
from ccmatrix.report.matrix_json import MATRIX_FILENAME, MatrixError, MatrixV1, load_matrix, to_schema_v1, write_matrix
from ccmatrix.report.merge import RUN_FILENAME, MergeError, load_run, merge
from ccmatrix.report.table import render_table


def write_reports(run, out_dir, known_issues=None) -> list:
    """The main job's outputs: compatibility-matrix.json, .html and summary.md, and the
    whole run beside them (RUN_FILENAME); each written atomically."""
    from pathlib import Path

    from ccmatrix.fsutil import write_atomic

    out = Path(out_dir)
    return [
        write_matrix(run, out),
        write_atomic(out / "compatibility-matrix.html", render_html(run, known_issues)),
        write_atomic(out / "summary.md", render_markdown(run)),
        write_atomic(out / RUN_FILENAME, run.model_dump_json(indent=1) + "\n"),
    ]

__all__ = [
    "CellChange",
    "DEFAULT_KNOWN_ISSUES",
    "KnownIssue",
    "KnownIssuesError",
    "MATRIX_FILENAME",
    "RUN_FILENAME",
    "MatrixComparison",
    "MatrixError",
    "MergeError",
    "MatrixV1",
    "compare_matrices",
    "load_known_issues",
    "load_matrix",
    "load_run",
    "merge",
    "render_comparison",
    "render_html",
    "render_markdown",
    "render_table",
    "to_schema_v1",
    "write_matrix",
    "write_reports",
]

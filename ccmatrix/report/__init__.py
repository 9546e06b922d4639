"""Renderings of a run: schema v1 JSON, terminal table, Markdown, HTML, and matrix diffs."""

from ccmatrix.report.html import render_html
from ccmatrix.report.known_issues import DEFAULT_KNOWN_ISSUES, KnownIssue, KnownIssuesError, load_known_issues
from ccmatrix.report.markdown import render_markdown
from ccmatrix.report.matrix_diff import CellChange, MatrixComparison, compare_matrices, render_comparison
from ccmatrix.report.matrix_json import MATRIX_FILENAME, MatrixError, MatrixV1, load_matrix, to_schema_v1, write_matrix
from ccmatrix.report.table import render_table


def write_reports(run, out_dir, known_issues=None) -> list:
    """The main job's outputs: compatibility-matrix.json, .html and summary.md."""
    from pathlib import Path

    from ccmatrix.fsutil import write_atomic

    out = Path(out_dir)
    return [
        write_matrix(run, out),
        write_atomic(out / "compatibility-matrix.html", render_html(run, known_issues)),
        write_atomic(out / "summary.md", render_markdown(run)),
    ]

__all__ = [
    "CellChange",
    "DEFAULT_KNOWN_ISSUES",
    "KnownIssue",
    "KnownIssuesError",
    "MATRIX_FILENAME",
    "MatrixComparison",
    "MatrixError",
    "MatrixV1",
    "compare_matrices",
    "load_known_issues",
    "load_matrix",
    "render_comparison",
    "render_html",
    "render_markdown",
    "render_table",
    "to_schema_v1",
    "write_matrix",
    "write_reports",
]

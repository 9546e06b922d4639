"""A cell tier's traffic as a LiteLLM unit test (issue 24): the provider leg as a vcrpy
cassette, the client leg as the Anthropic Messages requests Claude Code sent, and a
pytest file that calls LiteLLM in-process the way the proxy does for the deployment,
replays the provider leg and asserts what ccmatrix asserts.

    from ccmatrix.export import export_cell
    export_cell(CellTier.parse("thinking/bedrock_invoke/opus"), root, release, Path("repro"))

The test runs in a LiteLLM environment that has pytest and respx (LiteLLM's dev
dependencies): `python -m pytest repro`. docs/red-cells.md shows it as the step after a
red cell.
"""

from ccmatrix.export.writer import ExportError, export_cell, run_traffic

__all__ = ["ExportError", "export_cell", "run_traffic"]

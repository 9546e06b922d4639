"""ccmatrix: mock-provider replay tests for the Claude Code x LiteLLM compatibility matrix."""

__version__ = "0.1.0"

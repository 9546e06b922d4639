"""The states a cell and each of its tiers can have.

`Status` is the published matrix's vocabulary (schema v1). A tier has one more
state of ccmatrix's own, `changed`: LiteLLM sent a request the cassette has no
counterpart for (a new route, a new conversation), the emulator answered it, and the
cell works, but its cassette needs re-recording. A cell whose tiers pass or are
changed is `pass` in schema v1 (Claude Code works), flagged `changed` beside it.

And `error`: the run itself broke during the tier (a process ccmatrix started died or
stopped answering). That is no verdict on LiteLLM; the cell is `not_tested` in schema
v1, its reason naming the tier, and the run exits 2 (docs/faults.md).
"""

from __future__ import annotations

from typing import Literal

Status = Literal["pass", "fail", "not_applicable", "not_tested"]
TierStatus = Literal["pass", "fail", "not_applicable", "not_tested", "changed", "error"]

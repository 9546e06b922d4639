"""Read at start by every LiteLLM process ccmatrix starts (their PYTHONPATH names this
folder; ccmatrix/proxy/litellm.py, base_environment).

Most of a LiteLLM proxy's start is its import (9-14 s of one core on a 2-core machine),
and the cyclic garbage collector runs thousands of times during it. A larger first
generation makes it run less often: LiteLLM 1.84.0's proxy import took 14.1 s and 14.0 s
with the defaults, 11.5 s and 12.3 s with these (2026-12-01). It changes when garbage
is collected, not what LiteLLM does.
"""

import gc

gc.set_threshold(200_000, 50, 100)

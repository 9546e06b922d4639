"""The harness's `vertex_ai_gpt` column: not applicable. Its cells are a static
not_applicable there, with this reason, and never touch the network."""

from __future__ import annotations

from ccmatrix.providers.credentials import CredentialMode
from ccmatrix.providers.gpt import GPT_CELLS, GptProvider


class VertexAIGpt(GptProvider):
    id = "vertex_ai_gpt"
    name = "Vertex AI (GPT)"
    label = "Vertex GPT"
    hosts = ()
    model_ids = {}
    litellm_prefix = "vertex_ai/"
    alias_suffix = "-vertex-ai"
    # the harness's reason, word for word (_gpt_cells.py VERTEX_AI_GPT_NOT_APPLICABLE_REASON)
    not_applicable = ("GCP Vertex AI does not offer OpenAI's closed-weight GPT-5.6 family (Sol / Terra / Luna); "
                      "Model Garden carries only the open-weight gpt-oss MaaS models. Convert this column's cells to "
                      "live tests if Google adds the GPT-5.6 models.")
    credential_modes = (CredentialMode("none", "no deployment: the column is not applicable", (GPT_CELLS,), {}, (),
                                       lambda workdir, token_uri: {}, lambda request: None, live_default=True),)


PROVIDER = VertexAIGpt()

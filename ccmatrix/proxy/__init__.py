"""The proxy stage: the real LiteLLM as a subprocess, with mitmdump in front of the providers.

process.py        spawning and stopping subprocesses, their logs
mitmdump.py       mitmdump with the recorder addon (and the mitmproxy CA)
litellm.py        the LiteLLM proxy process: command, environment, readiness
litellm_env.py    where that LiteLLM comes from (a cached uv environment per release)
litellm_config.py its config, written as a LiteLLM user writes it
credentials.py    throwaway credentials offline, the operator's live
stack.py          the two processes together, and the recorder's control channel
"""

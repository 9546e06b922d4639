"""The verdict stage: what a cell tier's traffic means.

judge.py     a tier result from the client exchanges and the recorder's upstream exchanges: RULES, in order
criteria.py  the live harness's criteria: does Claude Code have what the row needs?
checks.py    wire checks: what ccmatrix sees beyond them (findings)
native.py    LiteLLM's request held to what Claude Code sends the provider itself
faults.py    a fault row's verdict: the provider's failure, as Claude Code got it
results.py   the result models: typed failures and findings, tier result (its error their
             text), cell result (the published rule), run result
"""

"""The verdict stage: what a cell tier's traffic means.

judge.py     a tier result from the client exchanges and the recorder's upstream exchanges
checks.py    client-side checks: did Claude Code get what the row needs?
results.py   the result models: tier result, cell result (the published rule), run result
"""

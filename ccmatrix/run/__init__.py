"""Runs: the selected cell tiers through one stack, and the search across LiteLLM releases.

runner.py   plan (load and check everything first), run each cell tier, assemble the matrix
bisect.py   find the LiteLLM release where a cell changes verdict
"""

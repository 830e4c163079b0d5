"""Transfers (调转): an accountant's archive moving to another finance bureau, and its transfer sheet."""

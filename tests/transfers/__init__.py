"""Tests of transfers (调转): the transfer sheet PDF."""

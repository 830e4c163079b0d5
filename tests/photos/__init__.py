"""Tests of the ID-photo pipeline (server.photos); images.py builds the test photos."""

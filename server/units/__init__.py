"""Employers (单位): verified unit administrators and the units' side of the record."""

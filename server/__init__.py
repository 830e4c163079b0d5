"""The composition root and shared services of the accountant-record backend."""

"""The old accounting register (原会计档案, issue #14): staff import it, a person entering an ID
number it holds gets their record prefilled, mismatches go to staff, staff see who has not
collected yet.

- `template.py`: the import file's columns and the downloadable template (pure);
- `parse.py`: an uploaded .xlsx/.csv → normalised rows and per-row errors (pure, run in an executor);
- `register.py`: `LegacyRegister`, preview / confirm / import history (`legacy_register`, `legacy_imports`);
- `matching.py`: `LegacyMatcher`, the hook after a person's PATCH and the staff's mismatch cases;
- `pending.py`: `LegacyPending`, per district the register people who have not collected yet.

This package's `__init__` imports nothing: the record service's hook is wired in server/app.py.
"""

"""The bureau's review of accountant records: queue, detail, files, decisions, audit, sample, stats, export.

Every function takes the signed-in `server.staff.Staff` and limits itself to that person's
districts; a record outside them is reported as not found (its existence is not revealed).
"""

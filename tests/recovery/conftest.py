"""Fixtures of the recovery tests: the lifecycle suite's people, reviewers and chat."""

from tests.lifecycle.conftest import (  # noqa: F401
    MESSAGES,
    RECORD,
    A,
    B,
    approved_person,
    archive_of,
    as_user,
    chat,
    chat_settings,
    give_photo,
    make_valid_record,
    reviewer,
    staff_client,
    upload,
)

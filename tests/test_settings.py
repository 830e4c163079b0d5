"""Settings: environment parsing and the one-line refusal at start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from settings import Settings, SettingsError
from tests.conftest import ROOT


def test_defaults_work_for_a_local_run():
    s = Settings.from_env({})
    assert s.port == 8000 and s.mongodb_uri == "" and s.data_dir == ".data"
    assert s.uses_fake_wechat


@pytest.mark.parametrize(
    "env, name",
    [
        ({"PORT": "eighty"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"MONGODB_URI": "postgres://x"}, "MONGODB_URI"),
        ({"OFFICIAL_ACCOUNT_AES_KEY": "short"}, "OFFICIAL_ACCOUNT_AES_KEY"),
        ({"ENVIRONMENT": "production"}, "SECRET_KEY"),
        ({"STAFF_COOKIE_SECURE": "maybe"}, "STAFF_COOKIE_SECURE"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env, name):
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert name in str(err.value)


def test_server_refuses_to_start_with_one_clear_line():
    env = {**os.environ, "PORT": "not-a-port"}
    proc = subprocess.run(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "PORT" in lines[0]


def test_every_setting_is_in_the_readme_table():
    import dataclasses

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [f.name.upper() for f in dataclasses.fields(Settings) if f"`{f.name.upper()}`" not in readme]
    assert missing == []

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


PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "q9V7sLr2Kx8TzW4mNp6Hc3Jd",
    "MINIPROGRAM_APPID": "wx1234567890abcdef",
    "MINIPROGRAM_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
    "OFFICIAL_ACCOUNT_TOKEN": "Tk7gQ2vXz9",
    "MONGODB_URI": "mongodb://db.internal:27017",
}


def test_a_complete_production_configuration_is_accepted():
    s = Settings.from_env(PRODUCTION)
    assert s.environment == "production" and s.mongodb_uri == PRODUCTION["MONGODB_URI"]


@pytest.mark.parametrize(
    "change, name",
    [
        ({"MONGODB_URI": ""}, "MONGODB_URI"),
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"SECRET_KEY": "please-change-me-before-going-live"}, "SECRET_KEY"),
        ({"SECRET_KEY": "xxxxxxxxxxxxxxxxxxxxxxxx"}, "SECRET_KEY"),
        ({"MINIPROGRAM_SECRET": ""}, "MINIPROGRAM_SECRET"),
        ({"MINIPROGRAM_SECRET": "demo-mp-secret"}, "MINIPROGRAM_SECRET"),
        ({"OFFICIAL_ACCOUNT_TOKEN": ""}, "OFFICIAL_ACCOUNT_TOKEN"),  # unset: the demo token
        ({"OFFICIAL_ACCOUNT_TOKEN": "kjcj-demo-token"}, "OFFICIAL_ACCOUNT_TOKEN"),
        ({"OFFICIAL_ACCOUNT_TOKEN": "your-token"}, "OFFICIAL_ACCOUNT_TOKEN"),
        ({"OFFICIAL_ACCOUNT_APPID": "wxoa0987654321"}, "OFFICIAL_ACCOUNT_SECRET"),
        (
            {"OFFICIAL_ACCOUNT_APPID": "wxoa0987654321", "OFFICIAL_ACCOUNT_SECRET": "demo-oa-secret"},
            "OFFICIAL_ACCOUNT_SECRET",
        ),
    ],
)
def test_production_refuses_the_embedded_database_and_placeholder_secrets(change, name):
    env = {k: v for k, v in {**PRODUCTION, **change}.items() if v}
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert str(err.value).startswith(name)


def test_development_keeps_its_demo_defaults():
    s = Settings.from_env({})
    assert s.official_account_token == "kjcj-demo-token" and s.mongodb_uri == ""


@pytest.mark.parametrize(
    "change, name", [({"MONGODB_URI": ""}, "MONGODB_URI"), ({"OFFICIAL_ACCOUNT_TOKEN": ""}, "OFFICIAL_ACCOUNT_TOKEN")]
)
def test_production_server_refuses_to_start_with_one_line(change, name):
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION and k != "DATA_DIR"}
    env.update({k: v for k, v in {**PRODUCTION, **change}.items() if v})
    proc = subprocess.run(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0], proc.stderr

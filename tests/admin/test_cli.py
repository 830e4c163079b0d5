"""`python -m server staff ...` reaches the running server's database (DATA_DIR or MONGODB_URI)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


async def run_cli(args: list[str], env: dict, stdin: str = "") -> tuple[int, str, str]:
    """Run `python -m server ...` as a separate process."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        cwd=str(ROOT),
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode())
    return proc.returncode, out.decode(), err.decode()


def cli_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("MONGODB_URI", "DATA_DIR", "MONGODB_DB")}
    env.update(ENVIRONMENT="test", LOG_LEVEL="WARNING", **extra)
    return env


async def test_staff_commands_reach_a_running_server_through_data_dir(server, http, mongodb_uri, db_name, tmp_path):
    # A running local server publishes its database under DATA_DIR; the CLI joins it.
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()
    (data_dir / "localdb.json").write_text(json.dumps({"uri": mongodb_uri, "pid": os.getpid()}))
    env = cli_env(DATA_DIR=str(data_dir), MONGODB_DB=db_name)
    code, out, err = await run_cli(
        ["staff", "add", "--username", "Zhang", "--role", "reviewer", "--regions", "350203,350206", "--password-stdin"],
        env,
        "s3cret-pass-1\n",
    )
    assert code == 0, err
    assert "已创建账号 zhang" in out
    r = await http.post("/admin/api/login", json={"username": "zhang", "password": "s3cret-pass-1"})
    assert r.status == 200 and r.json["regions"] == ["350203", "350206"]

    code, _, err = await run_cli(
        ["staff", "add", "--username", "zhang", "--role", "reviewer", "--regions", "350203", "--password-stdin"],
        env,
        "another-pass-1\n",
    )
    assert code == 1 and "staff_exists" in err

    code, out, err = await run_cli(
        ["staff", "reset", "--username", "zhang", "--password-stdin"], env, "brand-new-pass-2\n"
    )
    assert code == 0, err
    assert (await http.get("/admin/api/me")).status == 401  # reset ended the session
    assert (await http.post("/admin/api/login", json={"username": "zhang", "password": "s3cret-pass-1"})).status == 401
    assert (
        await http.post("/admin/api/login", json={"username": "zhang", "password": "brand-new-pass-2"})
    ).status == 200

    code, out, err = await run_cli(["staff", "disable", "--username", "zhang"], env)
    assert code == 0 and "已停用" in out, err
    assert (await http.get("/admin/api/me")).status == 401
    r = await http.post("/admin/api/login", json={"username": "zhang", "password": "brand-new-pass-2"})
    assert r.status == 403
    code, out, _ = await run_cli(["staff", "list"], env)
    assert code == 0 and "zhang\treviewer\t350203,350206\t停用" in out


async def test_staff_add_with_mongodb_uri_and_refused_inputs(server, http, mongodb_uri, db_name, tmp_path):
    env = cli_env(MONGODB_URI=mongodb_uri, MONGODB_DB=db_name, DATA_DIR=str(tmp_path / "none"))
    code, out, err = await run_cli(
        ["staff", "add", "--username", "boss", "--role", "city_admin", "--password-stdin"], env, "city-admin-pass\n"
    )
    assert code == 0, err
    r = await http.post("/admin/api/login", json={"username": "boss", "password": "city-admin-pass"})
    assert r.status == 200 and r.json["role"] == "city_admin"
    for args, stdin, code_text in (
        (["--username", "x1", "--role", "reviewer", "--regions", "110105"], "long-enough-1\n", "unknown_region"),
        (["--username", "x2", "--role", "reviewer"], "long-enough-1\n", "regions_required"),
        (["--username", "x3", "--role", "reviewer", "--regions", "350203"], "short\n", "weak_password"),
        (["--username", "不行", "--role", "reviewer", "--regions", "350203"], "long-enough-1\n", "invalid_username"),
    ):
        code, _, err = await run_cli(["staff", "add", *args, "--password-stdin"], env, stdin)
        assert code == 1 and code_text in err, (args, err)
    assert await server.services.db["staff"].count_documents({}) == 1

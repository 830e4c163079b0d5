"""The OpenAPI document and the server agree: Schemathesis runs over the document against a real
server (real database, fake WeChat), bounded so that it fits every `make test`.

Checks: no 5xx, every status and content type documented, responses match their schemas, and
data the document calls invalid is refused. The mini-program side runs with a logged-in
person's bearer token, the staff side with a signed-in city administrator's cookie and XSRF
header. Logging in and out are left out (they would end the sessions the run uses).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from server.staff import StaffAccounts
from tests.admin.conftest import PASSWORD, staff_client  # noqa: F401
from tests.miniprogram.conftest import as_user  # noqa: F401

ST = shutil.which("st", path=str(Path(sys.executable).parent))
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
    ]
)
pytestmark = pytest.mark.skipif(ST is None, reason="schemathesis is not installed (requirements-dev.txt)")


CONFIG = Path(__file__).with_name("schemathesis.toml")


async def schemathesis(
    url: str, include: str, headers: dict[str, str], exclude: list[str], auth: dict[str, str]
) -> None:
    """Run `st run` over the paths matching `include`; fail with its report unless it passes.
    `auth` fills the document's security schemes (tests/schemathesis.toml reads it from the environment)."""
    args = [ST or "st", "--config-file", str(CONFIG), "run", f"{url}/api/openapi.json", "--include-path-regex", include]
    for path in exclude:
        args += ["--exclude-path", path]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    args += ["--checks", CHECKS, "--max-examples", "6", "--seed", "20261201", "-n", "1"]
    args += ["--phases", "coverage,fuzzing", "--request-timeout", "20"]
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=tempfile.gettempdir(),  # its cache folder (.schemathesis/) is written in the working directory
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={"NO_COLOR": "1", "PATH": "", "ST_BEARER": "", "ST_STAFF_COOKIE": "", **auth},
    )
    out, _ = await proc.communicate()  # the server keeps serving on this event loop meanwhile
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-12000:]
    assert "generated" in report and " 0 generated" not in report, report[-3000:]
    # the run reached past the login (one operation may see only 401s on a loaded machine: seen once)
    failed_auth = re.search(r"Authentication failed: (\d+) operation", report)
    assert failed_auth is None or int(failed_auth.group(1)) <= 1, report[-6000:]


async def test_the_mini_program_and_public_api_match_the_document(server, as_user):  # noqa: F811
    person = await as_user("schemathesis")
    await schemathesis(
        server.url, "^/api/", {}, ["/api/v1/auth/logout", "/api/v1/auth/login"], {"ST_BEARER": person.token or ""}
    )


async def test_the_staff_api_matches_the_document(server, staff_client):  # noqa: F811
    await server.services.get(StaffAccounts).ensure("st-city", "city_admin", [], PASSWORD)
    city = await staff_client(server, "st-city")
    jar = {c.key: c.value for c in city.http.session.cookie_jar}
    await schemathesis(
        server.url,
        "^/admin/api/",
        {"X-XSRF-Token": city.xsrf},
        ["/admin/api/logout", "/admin/api/login"],
        {"ST_STAFF_COOKIE": jar["kjcj_staff"]},
    )

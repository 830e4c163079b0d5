"""The person's annual assessments (年度考评), the units' registrations of them, and the standing the
assessment rule gives (在岗 / 非在岗, with what is missing and by when)."""

from __future__ import annotations

from miniprogram_api.base import UNAUTHORIZED, UserHandler
from server.units.assessments import Assessments


class MyAssessmentsHandler(UserHandler):
    """GET /api/v1/me/assessments."""

    openapi = {
        "get": {
            "summary": "本人的年度考评结果、单位聘任登记和在岗状态（连续两年没有考评信息的转为非在岗）",
            "tags": ["mini-program"],
            "responses": {
                "200": {
                    "description": "assessments（年度、结果、单位）、appointments、standing（在岗/非在岗、缺少的年度、提醒）"
                },
                **UNAUTHORIZED,
            },
        }
    }

    async def get(self) -> None:
        self.write_json(await self.services.get(Assessments).for_user(self.user))


default_handlers = [(r"/api/v1/me/assessments", MyAssessmentsHandler)]

"""What the person sees of their yearly duties: `GET /api/v1/me/duties` and the chat's
`查询继续教育` answer, both from the same facts (computed now, so a fresh import shows at once)."""

from __future__ import annotations

from server.accounts.sessions import SessionUser
from server.duties import standing as rules
from server.duties.credits import CreditStore, entry_view
from server.duties.runner import StandingService
from server.lifecycle.store import Doc, LifecycleStore
from server.records.store import RecordStore

NO_ARCHIVE = "完成会计人员信息采集（审核通过）后才能登记继续教育学分。"
YEARS_IN_CHAT = 4


def _num(value) -> str:
    return str(value)


class DutiesView:
    """The person's years and standing."""

    def __init__(self, services):
        self.services = services
        self.store = services.get(LifecycleStore)
        self.credits = services.get(CreditStore)
        self.standing = services.get(StandingService)

    async def of_archive(self, archive: Doc) -> Doc:
        """The duties of one archive (the person's view)."""
        entries = await self.credits.entries(archive["_id"])
        result = await self.standing.preview(archive, entries)
        years = []
        for y in result["years"]:
            missing_total = max(0.0, float(y["required_total"]) - float(y["credits_total"]))
            missing_prof = max(0.0, float(y["required_professional"]) - float(y["credits_professional"]))
            years.append(
                {
                    **y,
                    "missing_total": rules.number(rules.credit(missing_total)),
                    "missing_professional": rules.number(rules.credit(missing_prof)),
                    "entries": [
                        entry_view(e)
                        for e in sorted(entries, key=lambda e: str(e.get("at")))
                        if e.get("year") == y["year"]
                    ],
                }
            )
        return {
            "archived": True,
            "archive_no": archive["_id"],
            "standing": result["standing"],
            "standing_label": result["standing_label"],
            "reason": result["reason"],
            "what_to_do": result["what_to_do"],
            "first_year": result["first_year"],
            "incomplete_years": result["incomplete_years"],
            "abnormal_years": result["abnormal_years"],
            "missing_assessment_years": result["missing_assessment_years"],
            "required_total": rules.number(self.standing.requirement.total),
            "required_professional": rules.number(self.standing.requirement.professional),
            "years": list(reversed(years)),  # newest first
            "computed_at": result.get("computed_at"),
        }

    async def mine(self, user: SessionUser) -> Doc:
        """The caller's duties (`archived: false` with what to do before an archive exists)."""
        record = await self.services.get(RecordStore).load(user.record_id, user.openid)
        archive = await self.store.archive_of(record)
        if archive is None:
            return {
                "archived": False,
                "standing": None,
                "standing_label": "",
                "reason": NO_ARCHIVE,
                "what_to_do": [NO_ARCHIVE],
                "years": [],
            }
        return await self.of_archive(archive)

    async def chat_text(self, record: Doc | None) -> str:
        """A few lines for the chat (a linked record), the same facts as `mine`."""
        archive = await self.store.archive_of(record)
        if archive is None:
            return NO_ARCHIVE + "请点击菜单“信息采集”进入小程序办理。"
        view = await self.of_archive(archive)
        lines = [f"您的会计人员状态：{view['standing_label']}。"]
        if view["standing"] != rules.NORMAL:
            lines.append(view["reason"] + "。")
        for y in view["years"][:YEARS_IN_CHAT]:
            if y["complete"]:
                state = "已完成"
            elif y["in_progress"]:
                state = f"还差{_num(y['missing_total'])}学分（专业科目还差{_num(y['missing_professional'])}）"
            else:
                state = "未完成"
            lines.append(
                f"{y['year']}年度：{_num(y['credits_total'])}/{_num(y['required_total'])}学分"
                f"（专业科目{_num(y['credits_professional'])}），{state}"
            )
        if not view["years"]:
            lines.append("暂无需要完成继续教育的年度。")
        lines += view["what_to_do"]
        lines.append("详情请在小程序“继续教育”中查看。")
        return "\n".join(lines)

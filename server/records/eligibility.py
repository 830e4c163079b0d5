"""Who must register (采集对象): people holding an accounting qualification, or in an accounting post.

The seeds' notices ask every person "具备会计专业技术资格或从事会计工作" to register; a
student without a qualification, or someone with neither, is not asked to (and is told so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .derived import derive

MESSAGE = (
    "信息采集的对象是取得会计专业技术资格的人员，或在单位从事会计工作的人员。"
    "您填写的信息显示既未取得会计专业技术资格、也不在会计岗位（如在校学生），暂不需要采集；"
    "取得资格或从事会计工作后再提交即可。"
)


def ineligible(record: Mapping[str, Any]) -> dict | None:
    """The field problem explaining why this record is not one to collect, or None when it is."""
    summary = derive(record)
    level = summary["qualification"].get("level")
    if (level and level != "none") or summary["employment"].get("in_post") is True:
        return None
    return {"field": "qualifications", "code": "not_eligible", "message": MESSAGE}

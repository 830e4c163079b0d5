"""Notice texts (one template per key named in the lifecycle tables) and delivery due times.

A notice is a document of the `notices` outbox (see `server/notify/outbox.py`):
{_id/id: "<application id>-<step n>", openid, application_id, kind, title, body,
 data: {result, reason, name, time}, created_at, read_at, delivery: {state, attempts, next_at, ...}}.
"""

from __future__ import annotations

import datetime as dt

# key (tables.py `notice`) -> (message kind, subscribe "result" phrase, title, body with {office} {reason})
TEMPLATES: dict[str, tuple[str, str, str, str]] = {
    "collection_approved": (
        "review_result",
        "审核通过",
        "会计人员信息审核通过",
        "您提交的会计人员信息已由{office}审核通过。",
    ),
    "collection_rejected": (
        "review_result",
        "审核未通过",
        "会计人员信息审核未通过",
        "您提交的会计人员信息未通过审核。原因：{reason}。请按要求修改后重新提交。",
    ),
    "change_approved": (
        "change_result",
        "变更通过",
        "会计人员信息变更已通过",
        "您申请的信息变更已由{office}审核通过，档案已更新。",
    ),
    "change_rejected": (
        "change_result",
        "变更未通过",
        "会计人员信息变更未通过",
        "您申请的信息变更未通过审核。原因：{reason}。档案保持原样，如需变更请重新申请。",
    ),
    "correction_order": (
        "correction_order",
        "责令改正",
        "请更正您的会计人员信息",
        "{office}抽查您的会计人员档案，要求更正：{reason}。请在小程序“信息变更”中提交更正。",
    ),
    # Transfers: {office} is the application's `region_code` district, the origin for 区内调转 and
    # 调出区外 (so the destination's steps name no office) and the destination for 区外调入.
    "transfer_released": (
        "transfer_result",
        "同意调出",
        "区内调转：原地区已同意调出",
        "您的区内调转申请已由{office}同意调出，正在等待调入地财政局接收。接收前档案仍在原管理地区。",
    ),
    "transfer_refused": (
        "transfer_result",
        "不同意调出",
        "区内调转申请未获同意",
        "{office}不同意您的区内调转申请。原因：{reason}。档案仍在原管理地区，如需调转请重新申请。",
    ),
    "transfer_accepted": (
        "transfer_result",
        "调入成功",
        "区内调转已完成",
        "调入地财政局已接收您的会计档案，区内调转已完成，今后由新的管理地区管理您的档案。",
    ),
    "transfer_declined": (
        "transfer_result",
        "不同意调入",
        "区内调转未获调入地接收",
        "调入地财政局不同意接收您的会计档案。原因：{reason}。档案仍在原管理地区，如需调转请重新申请。",
    ),
    "transfer_out_approved": (
        "transfer_result",
        "同意调出",
        "调出区外申请已通过",
        "您的调出区外申请已由{office}审核通过。档案已调出，请在小程序中下载《调转信息表》，到新的管理地区办理调入。",
    ),
    "transfer_out_rejected": (
        "transfer_result",
        "不同意调出",
        "调出区外申请未通过",
        "{office}不同意您的调出区外申请。原因：{reason}。档案仍在原管理地区，如需调出请重新申请。",
    ),
    "transfer_in_accepted": (
        "transfer_result",
        "调入成功",
        "区外调入已完成",
        "您的区外调入申请已由{office}审核通过，会计档案已建立，可在小程序中查看。",
    ),
    "transfer_in_refused": (
        "transfer_result",
        "不同意调入",
        "区外调入申请未通过",
        "{office}不同意您的区外调入申请。原因：{reason}。已填写的信息仍然保留，请按要求补充材料后重新申请。",
    ),
    "recovery_approved": (
        "recovery_result",
        "找回成功",
        "账号找回成功",
        "{office}已核实您的身份，您的会计人员档案已转到当前微信账号，原微信账号已不能再查看或办理。",
    ),
    "recovery_rejected": (
        "recovery_result",
        "找回未通过",
        "账号找回未通过",
        "您的账号找回申请未通过。原因：{reason}。请按要求重新申请，或联系所在区财政局。",
    ),
    "recovery_moved_away": (
        "recovery_result",
        "档案已转移",
        "会计人员档案已转到其他微信账号",
        "经财政局核实身份，您的会计人员档案已转到本人的另一个微信账号，本账号已不能再查看或办理。如非本人操作，请立即联系所在区财政局。",
    ),
    # Unit administrators (server/units/): the applicant's steps; the unit's answers about a person.
    "unit_admin_verified": (
        "unit_result",
        "认证通过",
        "单位管理员认证通过",
        "您的单位管理员申请已由{office}认证通过，可在小程序“单位管理”中为本单位办理报备确认等事项。",
    ),
    "unit_admin_rejected": (
        "unit_result",
        "认证未通过",
        "单位管理员认证未通过",
        "您的单位管理员申请未通过认证。原因：{reason}。请按要求补充材料后重新申请。",
    ),
    "unit_admin_revoked": (
        "unit_result",
        "已撤销",
        "单位管理员身份已撤销",
        "{office}已撤销您的单位管理员身份。原因：{reason}。",
    ),
    "unit_admin_revoked_by_unit": (
        "unit_result",
        "已撤销",
        "单位管理员身份已撤销",
        "本单位其他管理员已撤销您的单位管理员身份。原因：{reason}。如有疑问请联系单位或{office}。",
    ),
    "unit_confirmed": (
        "unit_confirmation",
        "单位已确认",
        "工作单位已确认您的任职信息",
        "您填写的工作单位已确认您在该单位从事会计工作，确认结果已记入您的会计人员档案。确认单位：{reason}。",
    ),
    "unit_denied": (
        "unit_confirmation",
        "单位未确认",
        "工作单位未确认您的任职信息",
        "您填写的工作单位未确认您在该单位从事会计工作。原因：{reason}。请核对工作单位信息，如有变化请在小程序中修改或申请信息变更。",
    ),
    # Sent when a unit ends an appointment it registered (server/units/appointments.py): {reason} says who and when.
    "appointment_ended": (
        "unit_appointment",
        "已解聘",
        "工作单位已解除聘任",
        "{reason}。自该日起您在该单位为非在岗；如已到新单位从事会计工作，请在小程序中更新会计工作履历。",
    ),
    # Sent by the campaign reminder job (server/campaigns/reminders.py): {reason} is the last day.
    "collection_reminder": (
        "collection_reminder",
        "即将截止",
        "会计人员信息采集即将截止",
        "本期会计人员信息采集即将截止，截止日期：{reason}。您的信息尚未提交审核，请尽快在小程序中填写完整并提交。",
    ),
    # Equivalence claims (视同继续教育, server/duties/claims.py): {reason} names the credits granted.
    "ce_claim_approved": (
        "ce_claim_result",
        "已认定",
        "视同继续教育已认定",
        "您的视同继续教育申请已由{office}审核：{reason}。学分已记入您的继续教育记录。",
    ),
    "ce_claim_rejected": (
        "ce_claim_result",
        "未认定",
        "视同继续教育未认定",
        "您的视同继续教育申请未获认定。原因：{reason}。如有新的证明材料，可重新申请。",
    ),
    # Sent by the standing rules (server/duties/runner.py): {reason} is the new standing; the body is
    # replaced by the reason and what to do.
    "standing_changed": (
        "standing_changed",
        "状态变更",
        "会计人员状态变更",
        "您的会计人员状态已变为：{reason}。",
    ),
    # Sent by the continuing-education reminder job (server/duties/reminders.py): {reason} says what is missing.
    "ce_reminder": (
        "ce_reminder",
        "学分未满",
        "继续教育学分尚未完成",
        "{reason}。请在本年度12月31日前完成继续教育；连续3个年度或累计4个年度未完成的，将转入异动人员管理。",
    ),
}
MESSAGE_KINDS = sorted({t[0] for t in TEMPLATES.values()})
# templates sent by an effect or a job rather than named by a table row
SENT_BY_JOBS = {
    "recovery_moved_away",
    "collection_reminder",
    "ce_reminder",
    "unit_confirmed",
    "unit_denied",
    "standing_changed",
    "appointment_ended",
}
DEFAULT_REASON = {
    "ce_claim_approved": "视同继续教育学分已认定",
    "standing_changed": "请在小程序中查看",
    "collection_approved": "信息审核通过",
    "change_approved": "变更审核通过",
    "transfer_released": "已同意调出，待调入地接收",
    "transfer_accepted": "调入地已接收，调转完成",
    "transfer_out_approved": "已调出，请下载调转信息表",
    "transfer_in_accepted": "区外调入审核通过",
    "recovery_approved": "身份核实通过，档案已转到本账号",
    "recovery_moved_away": "档案已转到本人的另一个微信账号",
    "collection_reminder": "以当地财政部门通知为准",
    "appointment_ended": "工作单位已解除对您的会计岗位聘任",
    "unit_admin_verified": "单位管理员认证通过",
    "unit_confirmed": "请在小程序中查看",
    "unit_denied": "请与单位核实",
    "ce_reminder": "本年度继续教育学分尚未修满",
}

# Stops and pauses a reason may end with (Chinese and ASCII), and trailing white space.
CLOSING_PUNCTUATION = "。．.！!？?；;，,、 \t\r\n\u3000"


def render(
    key: str, notice_id: str, openid: str | None, application_id, reason: str, name: str, office: str, at: dt.datetime
) -> dict:
    """A pending notice from its template (see the module doc for the shape)."""
    kind, result, title, body = TEMPLATES[key]
    reason = reason or DEFAULT_REASON.get(key, "")
    # the templates end the reason with their own "。": a reviewer's closing stop would double it
    sentence = reason.rstrip(CLOSING_PUNCTUATION) or reason
    return {
        "_id": notice_id,
        "id": notice_id,
        "openid": openid,
        "application_id": application_id,
        "kind": kind,
        "template": key,
        "title": title,
        "body": body.format(office=office or "财政局", reason=sentence),
        "data": {"result": result, "reason": reason, "name": name, "time": at},
        "created_at": at,
        "read_at": None,
        "delivery": {
            "state": "pending",
            "attempts": 0,
            "next_at": at,
            "lease_until": None,
            "last_error": None,
            "sent_at": None,
        },
    }


def due_at(notice: dict) -> dt.datetime | None:
    """When this notice next needs the sender: next_at if pending, lease end if being sent."""
    d = notice.get("delivery") or {}
    if d.get("state") == "pending":
        return d.get("next_at")
    if d.get("state") == "sending":
        return d.get("lease_until")
    return None


def is_due(notice: dict, now: dt.datetime) -> bool:
    """True when the notice needs the sender now (pending and due, or its sending lease ran out)."""
    when = due_at(notice)
    return when is not None and when <= now

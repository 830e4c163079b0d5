"""What the chat bot says (simplified Chinese); `{hotline}` and similar come from settings."""

from __future__ import annotations

EXAMPLES = "怎么办理信息采集、生僻字怎么输入、换了微信号怎么办、档案调转、照片要求、需要准备哪些材料"

WELCOME = (
    "欢迎关注！这里可以解答会计人员信息采集的常见问题。\n"
    "直接发送您的问题即可，例如：" + EXAMPLES + "。\n"
    "发送“查询进度”可查看信息采集、变更、调转等各项办理进度，发送“查询继续教育”可查看学分"
    "（需先在小程序中获取绑定码，再发送“绑定 绑定码”）。\n"
    "填写信息请点击菜单“信息采集”进入小程序。咨询电话：{hotline}"
)

SELF_SERVICE = (
    "自助服务：\n"
    "1. 发送问题关键词获取解答，例如：" + EXAMPLES + "；\n"
    "2. 发送“查询进度”查看信息采集、变更、调转等各项办理进度，发送“查询继续教育”查看学分；\n"
    "3. 首次查询请在小程序“我的”页面获取 6 位绑定码，然后发送“绑定 123456”（换成您的绑定码）。\n"
    "咨询电话：{hotline}"
)

HINT_NOT_TEXT = "暂时只能识别文字消息。请用文字描述您的问题，例如：" + EXAMPLES + "。"
HINT_EMPTY = "请用文字描述您的问题，例如：" + EXAMPLES + "。"

MISS_WITH_CHOICES = "抱歉，没有找到与您的问题完全对应的答案。您是不是想问：\n{choices}\n请回复数字查看答案（10 分钟内有效）。仍未解决可拨打咨询电话：{hotline}"
MISS_NO_CHOICES = "抱歉，暂时无法回答这个问题。您可以换个说法，或询问：" + EXAMPLES + "。\n也可拨打咨询电话：{hotline}"
OUT_OF_SCOPE = (
    "抱歉，这个问题不在本号的解答范围内。本号解答会计人员信息采集的相关问题，例如："
    + EXAMPLES
    + "。\n其他业务请咨询相关部门，或拨打咨询电话：{hotline}"
)
# greetings and thanks (server/chat/greetings.py): a friendly line, then the menu as numbered choices
GREETING_REPLY = "您好！我是会计人员信息采集咨询助手，请直接发送您的问题。"
THANKS_REPLY = "不客气，很高兴能帮到您！还有问题随时发给我。"
COURTESY_MENU = (
    "{opening}\n常见问题（回复数字查看，10 分钟内有效）：\n{choices}\n"
    "发送“查询进度”查看审核结果，发送“查询继续教育”查看学分；"
    "点击菜单“信息采集”进入小程序办理。咨询电话：{hotline}"
)
CHOICE_EXPIRED = "选项已过期或不存在，请重新发送您的问题。"
TOPIC_GONE = "该问题的解答已下线，请直接发送您的问题。"

BIND_OK = "绑定成功！现在可以发送“查询进度”查看您的信息采集审核结果。"
BIND_OK_NO_RECORD = "绑定成功！您还没有开始填写信息采集，请点击菜单“信息采集”进入小程序填写并提交。"
BIND_BAD_CODE = "绑定码无效或已过期。请在小程序“我的”页面重新获取绑定码（10 分钟内有效），然后发送“绑定 绑定码”。"
BIND_TOO_MANY = "绑定码错误次数过多，请 1 小时后再试。"

STATUS_NOT_LINKED = (
    "您的微信还没有关联信息采集记录。请打开“会计人员信息采集”小程序，在“我的”页面获取 6 位绑定码，"
    "然后在这里发送“绑定 123456”（换成您的绑定码），即可查询审核进度。"
)
STATUS_NO_RECORD = "您还没有开始填写信息采集。请点击菜单“信息采集”进入小程序，填写信息并提交审核。"
STATUS_UNKNOWN = "暂时无法确定您的审核状态，请进入小程序查看，或拨打咨询电话：{hotline}"
# the unit's employment confirmation (报备确认, server/units/), said after the record's state
STATUS_UNIT = {
    "pending": "您填写的工作单位{unit}尚未进行报备确认，请提醒单位管理员在小程序“单位管理”中确认。",
    "pending_required": "您填写的工作单位{unit}尚未进行报备确认；本区要求单位确认后才能审核通过，请提醒单位管理员在小程序“单位管理”中确认。",
    "denied": "您填写的工作单位{unit}未确认您的任职信息，原因：{reason}。请核对工作单位信息，如有变化请在小程序中修改或申请信息变更。",
}
# The yearly standing (server/duties/standing.py) when it is not 正常, computed as “查询继续教育”
# computes it; {reason} names the years (standing.reason).
STATUS_STANDING = {
    "abnormal": "您的会计人员状态为异动：{reason}。详情请发送“查询继续教育”查看。",
    "not_in_post": "您的会计人员状态为非在岗：{reason}。详情请发送“查询继续教育”查看。",
}
# What the status reply says of an application, by kind then state: every state of every kind of
# server/lifecycle/tables.py has its words here (tests/chat/test_status_texts.py checks them against
# the tables). Placeholders (server/chat/status.py `fields`): {submitted}; {decided} (the day the
# application reached its state); {reason}; {archive} (the archive number, a sentence); {to} (a
# transfer's destination); {unit} (a unit-administrator application's unit); {claim} (an
# equivalence claim's year and credits, in brackets) and {granted} (the credits granted).
STATUS_ARCHIVE_NO = "会计档案号：{archive_no}。"
STATUS_TO_UNKNOWN = "新的管理地区"
STATUS_UNIT_UNKNOWN = "所申请单位"
STATUS_GRANTED_UNKNOWN = "认定的学分已计入您的继续教育记录"
# A transfer in (区外调入) holds the filled record in state "transferring" while the destination decides.
STATUS_TRANSFERRING = "您的区外调入申请已于 {submitted} 提交，正在由{to}财政局审核；审核通过后即建立您的会计档案。"
STATUS = {
    "collection": {
        "draft": "您的信息采集尚未提交（草稿）。请进入小程序补全信息后提交审核。",
        "submitted": "您的信息采集已于 {submitted} 提交，正在审核中，请耐心等待。审核结果会通过小程序通知您。",
        "approved": "您的信息采集已审核通过（{decided}）。{archive}",
        "rejected": "您的信息采集未通过审核（{decided}），原因：{reason}。请进入小程序按要求修改后重新提交。",
        "transferring": STATUS_TRANSFERRING,
    },
    "change": {
        "ordered": "财政局抽查您的档案后要求更正：{reason}。请进入小程序“信息变更”提交更正。",
        "submitted": "您的信息变更申请已于 {submitted} 提交，正在审核中；审核通过前档案保持原样。",
        "approved": "您最近一次信息变更已于 {decided} 审核通过，档案已更新。",
        "rejected": "您最近一次信息变更未通过审核（{decided}），原因：{reason}。档案保持原样。",
        "withdrawn": "您最近一次信息变更申请已撤回，档案保持原样。",
    },
    "transfer_within": {
        "submitted": "您的区内调转申请（调往{to}）已于 {submitted} 提交，正在等待原管理地区财政局审核。",
        "released": "您的区内调转申请原管理地区已同意调出，正在等待{to}财政局接收；接收前档案仍在原管理地区。",
        "accepted": "您的区内调转已于 {decided} 办理完成，档案已转至{to}。",
        "refused": "您的区内调转申请（调往{to}）原管理地区不同意调出（{decided}），原因：{reason}。档案仍在原管理地区。",
        "declined": "您的区内调转申请{to}财政局不同意接收（{decided}），原因：{reason}。档案仍在原管理地区。",
        "withdrawn": "您最近一次区内调转申请已撤回，档案仍在原管理地区。",
    },
    "transfer_out": {
        "submitted": "您的调出区外申请（调往{to}）已于 {submitted} 提交，正在等待原管理地区财政局审核。",
        "approved": "您的档案已于 {decided} 调出（调往{to}），不能再修改。请在小程序中下载《调转信息表》，到新的管理地区办理调入。",
        "rejected": "您的调出区外申请未通过审核（{decided}），原因：{reason}。档案仍在原管理地区。",
        "withdrawn": "您最近一次调出区外申请已撤回，档案仍在原管理地区。",
    },
    "transfer_in": {
        "submitted": STATUS_TRANSFERRING,
        "accepted": "您的区外调入已于 {decided} 办理完成，档案由{to}财政局管理。",
        "refused": "您的区外调入申请未通过审核（{decided}），原因：{reason}。已填写的信息仍然保留，请进入小程序按要求补充材料后重新申请。",
        "withdrawn": "您的区外调入申请已撤回，已填写的信息仍然保留在小程序中。",
    },
    # said to the account that applied (the new WeChat account): once approved, the archive is its own
    "recovery": {
        "submitted": "您的账号找回申请已于 {submitted} 提交，正在由档案所在区财政局核实身份；通过后档案将转到当前微信账号。",
        "approved": "您的账号找回已于 {decided} 审核通过，档案已转到当前微信账号。",
        "rejected": "您的账号找回申请未通过（{decided}），原因：{reason}。档案没有转到当前微信账号。",
        "withdrawn": "您最近一次账号找回申请已撤回，档案没有转到当前微信账号。",
    },
    "unit_admin": {
        "submitted": "您申请成为{unit}的单位管理员，已于 {submitted} 提交，正在等待单位注册所在区财政局认证。",
        "verified": "您已于 {decided} 通过认证，是{unit}的单位管理员，可在小程序“单位管理”中办理本单位事项。",
        "rejected": "您申请成为{unit}的单位管理员未通过认证（{decided}），原因：{reason}。",
        "withdrawn": "您成为{unit}单位管理员的申请已撤回。",
        "revoked": "您作为{unit}单位管理员的身份已于 {decided} 被撤销，原因：{reason}。",
    },
    "ce_claim": {
        "submitted": "您的视同继续教育申请{claim}已于 {submitted} 提交，正在由档案所在区财政局审核。",
        "approved": "您的视同继续教育申请{claim}已于 {decided} 通过认定：{granted}。",
        "rejected": "您的视同继续教育申请{claim}未获认定（{decided}），原因：{reason}。",
        "withdrawn": "您最近一次视同继续教育申请{claim}已撤回。",
    },
}
STATUS_CLAIMS_OPEN = "另有{more}项视同继续教育申请正在审核。"
STATUS_MORE = "更多办理情况请进入小程序查看。"  # in place of the last items of a reply too long for one message

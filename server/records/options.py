"""Closed code lists (enums) of the accountant record, with Chinese labels."""

from __future__ import annotations

import re

from .identifiers import TRAVEL_PERMIT_DOCUMENTS

Option = dict[str, str]

# The national platform's posts (会计专业职务): administrative ones (会计行政职务) kept apart.
POST_GROUPS = {"administrative": "会计行政职务", "professional": "会计专业岗位"}


def _opts(pairs: list[tuple[str, str]]) -> list[Option]:
    """Turn (code, label) pairs into option dicts."""
    return [{"code": code, "label": label} for code, label in pairs]


GENDERS = _opts([("male", "男"), ("female", "女")])

ID_TYPES = _opts(
    [
        ("resident_id", "居民身份证"),
        ("residence_permit", "港澳台居民居住证"),
        ("passport", "护照"),
        ("hk_macao_permit", "港澳居民来往内地通行证"),
        ("taiwan_permit", "台湾居民来往大陆通行证"),
    ]
)

EDUCATION_LEVELS = _opts(
    [
        ("junior_high", "初中及以下"),
        ("high_school", "高中"),
        ("secondary_vocational", "中专/中技/职高"),
        ("associate", "大学专科"),
        ("bachelor", "大学本科"),
        ("master", "硕士研究生"),
        ("doctor", "博士研究生"),
    ]
)

DEGREES = _opts(
    [
        ("none", "无学位"),
        ("bachelor", "学士"),
        ("master", "硕士"),
        ("doctor", "博士"),
    ]
)

QUALIFICATION_LEVELS = _opts(
    [
        ("none", "无"),
        ("junior", "初级（助理会计师）"),
        ("intermediate", "中级（会计师）"),
        ("senior", "高级（高级会计师）"),
        ("full_senior", "正高级（正高级会计师）"),
    ]
)

OBTAINED_BY = _opts([("exam", "考试"), ("review", "评审"), ("exam_review", "考评结合")])

STUDY_MODES = _opts([("full_time", "全日制"), ("part_time", "非全日制")])

UNIT_NATURES = _opts(
    [
        ("enterprise", "企业"),
        ("government_agency", "行政机关"),
        ("public_institution", "事业单位"),
        ("social_organization", "社会团体"),
        ("private_non_enterprise", "民办非企业单位"),
        ("other", "其他"),
    ]
)

# GB/T 4754-2017 industry sections (门类).
INDUSTRIES = _opts(
    [
        ("A", "农、林、牧、渔业"),
        ("B", "采矿业"),
        ("C", "制造业"),
        ("D", "电力、热力、燃气及水生产和供应业"),
        ("E", "建筑业"),
        ("F", "批发和零售业"),
        ("G", "交通运输、仓储和邮政业"),
        ("H", "住宿和餐饮业"),
        ("I", "信息传输、软件和信息技术服务业"),
        ("J", "金融业"),
        ("K", "房地产业"),
        ("L", "租赁和商务服务业"),
        ("M", "科学研究和技术服务业"),
        ("N", "水利、环境和公共设施管理业"),
        ("O", "居民服务、修理和其他服务业"),
        ("P", "教育"),
        ("Q", "卫生和社会工作"),
        ("R", "文化、体育和娱乐业"),
        ("S", "公共管理、社会保障和社会组织"),
        ("T", "国际组织"),
    ]
)

POSTS: list[Option] = [
    {"code": code, "label": label, "group": group}
    for code, label, group in (
        ("accounting_head", "会计机构负责人（会计主管人员）", "administrative"),
        ("chief_accountant", "总会计师", "administrative"),
        ("cashier", "出纳", "professional"),
        ("asset_accounting", "资产核算", "professional"),
        ("income_expense", "收入费用核算", "professional"),
        ("financial_results", "财务成果核算", "professional"),
        ("financial_reporting", "财务会计报告编制", "professional"),
        ("auditing", "稽核", "professional"),
        ("archives", "会计档案管理", "professional"),
        ("tax_accounting", "税务会计", "professional"),
        ("cost_accounting", "成本核算", "professional"),
        ("fund_accounting", "资金核算", "professional"),
        ("settlement", "往来结算", "professional"),
        ("general_ledger", "总账报表", "professional"),
        ("other", "其他", "professional"),
    )
]
# Post codes of the first versions that are not on the national list, and the code each becomes
# (server/records/migrate_shape.py rewrites stored records).
OLD_POSTS = {"bookkeeping": "other", "payroll": "other", "supervision": "auditing"}

# GB 3304-91 names of ethnic groups of China, in standard order.
ETHNICITIES = _opts(
    [
        ("01", "汉族"),
        ("02", "蒙古族"),
        ("03", "回族"),
        ("04", "藏族"),
        ("05", "维吾尔族"),
        ("06", "苗族"),
        ("07", "彝族"),
        ("08", "壮族"),
        ("09", "布依族"),
        ("10", "朝鲜族"),
        ("11", "满族"),
        ("12", "侗族"),
        ("13", "瑶族"),
        ("14", "白族"),
        ("15", "土家族"),
        ("16", "哈尼族"),
        ("17", "哈萨克族"),
        ("18", "傣族"),
        ("19", "黎族"),
        ("20", "傈僳族"),
        ("21", "佤族"),
        ("22", "畲族"),
        ("23", "高山族"),
        ("24", "拉祜族"),
        ("25", "水族"),
        ("26", "东乡族"),
        ("27", "纳西族"),
        ("28", "景颇族"),
        ("29", "柯尔克孜族"),
        ("30", "土族"),
        ("31", "达斡尔族"),
        ("32", "仫佬族"),
        ("33", "羌族"),
        ("34", "布朗族"),
        ("35", "撒拉族"),
        ("36", "毛南族"),
        ("37", "仡佬族"),
        ("38", "锡伯族"),
        ("39", "阿昌族"),
        ("40", "普米族"),
        ("41", "塔吉克族"),
        ("42", "怒族"),
        ("43", "乌孜别克族"),
        ("44", "俄罗斯族"),
        ("45", "鄂温克族"),
        ("46", "德昂族"),
        ("47", "保安族"),
        ("48", "裕固族"),
        ("49", "京族"),
        ("50", "塔塔尔族"),
        ("51", "独龙族"),
        ("52", "鄂伦春族"),
        ("53", "赫哲族"),
        ("54", "门巴族"),
        ("55", "珞巴族"),
        ("56", "基诺族"),
        ("97", "其他"),
        ("98", "外国血统中国籍人士"),
    ]
)

# ISO 3166-1 alpha-3 codes with GB/T 2659 style Chinese names (CHN first).
NATIONALITIES = _opts(
    [
        ("CHN", "中国"),
        ("HKG", "中国香港"),
        ("MAC", "中国澳门"),
        ("TWN", "中国台湾"),
        ("AFG", "阿富汗"),
        ("ARE", "阿联酋"),
        ("ARG", "阿根廷"),
        ("AUS", "澳大利亚"),
        ("AUT", "奥地利"),
        ("BEL", "比利时"),
        ("BGD", "孟加拉国"),
        ("BLR", "白俄罗斯"),
        ("BRA", "巴西"),
        ("BRN", "文莱"),
        ("CAN", "加拿大"),
        ("CHE", "瑞士"),
        ("CHL", "智利"),
        ("CMR", "喀麦隆"),
        ("COL", "哥伦比亚"),
        ("CUB", "古巴"),
        ("CZE", "捷克"),
        ("DEU", "德国"),
        ("DNK", "丹麦"),
        ("DZA", "阿尔及利亚"),
        ("EGY", "埃及"),
        ("ESP", "西班牙"),
        ("ETH", "埃塞俄比亚"),
        ("FIN", "芬兰"),
        ("FRA", "法国"),
        ("GBR", "英国"),
        ("GHA", "加纳"),
        ("GRC", "希腊"),
        ("HUN", "匈牙利"),
        ("IDN", "印度尼西亚"),
        ("IND", "印度"),
        ("IRL", "爱尔兰"),
        ("IRN", "伊朗"),
        ("IRQ", "伊拉克"),
        ("ISL", "冰岛"),
        ("ISR", "以色列"),
        ("ITA", "意大利"),
        ("JOR", "约旦"),
        ("JPN", "日本"),
        ("KAZ", "哈萨克斯坦"),
        ("KEN", "肯尼亚"),
        ("KGZ", "吉尔吉斯斯坦"),
        ("KHM", "柬埔寨"),
        ("KOR", "韩国"),
        ("KWT", "科威特"),
        ("LAO", "老挝"),
        ("LKA", "斯里兰卡"),
        ("LUX", "卢森堡"),
        ("MAR", "摩洛哥"),
        ("MDV", "马尔代夫"),
        ("MEX", "墨西哥"),
        ("MMR", "缅甸"),
        ("MNG", "蒙古"),
        ("MUS", "毛里求斯"),
        ("MYS", "马来西亚"),
        ("NGA", "尼日利亚"),
        ("NLD", "荷兰"),
        ("NOR", "挪威"),
        ("NPL", "尼泊尔"),
        ("NZL", "新西兰"),
        ("OMN", "阿曼"),
        ("PAK", "巴基斯坦"),
        ("PER", "秘鲁"),
        ("PHL", "菲律宾"),
        ("POL", "波兰"),
        ("PRK", "朝鲜"),
        ("PRT", "葡萄牙"),
        ("QAT", "卡塔尔"),
        ("ROU", "罗马尼亚"),
        ("RUS", "俄罗斯"),
        ("SAU", "沙特阿拉伯"),
        ("SGP", "新加坡"),
        ("SRB", "塞尔维亚"),
        ("SWE", "瑞典"),
        ("THA", "泰国"),
        ("TJK", "塔吉克斯坦"),
        ("TKM", "土库曼斯坦"),
        ("TUR", "土耳其"),
        ("TZA", "坦桑尼亚"),
        ("UKR", "乌克兰"),
        ("USA", "美国"),
        ("UZB", "乌兹别克斯坦"),
        ("VEN", "委内瑞拉"),
        ("VNM", "越南"),
        ("ZAF", "南非"),
        ("ZMB", "赞比亚"),
        ("ZWE", "津巴布韦"),
    ]
)

# Kinds of uploaded documents (images/PDF) a record can carry.
DOCUMENT_KINDS: dict[str, str] = {
    "id_front": "身份证人像面",
    "id_back": "身份证国徽面",
    "passport_info": "护照个人信息页",
    "passport_validity": "护照有效期页",
    "permit_front": "港澳台居民居住证人像面",
    "permit_back": "港澳台居民居住证国徽面",
    **{kind: label for pairs in TRAVEL_PERMIT_DOCUMENTS.values() for kind, label in pairs},
    "diploma": "学历（学位）证书",
    "qualification_certificate": "会计专业技术资格证书",
    "work_proof": "工作证明",
    "other_proof": "其他证明材料",
}

OPTIONS: dict[str, list[Option]] = {
    "genders": GENDERS,
    "id_types": ID_TYPES,
    "education_levels": EDUCATION_LEVELS,
    "degrees": DEGREES,
    "qualification_levels": QUALIFICATION_LEVELS,
    "obtained_by": OBTAINED_BY,
    "study_modes": STUDY_MODES,
    "unit_natures": UNIT_NATURES,
    "industries": INDUSTRIES,
    "posts": POSTS,
    "post_groups": _opts(list(POST_GROUPS.items())),
    "ethnicities": ETHNICITIES,
    "nationalities": NATIONALITIES,
    "document_kinds": _opts(list(DOCUMENT_KINDS.items())),
}


# The proof document of each list's entries, stored in `documents` under "<kind>_<entry id>".
ENTRY_DOCUMENTS: dict[str, str] = {
    "educations": "diploma",
    "qualifications": "qualification_certificate",
    "work_history": "work_proof",
}
ENTRY_ID_RE = re.compile(r"^[a-z]{8}$")  # server-assigned entry ids: 8 lowercase letters


def document_base(key: str) -> str | None:
    """The document kind of a stored document key ("diploma" or "diploma_<entry id>"), or None."""
    if key in DOCUMENT_KINDS:
        return key
    base, _, entry = key.rpartition("_")
    return base if base in ENTRY_DOCUMENTS.values() and ENTRY_ID_RE.match(entry) else None


def document_label(key: str) -> str:
    """The Chinese label of a stored document key (the key itself when unknown)."""
    base = document_base(key)
    return DOCUMENT_KINDS[base] if base else key


def option_codes(list_name: str) -> tuple[str, ...]:
    """Codes of one closed list, in display order."""
    return tuple(o["code"] for o in OPTIONS[list_name])


def option_label(list_name: str, code: str) -> str | None:
    """Chinese label of a code in a closed list, or None when unknown."""
    for o in OPTIONS[list_name]:
        if o["code"] == code:
            return o["label"]
    return None

"""Every setting of the service, read once from the environment and validated.

Each field below is one environment variable of the same name (upper-cased). The README
table lists them; `Settings.from_env()` refuses a bad value with one line naming it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-secret-key-change-me-in-production"
DEMO_WEBHOOK_TOKEN = "kjcj-demo-token"
# Secrets production refuses when empty or a placeholder (a default, a demo value or an obvious stand-in).
PRODUCTION_SECRETS = ("secret_key", "miniprogram_secret", "official_account_token")
PLACEHOLDERS = {DEV_SECRET_KEY, DEMO_WEBHOOK_TOKEN, "demo-mp-secret", "demo-oa-secret"}
_PLACEHOLDER_RE = re.compile(r"change.?me|placeholder|example|your.?(secret|token|key)|^(demo|dev|test)\b", re.I)
CACHED_PDF_FONT = Path("fonts") / "BabelStoneHan.ttf"  # under CACHE_DIR; `python -m server.fonts` fetches it
SYSTEM_PDF_FONT = Path("/usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf")  # Debian's fonts-babelstone-han


class SettingsError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Typed configuration; build it with `Settings.from_env()`."""

    environment: str = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    proxy_headers: bool = False
    mongodb_uri: str = ""
    mongodb_db: str = "kjcj"
    data_dir: str = ".data"
    cache_dir: str = ""
    pdf_fonts: str = ""  # comma-separated font files tried in order; empty = the cached BabelStone Han, then Debian's
    secret_key: str = DEV_SECRET_KEY
    log_level: str = "INFO"
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_api_timeout: float = 5.0
    miniprogram_appid: str = ""
    miniprogram_secret: str = ""
    official_account_appid: str = ""
    official_account_secret: str = ""
    official_account_token: str = DEMO_WEBHOOK_TOKEN
    official_account_aes_key: str = ""
    official_account_aes_key_previous: str = ""
    official_account_message_mode: str = ""  # plaintext | compatible | safe; empty = safe when an AES key is set
    districts_file: str = str(ROOT / "config" / "districts.json")
    session_days: int = 7
    upload_max_mb: int = 10
    photo_width_px: int = 295
    photo_height_px: int = 413
    photo_dpi: int = 300
    photo_min_kb: int = 10
    photo_max_kb: int = 20
    photo_backgrounds: str = "white,blue"
    photo_min_source_width: int = 295
    photo_min_source_height: int = 413
    photo_workers: int = 2
    photo_queue: int = 8
    # documents handed off to the national platform: one JPEG per document (server/documents/handoff.py)
    handoff_min_kb: int = 20
    handoff_max_kb: int = 500
    handoff_max_pages: int = 20  # pages merged into one image at most (a longer PDF is refused, unread)
    handoff_max_page_pixels: int = 20_000_000  # one image page as decoded (a JPEG reduced first)
    handoff_max_pixels: int = 8_000_000  # the merged image before it is fitted to the size window
    document_max_pages: int = 10  # files one document may hold: the first upload and its added pages
    staff_cookie_secure: bool = False
    staff_session_hours: int = 12
    staff_login_limit: int = 5  # failed logins per username and address before a lock (usual address) or slowing down
    staff_login_lock_minutes: int = 15  # a lock at a usual address; counters restart after this long without attempts
    staff_login_address_limit: int = 20  # failed staff logins per client address (any username) before slowing down
    staff_login_max_delay_seconds: int = 300  # longest wait between attempts once slowed down (doubling from 1 s)
    subscribe_template_id: str = "demo-review-result-template"
    subscribe_field_map: str = "name=thing1,result=phrase2,reason=thing3,time=time4"
    subscribe_page: str = "pages/record/index"
    menu_miniprogram_page: str = "pages/index/index"  # the official-account menu's mini-program page
    menu_fallback_url: str = "https://mp.weixin.qq.com/"  # opened by WeChat clients without mini-programs
    reject_reasons: str = "照片不合格,证件不清晰,信息不一致,材料不全,学历信息有误,工作单位信息有误"
    hotline: str = "0592-0000000"
    faq_reload_seconds: float = 20.0  # how often each process checks for staff FAQ edits
    demo_staff: bool = True
    # no transfer (调转) may be applied for on these days, China time: "2027-03-01..2027-04-30,..."
    transfer_freeze: str = ""
    public_query_per_minute: int = 30  # public look-ups (transfer-sheet checks) per client address, per process
    notify_retry_seconds: float = 30.0  # first retry delay of a failed subscribe message (doubles, max 1 h)
    id_conflicts_per_account_hour: int = 5  # ID numbers found registered to someone else, per account and hour
    id_conflicts_per_address_hour: int = 20  # the same per client address (both counted in the database)
    file_sweep_minutes: int = 60  # how often one of the processes sweeps orphaned files
    orphan_file_minutes: int = 60  # an unreferenced file older than this is removed (longer than any upload)
    processes: int = 1  # server processes on the one port (`python -m server --processes N`), one database
    legacy_import_max_mb: int = 20  # largest register file (.xlsx/.csv) staff may upload
    legacy_import_max_rows: int = 200_000  # most data rows in one register file
    # continuing-education reminders: months of the year ("10" = on the 1st, "10-15" = from the 15th), China time;
    # "off" = none. One reminder per person with missing credits and month (server/duties/reminders.py)
    ce_reminder_schedule: str = "10,11,12"
    # annual assessments (年度考评, server/units/assessments.py): the first year a unit may record and whose
    # absence counts toward 非在岗 (earlier years are never held against anyone); rows per uploaded sheet
    assessment_first_year: int = 2025
    assessment_sheet_max_rows: int = 10_000
    ce_required_credits: int = 90  # continuing-education credits required a year (会计专业技术人员继续教育规定)
    ce_professional_share: str = "2/3"  # of which professional subjects at least this share ("2/3" or "0.67")
    ce_standing_hour: int = 2  # the nightly standing run (异动 / 非在岗), hour of the day in China time

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Read every field from `environ` (default: os.environ); overrides win."""
        env = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f.name.upper())
            if f.name in overrides:
                values[f.name] = overrides[f.name]
            elif raw is not None and raw != "":
                values[f.name] = _convert(f.name.upper(), raw, f.type)
        settings = cls(**values)
        settings.validate()
        return settings

    def replace(self, **changes) -> Settings:
        """A copy with some fields changed, validated again."""
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        """Refuse values the service cannot run with, naming the variable."""
        if self.environment not in ("development", "production", "test"):
            raise SettingsError("ENVIRONMENT must be development, production or test")
        if not 0 <= self.port < 65536:
            raise SettingsError(f"PORT must be between 0 (any free port) and 65535, got {self.port}")
        if self.mongodb_uri and not re.match(r"^mongodb(\+srv)?://", self.mongodb_uri):
            raise SettingsError("MONGODB_URI must start with mongodb:// or mongodb+srv://")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,60}", self.mongodb_db):
            raise SettingsError("MONGODB_DB must be 1-60 letters, digits, _ or -")
        if len(self.secret_key) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters")
        if self.environment == "production":
            if self.secret_key == DEV_SECRET_KEY:
                raise SettingsError("SECRET_KEY must be set in production")
            if not self.miniprogram_appid:
                raise SettingsError("MINIPROGRAM_APPID must be set in production")
            if not self.mongodb_uri:
                raise SettingsError(
                    "MONGODB_URI must be set in production (the embedded local database is for development)"
                )
            secrets = PRODUCTION_SECRETS + (("official_account_secret",) if self.official_account_appid else ())
            for name in secrets:
                if is_placeholder(getattr(self, name)):
                    raise SettingsError(f"{name.upper()} must be set to a real secret in production, not a placeholder")
        if not re.match(r"^https?://", self.wechat_api_base):
            raise SettingsError("WECHAT_API_BASE must be an http(s) URL")
        for name in ("official_account_aes_key", "official_account_aes_key_previous"):
            key = getattr(self, name)
            if key and not re.fullmatch(r"[A-Za-z0-9]{43}", key):
                raise SettingsError(f"{name.upper()} must be 43 letters or digits (WeChat EncodingAESKey)")
        if self.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise SettingsError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        for name in (
            "session_days",
            "upload_max_mb",
            "photo_workers",
            "photo_queue",
            "photo_width_px",
            "photo_height_px",
            "photo_dpi",
            "staff_session_hours",
            "staff_login_limit",
            "staff_login_lock_minutes",
            "staff_login_address_limit",
            "staff_login_max_delay_seconds",
            "public_query_per_minute",
            "id_conflicts_per_account_hour",
            "id_conflicts_per_address_hour",
            "file_sweep_minutes",
            "orphan_file_minutes",
            "processes",
            "legacy_import_max_mb",
            "legacy_import_max_rows",
            "assessment_sheet_max_rows",
        ):
            if getattr(self, name) <= 0:
                raise SettingsError(f"{name.upper()} must be a positive whole number")
        if not 2000 <= self.assessment_first_year <= 2100:
            raise SettingsError("ASSESSMENT_FIRST_YEAR must be a year between 2000 and 2100")
        if not 0 < self.photo_min_kb < self.photo_max_kb:
            raise SettingsError("PHOTO_MIN_KB must be positive and below PHOTO_MAX_KB")
        if not 0 < self.handoff_min_kb < self.handoff_max_kb <= 10_240:
            raise SettingsError("HANDOFF_MIN_KB must be positive and below HANDOFF_MAX_KB (at most 10240)")
        if not 1 <= self.handoff_max_pages <= 100 or not 1 <= self.document_max_pages <= 50:
            raise SettingsError("HANDOFF_MAX_PAGES must be 1-100 and DOCUMENT_MAX_PAGES 1-50")
        # two canvases of 4 bytes a pixel must fit one cleaning job (server/documents/budget.py: 128 MB)
        if not 1_000_000 <= self.handoff_max_pixels <= 12_000_000:
            raise SettingsError("HANDOFF_MAX_PIXELS must be between 1000000 and 12000000")
        if not 1_000_000 <= self.handoff_max_page_pixels <= 25_000_000:
            raise SettingsError("HANDOFF_MAX_PAGE_PIXELS must be between 1000000 and 25000000")
        if not Path(self.districts_file).is_file():
            raise SettingsError(f"DISTRICTS_FILE does not exist: {self.districts_file}")
        for part in filter(None, (p.strip() for p in self.transfer_freeze.split(","))):
            start, _, end = part.partition("..")
            try:
                if dt.date.fromisoformat(end.strip()) < dt.date.fromisoformat(start.strip()):
                    raise ValueError(part)
            except ValueError:
                raise SettingsError(
                    "TRANSFER_FREEZE must look like 2027-03-01..2027-04-30,... (start <= end)"
                ) from None
        if not 1 <= self.ce_required_credits <= 1000:
            raise SettingsError("CE_REQUIRED_CREDITS must be a whole number from 1 to 1000")
        try:
            share = Fraction(self.ce_professional_share.strip())
        except (ValueError, ZeroDivisionError):
            share = Fraction(-1)
        if not 0 <= share <= 1:
            raise SettingsError("CE_PROFESSIONAL_SHARE must be a fraction like 2/3 or a number from 0 to 1")
        if not 0 <= self.ce_standing_hour <= 23:
            raise SettingsError("CE_STANDING_HOUR must be an hour from 0 to 23 (China time)")
        try:
            _ = self.ce_reminder_days
        except ValueError as exc:
            raise SettingsError(
                f"CE_REMINDER_SCHEDULE must look like 10,11,12 or 10-15,11-15 (months 1-12, days 1-28): {exc}"
            ) from None
        try:
            _ = self.subscribe_fields
        except ValueError:
            raise SettingsError("SUBSCRIBE_FIELD_MAP must look like name=thing1,result=phrase2,...") from None

    @property
    def data_path(self) -> Path:
        """DATA_DIR resolved against the project root."""
        p = Path(self.data_dir)
        return p if p.is_absolute() else ROOT / p

    @property
    def cache_path(self) -> Path:
        """Where built tools (FerretDB) are kept between runs."""
        if self.cache_dir:
            return Path(self.cache_dir)
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "kjcj"

    @property
    def pdf_font_paths(self) -> list[Path]:
        """PDF_FONTS as paths (relative ones against the project root), tried in order by the PDF renderer."""
        if not self.pdf_fonts.strip():
            return [self.cache_path / CACHED_PDF_FONT, SYSTEM_PDF_FONT]
        paths = [Path(p.strip()).expanduser() for p in self.pdf_fonts.split(",") if p.strip()]
        return [p if p.is_absolute() else ROOT / p for p in paths]

    @property
    def subscribe_fields(self) -> dict[str, str]:
        """SUBSCRIBE_FIELD_MAP as {our name: template field key}."""
        pairs = [p.split("=", 1) for p in self.subscribe_field_map.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("bad map")
        return {k.strip(): v.strip() for k, v in pairs}

    @property
    def ce_reminder_days(self) -> tuple[tuple[int, int], ...]:
        """CE_REMINDER_SCHEDULE as ((month, first day), ...) in month order; ValueError when malformed."""
        out: dict[int, int] = {}
        if self.ce_reminder_schedule.strip().lower() == "off":
            return ()
        for part in filter(None, (p.strip() for p in self.ce_reminder_schedule.split(","))):
            month, _, day = part.partition("-")
            if not month.strip().isdigit() or (day and not day.strip().isdigit()):
                raise ValueError(f"{part!r} is not a month or month-day")
            m, d = int(month), int(day) if day else 1
            if not 1 <= m <= 12 or not 1 <= d <= 28 or m in out:
                raise ValueError(f"{part!r}: month 1-12 once each, day 1-28")
            out[m] = d
        return tuple(sorted(out.items()))

    @property
    def reject_reason_list(self) -> list[str]:
        """REJECT_REASONS as a list of reason templates."""
        return [r.strip() for r in self.reject_reasons.split(",") if r.strip()]

    @property
    def upload_max_bytes(self) -> int:
        """UPLOAD_MAX_MB in bytes."""
        return self.upload_max_mb * 1024 * 1024

    @property
    def legacy_import_max_bytes(self) -> int:
        """LEGACY_IMPORT_MAX_MB in bytes."""
        return self.legacy_import_max_mb * 1024 * 1024

    @property
    def uses_fake_wechat(self) -> bool:
        """No real mini-program configured: the local run starts the fake WeChat API."""
        return not self.miniprogram_appid


def is_placeholder(value: str) -> bool:
    """True for an empty secret, a shipped default or demo value, or an obvious stand-in."""
    v = (value or "").strip()
    return not v or v in PLACEHOLDERS or bool(_PLACEHOLDER_RE.search(v)) or len(set(v)) < 4


def _convert(name: str, raw: str, typ) -> object:
    """Turn one environment string into the field's type, or fail naming it."""
    typ = {"int": int, "float": float, "bool": bool, "str": str}.get(typ, typ)
    if typ is bool:
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")
    if typ is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if typ is float:
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    return raw

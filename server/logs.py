"""JSON log lines, one per request, with ID and phone numbers, openids, staff searches and webhook signatures masked
(server/masking.py)."""

from __future__ import annotations

import json
import logging
import sys
import time

from server.masking import mask_uri


class JsonFormatter(logging.Formatter):
    """Every record as one JSON object; the message is masked (a URI in it too: `mask_uri`)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_uri(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            out.update(extra)
        if record.exc_info:
            out["exc"] = mask_uri(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def setup_logging(level: str = "INFO") -> None:
    """Send every logger to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("pymongo").setLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)


access_log = logging.getLogger("kjcj.access")


def log_request(handler) -> None:
    """Tornado's `log_function`: one masked JSON line per request (server/masking.py `mask_uri`)."""
    status = handler.get_status()
    level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
    if not access_log.isEnabledFor(level):
        return
    req = handler.request
    fields = {
        "method": req.method,
        "path": mask_uri(req.uri or ""),  # the path and masked parameters, never a whole query string
        "status": status,
        "ms": round(req.request_time() * 1000, 1),
        "ip": req.remote_ip,
    }
    code = getattr(handler, "error_code", None)
    if code:
        fields["code"] = code
    access_log.log(level, "request", extra={"fields": fields})

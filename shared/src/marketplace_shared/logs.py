"""JSON logs on stdout, each line carrying the request id of the work it belongs to."""

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

# Set per request (Flask) and per message (consumer), so events and log lines carry it.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            line["requestId"] = request_id
        for key in ("method", "path", "status", "durationMs", "eventId", "eventType"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    # Replace our own handler if configured twice; leave others (pytest's capture) alone.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h.formatter, JsonFormatter)] + [handler]
    root.setLevel(level)
    logging.getLogger("pika").setLevel(logging.WARNING)
    # The outbox relay handles returned (unroutable) events itself; pika's warning is noise.
    logging.getLogger("pika.adapters.blocking_connection").setLevel(logging.ERROR)

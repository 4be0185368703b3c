"""Secrets never reach a person's screen or a log: user information in anything that looks like a
URI, and the values of the AWS secret variables, are replaced by ***.

Locations with credentials are refused by validation (flows/settings.py) without being quoted;
this is the second line: whatever text is about to be shown (an error line, a Prefect log record
that quotes refused parameters) goes through `redact` first.
"""

from __future__ import annotations

import logging
import os
import re

# scheme:[//]user:password@ (also the one-slash and no-slash typos), and a bare user:password@.
_URI_USER_INFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*:/{0,3})[^\s/@'\"]*@")
_BARE_USER_INFO = re.compile(r"[^\s/@:'\"=]+:[^\s/@'\"]+@")
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def redact(text: str) -> str:
    """text without credentials: user:password@ in URIs and the AWS secret variables' values."""
    if "@" in text:
        text = _BARE_USER_INFO.sub("***@", _URI_USER_INFO.sub(r"\1***@", text))
    for name in _SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= 8:  # a short value would blank out ordinary words
            text = text.replace(value, "***")
    return text


class RedactingFilter(logging.Filter):
    """A logger filter that redacts each record's message (its arguments merged in first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaner = redact(message)
        if cleaner != message:
            record.msg, record.args = cleaner, None
        return True


def install(logger_names: tuple[str, ...] = ("prefect.flows", "prefect.flow_runs", "prefect.task_runs")) -> None:
    """Redact the records of these loggers, whatever handlers (console, Prefect API) they reach:
    Prefect quotes a flow's refused parameters (say a URI with a key in it) when it logs the
    validation error. Idempotent."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())

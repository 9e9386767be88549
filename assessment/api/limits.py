"""The API's rate limit: so many requests per token in a moving window (API_RATE_LIMIT, "600/minute").

Counted per token, not per address: people behind one proxy or NAT do not share a budget, and a token that
loops cannot starve the others. The count runs after `resources.authenticate` (a before_request on the same
blueprint, registered after it: see the import order in api/__init__.py), so it knows the token and a
request without a valid token is refused by that check before it is counted. Over the limit, the request is
a 429 problem with `Retry-After` (seconds), and its operation does not run.

flask-limiter keeps the counts: in Redis when REDIS_URL is set, so every gunicorn worker of every machine
shares one count per token; otherwise in the memory of each process, so with N workers a token may make up
to N times the limit (fine for one process; set REDIS_URL when serving with several). When Redis cannot be
reached the request is let through and the failure logged: the limit protects the service, and refusing
every request while Redis is down would be the outage it is meant to prevent.

ASSESSMENT_API_RATE_LIMIT overrides the limit (any flask-limiter rate: "100/second", "1000 per hour");
"off" or an empty value switches it off. A value that is not a rate stops the start, naming the setting.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, g
from werkzeug.exceptions import TooManyRequests

from .resources import bp

DEFAULT_RATE = "600/minute"
EXTENSION = "assessment.api_rate_limit"


class RateLimit:
    """One application's limit: the parsed rate and flask-limiter's counter (its storage and strategy)."""

    def __init__(self, app: Flask, rate: str):
        from flask_limiter import Limiter
        from limits import parse

        try:
            self.item = parse(rate)
        except ValueError as error:
            raise ValueError(
                f"API_RATE_LIMIT {rate!r} is not a rate such as '600/minute' or '10 per second' ({error})"
            ) from None
        # No limit is declared on the extension itself (no default, application or route limits), so its own
        # app-wide check passes every request; the API's check below counts against its storage.
        self.limiter = Limiter(
            lambda: "",
            app=app,
            storage_uri=app.config.get("REDIS_URL") or "memory://",
            strategy="moving-window",
        )
        # Instances sharing one Redis server keep their counts apart, as their job queues are (JOBS_QUEUE_NAME).
        self.namespace = f"{app.config.get('JOBS_QUEUE_NAME') or 'assessment'}/api"

    def hit(self, key: str) -> int | None:
        """Count one request for `key`; None when it is within the limit, else the seconds until one is free."""
        try:
            if self.limiter.limiter.hit(self.item, self.namespace, key):
                return None
            reset_at, _ = self.limiter.limiter.get_window_stats(self.item, self.namespace, key)
        except Exception:  # noqa: BLE001 (the storage is down: let the request through, see the docstring)
            current_app.logger.warning("The API's rate limit storage cannot be reached; the request is not counted")
            return None
        return max(1, math.ceil(reset_at - time.time()))


def init_limits(app: Flask) -> None:
    """Read API_RATE_LIMIT (default 600/minute) and make this application's counter, or none when it is off."""
    rate = str(app.config.setdefault("API_RATE_LIMIT", DEFAULT_RATE) or "").strip()
    if rate.lower() not in ("", "off", "0", "none"):
        app.extensions[EXTENSION] = RateLimit(app, rate)


@bp.before_request
def count_request():
    """Count the request against its token's limit; over it, a 429 problem that says when to try again."""
    limit: RateLimit | None = current_app.extensions.get(EXTENSION)
    token = g.get("api_token")
    if limit is None or token is None:
        return
    wait = limit.hit(f"token {token.id}")
    if wait is not None:
        raise TooManyRequests(
            description=f"This token has made more than {limit.item} requests; try again in {wait} s.",
            retry_after=wait,
        )

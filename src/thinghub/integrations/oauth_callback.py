"""``GET /_thinghub/oauth/callback``: where the vendor sends the end user's browser back.

- unknown, already used or superseded ``state`` → HTTP 400 and an HTML page saying so; no
  association changes (there is none we may trust the request to speak for);
- otherwise the flow runs (`association_activation.complete_oauth`) and the browser is sent
  (302) to the destination's ``oAuthCompleteRedirectUrl``, on failure with ``error`` and
  ``error_description`` added to its query (spec 3.3); without such a URL it gets an HTML
  page (200 on success, 400 on failure).

Pages are never cached and send no Referer onwards (the URL held a one-time code).
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from thinghub.integrations import oauth_state
from thinghub.integrations.association_activation import Outcome, complete_oauth

if TYPE_CHECKING:
    from thinghub.hub import HttpHandler, HttpRequest, HttpResponse, Hub

log = logging.getLogger("thinghub.oauth")

# The end user's browser carries the description to the customer's page: keep it short.
_MAX_DESCRIPTION = 300
_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def callback_page(hub: Hub) -> HttpHandler:
    async def callback(request: HttpRequest) -> HttpResponse:
        query = {name: values[0] for name, values in request.query.items() if values}
        state = query.get("state", "")
        if not state:
            return _page(400, "Linking failed", "The request carries no state parameter.")
        flow = oauth_state.consume(hub.store, state)
        if flow is None:
            return _page(
                400,
                "Linking failed",
                "This authorization link is unknown, was already used, or has expired. "
                "Start linking your account again.",
            )
        outcome = await complete_oauth(
            hub, flow, query.get("code"), query.get("error"), query.get("error_description")
        )
        return _answer(outcome)

    return callback


def _response(status: int, body: bytes, headers: dict[str, str]) -> HttpResponse:
    # Imported here: thinghub.hub imports every service (this module too) while it loads.
    from thinghub.hub import HttpResponse

    return HttpResponse(status, body, headers)


def _answer(outcome: Outcome) -> HttpResponse:
    if not outcome.known:
        return _page(400, "Linking failed", outcome.description or "Start linking again.")
    if outcome.redirect_url:
        location = outcome.redirect_url
        if not outcome.ok:
            location = _with_query(
                location,
                {
                    "error": outcome.error or "server_error",
                    "error_description": (outcome.description or "")[:_MAX_DESCRIPTION],
                },
            )
        # Percent-encode whatever is not ASCII: header values must be.
        location = quote(location, safe=":/?#[]@!$&'()*+,;=%~")
        return _response(302, b"", {**_HEADERS, "Location": location})
    if outcome.ok:
        return _page(200, "Account linked", "Your account is linked. You may close this window.")
    return _page(
        400, "Linking failed", f"{outcome.description or 'Linking failed'} ({outcome.error})."
    )


def _with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query (replacing parameters of the same names)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page(status: int, title: str, message: str) -> HttpResponse:
    body = (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n<p>{html.escape(message)}</p></body></html>\n"
    )
    headers = {**_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    return _response(status, body.encode("utf-8"), headers)

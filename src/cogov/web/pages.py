"""What every page handler shares: the visitor's language, who is signed in, the CSRF
token for the page's forms, rendering, and the mapping of errors to pages.

Routes take ``page: Page`` (a dependency). Staff routes add a role dependency from
:mod:`cogov.api.auth`; for signed-in users those already check the CSRF token on
every state-changing request. Forms a visitor may post without signing in (the
citizen's request, appeal and rating, and sign-in itself) use ``AnonymousFormGuard``,
the double-submit check. Pages that only read (the ledger explorer, the audit
dashboard) take ``ReadingPageDep``, ``require_roles(..., reading=True)`` and a
``SignedInReadSession`` (see :mod:`cogov.api.auth`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from cogov.api.auth import (
    OptionalPrincipal,
    OptionalPrincipalBeforeReading,
    Principal,
    csrf_cookie_token,
    verify_anonymous_csrf,
)
from cogov.api.errors import Problem
from cogov.core.types import Role
from cogov.web.i18n import LANGUAGE_COOKIE, Language, negotiate, translations
from cogov.web.templating import environment

# Pages are built from this origin's files only; inline SVG charts use presentation
# attributes, never style attributes, so no 'unsafe-inline' is needed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # A citizen's secret link must never leak to another site through Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass
class Page:
    """One page being answered: language, visitor, CSRF token and rendering."""

    request: Request
    language: Language
    principal: Principal | None
    csrf_token: str
    cookies_to_set: list[tuple[bytes, bytes]] = field(default_factory=list)

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % variables if variables else text

    def holds(self, *roles: Role) -> bool:
        return self.principal is not None and self.principal.holds(*roles)

    def render(
        self,
        template: str,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        env = environment(self.language)
        body = env.get_template(template).render(
            page=self,
            principal=self.principal,
            csrf_token=self.csrf_token,
            current_path=self.request.url.path,
            Role=Role,
            **context,
        )
        response = HTMLResponse(body, status_code=status_code, headers=dict(headers or {}))
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """After a successful POST: 303 so the browser follows with a GET."""
        response = RedirectResponse(url, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("Content-Language", self.language.tag)
        response.headers.raw.extend(self.cookies_to_set)


def _new_page(request: Request, principal: Principal | None) -> Page:
    language = negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    cookie_jar = Response()
    if principal is not None and principal.csrf_token is not None:
        token = principal.csrf_token
    else:
        token = csrf_cookie_token(request, cookie_jar)
    cookies = [(key, value) for key, value in cookie_jar.headers.raw if key == b"set-cookie"]
    return Page(
        request=request,
        language=language,
        principal=principal,
        csrf_token=token,
        cookies_to_set=cookies,
    )


def _page(request: Request, principal: OptionalPrincipal) -> Page:
    return _new_page(request, principal)


def _page_before_reading(request: Request, principal: OptionalPrincipalBeforeReading) -> Page:
    return _new_page(request, principal)


PageDep = Annotated[Page, Depends(_page)]
# A page that only reads: with require_roles(..., reading=True) and a SignedInReadSession.
ReadingPageDep = Annotated[Page, Depends(_page_before_reading)]


async def _anonymous_form_guard(request: Request, principal: OptionalPrincipal) -> None:
    """A form anyone may post: a signed-in user's session token was already checked
    (by ``csrf_protect``); a visitor's form must carry the double-submit token."""
    if principal is None or principal.method != "session":
        await verify_anonymous_csrf(request)


AnonymousFormGuard = Depends(_anonymous_form_guard)


def sign_in_url(next_path: str) -> str:
    return f"/staff/sign-in?next={quote(next_path, safe='/')}"


def error_page(request: Request, problem: Problem) -> Response:
    """Errors on web paths as pages in the visitor's language. A visitor who is not
    signed in and asks for a staff page is sent to sign in, then back."""
    language = negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    if problem.status == 401 and request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(sign_in_url(target), status_code=303)
    else:
        page = Page(request=request, language=language, principal=None, csrf_token="")
        response = page.render(
            "error.html",
            status_code=problem.status,
            headers=problem.headers,
            problem=problem,
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def safe_next(target: str | None) -> str:
    """A place to return to after sign-in or a language switch: a path on this site
    only, so a crafted link can never bounce a visitor to another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(ord(char) < 0x20 for char in target):
        return "/"
    return target

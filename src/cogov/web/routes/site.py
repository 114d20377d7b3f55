"""The frame of the site: home page, language switch, static files, staff sign-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cogov.api.auth import sign_in, sign_out
from cogov.api.deps import DbSession, get_settings
from cogov.api.ratelimit import public_post_limit
from cogov.core.errors import NotFound
from cogov.identity.access.errors import InvalidCredentials
from cogov.web.i18n import LANGUAGE_COOKIE, language_for_tag
from cogov.web.pages import AnonymousFormGuard, PageDep, safe_next
from cogov.web.templating import STATIC_DIR, static_version

router = APIRouter()

# The only files served from /static: listed, so nothing else in the package leaks.
STATIC_FILES = {
    "cogov.css": "text/css; charset=utf-8",
    "htmx.min.js": "text/javascript; charset=utf-8",
}
ONE_YEAR = 365 * 24 * 3600


@router.get("/")
def home(page: PageDep) -> Response:
    return page.render("home.html")


@router.get("/language/{tag}")
def switch_language(
    tag: str, request: Request, next_path: Annotated[str, Query(alias="next")] = "/"
) -> Response:
    """Remember the chosen language for a year and go back to the page it was chosen on."""
    language = language_for_tag(tag)
    if language is None:
        raise NotFound("language", tag)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language.tag,
        max_age=ONE_YEAR,
        samesite="lax",
        secure=get_settings(request).session_cookie_secure,
        path="/",
    )
    return response


@router.get("/static/{name}")
def static_file(name: str, v: str | None = None) -> Response:
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound("file", name)
    # A URL carrying the file's current hash never changes, so it may be cached for good.
    cache = f"public, max-age={ONE_YEAR}, immutable" if v == static_version(name) else "no-cache"
    return FileResponse(
        STATIC_DIR / name,
        media_type=media_type,
        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"},
    )


@router.get("/staff/sign-in")
def sign_in_form(
    page: PageDep, next_path: Annotated[str, Query(alias="next")] = "/staff"
) -> Response:
    if page.principal is not None:
        return page.redirect(safe_next(next_path))
    return page.render("staff/sign_in.html", next_path=safe_next(next_path), errors={})


@router.post(
    "/staff/sign-in",
    dependencies=[Depends(public_post_limit), AnonymousFormGuard],
)
def sign_in_submit(
    page: PageDep,
    session: DbSession,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_path: Annotated[str, Form(alias="next")] = "/staff",
) -> Response:
    target = safe_next(next_path)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = page.gettext("Enter your username.")
    if not password:
        errors["password"] = page.gettext("Enter your password.")
    if not errors:
        response = page.redirect(target)
        try:
            sign_in(page.request, response, session, username=username.strip(), password=password)
        except InvalidCredentials:
            errors["password"] = page.gettext(
                "The username or password is wrong, or the account is disabled."
            )
        else:
            return response
    return page.render(
        "staff/sign_in.html",
        status_code=401 if "username" not in errors and "password" in errors else 422,
        next_path=target,
        errors=errors,
        username=username,
    )


@router.post("/staff/sign-out")
def sign_out_submit(page: PageDep, session: DbSession) -> Response:
    response = page.redirect("/")
    sign_out(page.request, response, session)
    return response


@router.get("/staff")
def staff_home(page: PageDep) -> Response:
    if page.principal is None:
        return page.redirect("/staff/sign-in")
    return page.render("staff/home.html")

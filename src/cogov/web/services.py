"""What pages need from the domain's configuration, loaded once per application.

The control configuration (processes, negative list, routing) and the deployment of
engines belong to the HTTP application (:class:`cogov.api.state.AppState`); the web
adds the review reason codes, read once instead of on every page.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastapi import Request

from cogov.api.deps import app_state
from cogov.control import ControlConfig
from cogov.review import ReasonCodes, reason_codes_for

_LOCK = threading.Lock()
_KEY = "cogov_web_reason_codes"


@dataclass(frozen=True)
class WebServices:
    control: ControlConfig
    reason_codes: ReasonCodes


def services(request: Request) -> WebServices:
    state = app_state(request)
    codes: ReasonCodes | None = getattr(request.app.state, _KEY, None)
    if codes is None:
        with _LOCK:
            codes = getattr(request.app.state, _KEY, None)
            if codes is None:
                codes = reason_codes_for(state.settings)
                setattr(request.app.state, _KEY, codes)
    return WebServices(control=state.control, reason_codes=codes)

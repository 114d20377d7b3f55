"""The domain configuration pages need, loaded once per application: the control
configuration (processes, negative list, routing), the review reason codes and,
where the application has one, the pipeline's deployment (the engines in force).

The HTTP application owns the deployment (``AppState.deployment`` when it provides
one); without it, requests are stored by intake and wait for people to route them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from cogov.api.deps import app_state
from cogov.control import ControlConfig, load_control_config
from cogov.review import ReasonCodes, reason_codes_for

_LOCK = threading.Lock()
_KEY = "cogov_web_services"


@dataclass
class WebServices:
    control: ControlConfig
    reason_codes: ReasonCodes
    extra: dict[str, Any] = field(default_factory=dict)


def services(request: Request) -> WebServices:
    found: WebServices | None = getattr(request.app.state, _KEY, None)
    if found is None:
        with _LOCK:
            found = getattr(request.app.state, _KEY, None)
            if found is None:
                state = app_state(request)
                deployment = deployment_of(request)
                control = deployment.control if deployment is not None else None
                found = WebServices(
                    control=control or load_control_config(state.settings),
                    reason_codes=reason_codes_for(state.settings),
                )
                setattr(request.app.state, _KEY, found)
    return found


def deployment_of(request: Request) -> Any:
    """The pipeline deployment of the application, or None when it runs without engines."""
    return getattr(app_state(request), "deployment", None)

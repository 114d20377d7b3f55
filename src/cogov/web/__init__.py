"""cogov.web: the server-rendered web UI (Jinja2 + htmx) in English and Simplified
Chinese, for citizens, reviewers, administrators, auditors and the public.

The HTTP application (:func:`cogov.api.app.create_app`) calls :func:`mount` to add
the pages to itself; pages use the API's unit of work and sign-in dependencies.
"""

from cogov.web.app import mount

__all__ = ["mount"]

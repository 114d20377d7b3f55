"""cogov.api: the HTTP service (Open311 GeoReport v2, the staff API, sign-in and roles).

``create_app(settings) -> FastAPI`` builds the application; ``cogov serve`` runs it.
"""

from cogov.api.app import create_app

__all__ = ["create_app"]

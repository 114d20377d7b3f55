"""Open311 GeoReport v2 (JSON and XML) with cogov's documented extensions."""

from cogov.api.open311.routes import PREFIX, render_problem, router

__all__ = ["PREFIX", "render_problem", "router"]

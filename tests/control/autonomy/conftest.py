"""The review tests' fixtures (staff, an active agent, pending proposals), shared."""

from tests.review.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    agent,
    clock,
    config,
    make_pending,
    queued,
    staff,
    tokens,
)

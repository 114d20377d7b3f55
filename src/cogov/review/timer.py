"""The escalation timer: run :func:`cogov.review.escalate_overdue` every N seconds.

``cogov serve`` starts it (when ``COGOV_REVIEW_ESCALATION_INTERVAL_SECONDS`` > 0) as a
background task in every worker process; ``cogov review escalate --every N`` runs the
same sweep in the foreground where there is no cron. Each sweep is one transaction of
its own (this module owns its transactions, like the pipeline's batch path). On
PostgreSQL a sweep first takes a transaction-level advisory lock: while one process
sweeps, the others' sweeps skip at once instead of waiting, and the rows it escalates
are locked ``FOR UPDATE SKIP LOCKED`` besides, so an item is never escalated twice.
On SQLite one writer at a time serialises sweeps, and a second sweep finds the first
one's items already escalated. An overdue item goes to the backup guardian; nothing is
ever applied by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from cogov.core.clock import Clock
from cogov.db.session import unit_of_work
from cogov.review import repository
from cogov.review.schemas import ReviewItemRead, ReviewPolicy
from cogov.review.service import escalate_overdue

log = logging.getLogger("cogov.review.timer")

#: Items escalated per transaction; a sweep takes batches until none is left.
SWEEP_BATCH = 500


@dataclass(frozen=True, slots=True)
class SweepResult:
    """One sweep: ``ran`` is False when another process held the sweep lock."""

    ran: bool
    escalated: list[ReviewItemRead] = field(default_factory=list)


def sweep_overdue(
    engine: Engine,
    *,
    policy: ReviewPolicy,
    clock: Clock | None = None,
    batch: int = SWEEP_BATCH,
) -> SweepResult:
    """Escalate every overdue item nobody is working, ``batch`` items per transaction,
    unless another process is sweeping right now (then nothing is done)."""
    escalated: list[ReviewItemRead] = []
    while True:
        with unit_of_work(engine) as session:
            if not repository.try_lock_escalation_sweep(session):
                # Another process is sweeping: it takes what is left.
                return SweepResult(ran=bool(escalated), escalated=escalated)
            done = escalate_overdue(session, policy=policy, limit=batch, clock=clock)
        escalated.extend(done)
        if len(done) < batch:
            return SweepResult(ran=True, escalated=escalated)


Pause = Callable[[float], Awaitable[bool]]


class EscalationTimer:
    """Sweeps at start, then every ``interval`` seconds until stopped. A failing
    sweep (database away, ...) is logged and retried at the next tick; it never
    stops the timer or the server."""

    def __init__(
        self,
        engine: Engine,
        *,
        interval: float,
        policy: ReviewPolicy,
        clock: Clock | None = None,
        pause: Pause | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval: must be above 0 seconds, got {interval}")
        self.engine = engine
        self.interval = interval
        self.policy = policy
        self.clock = clock
        #: The latest sweep's result, how many sweeps ran, and items escalated in all.
        self.last: SweepResult | None = None
        self.sweeps = 0
        self.escalated = 0
        self._stop = asyncio.Event()
        self._pause = pause or self._wait_for_stop

    async def _wait_for_stop(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; True when stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=seconds)
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        while True:
            try:
                result = await asyncio.to_thread(
                    sweep_overdue, self.engine, policy=self.policy, clock=self.clock
                )
            except Exception:
                log.exception("review escalation sweep failed; retrying in %ss", self.interval)
            else:
                self.last = result
                self.sweeps += 1
                self.escalated += len(result.escalated)
                if result.escalated:
                    log.info(
                        "escalated %d overdue review item(s) to the backup guardian",
                        len(result.escalated),
                    )
            if self._stop.is_set() or await self._pause(self.interval):
                return


@contextlib.asynccontextmanager
async def escalation_timer(
    engine: Engine,
    *,
    interval: float,
    policy: ReviewPolicy,
    clock: Clock | None = None,
) -> AsyncIterator[EscalationTimer | None]:
    """Run an :class:`EscalationTimer` in the background while the block runs (None
    and nothing started when ``interval`` is 0: the timer is off). On exit the timer
    stops and a sweep in progress finishes first."""
    if interval <= 0:
        yield None
        return
    timer = EscalationTimer(engine, interval=interval, policy=policy, clock=clock)
    task = asyncio.create_task(timer.run(), name="cogov-review-escalation")
    try:
        yield timer
    finally:
        timer.stop()
        await task

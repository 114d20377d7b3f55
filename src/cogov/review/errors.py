"""Failures of review (queue, decisions, teams, appeals): one class each, under
ReviewError. No HTTP codes: adapters map them at the edge."""

from __future__ import annotations

from cogov.core.errors import CogovError, Conflict, NotFound, ValidationFailed


class ReviewError(CogovError):
    """Base of the review package's errors."""


class InvalidReviewInput(ReviewError, ValidationFailed):
    """A field of a review step was refused (a missing reason, an unknown code, ...)."""

    def __init__(self, field: str, reason: str) -> None:
        ValidationFailed.__init__(self, field, reason)


class ReasonCodesInvalid(ReviewError):
    """The reason-codes file is malformed."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ReviewItemNotFound(ReviewError, NotFound):
    def __init__(self, item_id: str) -> None:
        NotFound.__init__(self, "review item", item_id)


class AlreadyQueued(ReviewError, Conflict):
    """A proposal has one review item; a second enqueue is refused."""

    def __init__(self, proposal_id: str, item_id: str) -> None:
        Conflict.__init__(
            self, f"proposal {proposal_id} is already in the review queue (item {item_id})"
        )
        self.proposal_id = proposal_id
        self.item_id = item_id


class NotAReviewer(ReviewError, Conflict):
    """The user may not work this item: not in its team, not its guardian, or
    (once escalated) not its backup guardian."""

    def __init__(self, username: str, item_id: str, reason: str) -> None:
        Conflict.__init__(self, f"{username!r} may not work review item {item_id}: {reason}")
        self.username = username
        self.item_id = item_id
        self.reason = reason


class AlreadyClaimed(ReviewError, Conflict):
    def __init__(self, item_id: str, claimed_by: str, until: str) -> None:
        Conflict.__init__(self, f"review item {item_id} is claimed by {claimed_by!r} until {until}")
        self.item_id = item_id
        self.claimed_by = claimed_by


class NotClaimedByYou(ReviewError, Conflict):
    def __init__(self, item_id: str, username: str) -> None:
        Conflict.__init__(self, f"review item {item_id} is not claimed by {username!r}")
        self.item_id = item_id


class AlreadyDecided(ReviewError, Conflict):
    """The human decision is final: a decided item is never decided again."""

    def __init__(self, item_id: str, decision: str, by: str, at: str) -> None:
        Conflict.__init__(
            self,
            f"review item {item_id} was already {decision} by {by!r} at {at}; the human "
            "decision is final (a change now comes only through an appeal)",
        )
        self.item_id = item_id


class NothingToClaim(ReviewError, NotFound):
    """No open item the reviewer may work."""

    def __init__(self, username: str, team: str | None) -> None:
        where = f"team {team!r}" if team else "any team you work"
        CogovError.__init__(self, f"no open review item for {username!r} in {where}")
        self.what = "review item"
        self.key = team


class AppealNotFound(ReviewError, NotFound):
    def __init__(self, appeal_id: str) -> None:
        NotFound.__init__(self, "appeal", appeal_id)


class NotAppealable(ReviewError, Conflict):
    """The decision named cannot be appealed (not of this case, not decided yet,
    not touched by an agent, or appealed already)."""

    def __init__(self, proposal_id: str, reason: str) -> None:
        Conflict.__init__(self, f"decision {proposal_id} cannot be appealed: {reason}")
        self.proposal_id = proposal_id
        self.reason = reason


class AppealAlreadyDecided(ReviewError, Conflict):
    def __init__(self, appeal_id: str, outcome: str, by: str) -> None:
        Conflict.__init__(self, f"appeal {appeal_id} was already {outcome} by {by!r}")
        self.appeal_id = appeal_id


class ConflictOfInterest(ReviewError, Conflict):
    """The appeal must go to a human who took no part in the original decision."""

    def __init__(self, appeal_id: str, username: str, part: str) -> None:
        Conflict.__init__(
            self,
            f"{username!r} may not decide appeal {appeal_id}: they took part in the original "
            f"decision ({part})",
        )
        self.appeal_id = appeal_id
        self.username = username
        self.part = part

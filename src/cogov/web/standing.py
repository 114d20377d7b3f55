"""An agent's autonomy standing (``cogov.control.autonomy.public_standing``) worded for
the public register in the page's language: what its level lets it do alone, who last
changed it and why (the controller's recorded breaches, with their numbers), and the
measures of the controller's window, each beside the controller's limit, or *not
enough cases yet* where the controller does not judge it either."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cogov.control.autonomy import AutonomyStanding
from cogov.web.audits import group_label
from cogov.web.explain import percent
from cogov.web.forms import GROUP_VALUE_LABELS
from cogov.web.i18n import N_
from cogov.web.pages import Page
from cogov.web.templating import environment

# What each level lets the agent do without a person (cogov.control.autonomy.rules).
LEVEL_NAMES = {
    0: N_("suggesting only"),
    1: N_("assisting"),
    2: N_("supervised"),
    3: N_("autonomous"),
}
LEVEL_TEXTS = {
    0: N_("It only suggests: a person decides everything it proposes."),
    1: N_(
        "It acts alone only on steps that change nothing for the person who asked (such "
        "as a request's category or priority), and only when it is confident enough; a "
        "person approves everything else."
    ),
    2: N_(
        "It acts alone when it is confident enough; a share of what it does is checked by a person."
    ),
    3: N_(
        "It acts alone when it is confident enough, within its rules; what its negative "
        "list forbids still goes to a person."
    ),
}
LEVEL = N_("Level %(level)s of 3 (%(name)s)")
CEILING = N_("Level %(level)s (%(name)s)")
CHANGES = {
    ("lowered", "controller"): N_(
        "On %(when)s (UTC) the automatic controller lowered it from level %(from)s to "
        "level %(to)s at once."
    ),
    ("lowered", "person"): N_(
        "On %(when)s (UTC) a person who answers for it (its guardian, backup guardian or "
        "an administrator) lowered it from level %(from)s to level %(to)s."
    ),
    ("raised", "guardian"): N_(
        "On %(when)s (UTC) it was raised from level %(from)s to level %(to)s with its "
        "guardian's sign-off, after its measures were within every limit."
    ),
}
NEVER_CHANGED = N_("Never changed: it holds the level it started with.")
MEASURE_NAMES = {
    "override_rate": N_("The share of its suggestions a person changed or rejected"),
    "upheld_appeal_rate": N_("The share of its decisions overturned on appeal"),
    "negative_list_rate": N_("The share of its suggestions a negative-list rule stopped"),
    "group_gap": N_("The gap between groups in how often it acted alone"),
}
BREACH = N_("%(measure)s was %(value)s, above the limit of %(threshold)s.")
NOT_ENOUGH = N_("Not enough cases yet")
NOT_ENOUGH_GROUPS = N_("Not enough cases in each group yet (at least %(size)s per group)")
SHARE_OF = N_("%(share)s (%(part)s of %(whole)s)")
AT_MOST = N_("at most %(limit)s")
GROUP_SHARE = N_("%(group)s: %(share)s of %(count)s")
GAP = N_("%(gap)s, by %(attribute)s")
WINDOW = N_(
    "From %(since)s to %(until)s (UTC): its latest suggestions, at most %(count)s, over "
    "at most %(days)s days and only since its level last changed."
)
TOO_FEW = N_(
    "The controller judges these measures from %(minimum)s suggestions (changes and "
    "rejections from %(reviewed)s decided by a person); this window has %(count)s."
)


@dataclass(frozen=True, slots=True)
class Measure:
    label: str
    value: str
    limit: str


@dataclass(frozen=True, slots=True)
class StandingView:
    level: str
    level_text: str
    ceiling: str
    change: str
    reasons: tuple[str, ...]
    window: str
    too_few: str | None
    proposals: int
    measures: tuple[Measure, ...]
    groups: tuple[str, ...]


def _when(page: Page, moment: str) -> str:
    """A moment in the page's language, as the templates' ``when`` filter writes it."""
    return str(environment(page.language).filters["when"](moment))


def _days(days: float) -> str:
    return f"{days:g}"


def _group_value(value: str, gettext: Callable[..., str]) -> str:
    label = GROUP_VALUE_LABELS.get(value)
    return gettext(label) if label else value


def standing_view(page: Page, standing: AutonomyStanding) -> StandingView:
    """``standing`` worded for ``page``."""
    gettext = page.gettext
    level_name = gettext(LEVEL_NAMES[standing.level])
    change = standing.last_change
    if change is None:
        change_text = gettext(NEVER_CHANGED)
        reasons: tuple[str, ...] = ()
    else:
        values = {"when": _when(page, change.changed_at), "from": change.from_level}
        change_text = gettext(CHANGES[(change.direction, change.by)], to=change.to_level, **values)
        reasons = tuple(
            gettext(
                BREACH,
                measure=gettext(MEASURE_NAMES[breach.metric]),
                value=percent(breach.value),
                threshold=percent(breach.threshold),
            )
            for breach in change.breaches
        )
    window = standing.window
    limits = standing.limits
    not_enough = gettext(NOT_ENOUGH)

    def share(rate: float | None, part: int | None, whole: int | None) -> str:
        if rate is None or part is None or whole is None:
            return not_enough
        return gettext(SHARE_OF, share=percent(rate), part=part, whole=whole)

    # Each rate the controller judges: (measure, rate, part, whole, its limit).
    rates = (
        ("override_rate", window.override_rate, window.overridden, window.reviewed,
         limits.max_override_rate),
        ("upheld_appeal_rate", window.upheld_appeal_rate, window.upheld_appeals,
         window.proposals, limits.max_upheld_appeal_rate),
        ("negative_list_rate", window.negative_list_rate, window.negative_list_hits,
         window.proposals, limits.max_negative_list_rate),
    )  # fmt: skip
    measures = (
        Measure(
            gettext(N_("Applied without a person")),
            share(window.applied_share, window.applied_without_person, window.proposals),
            "",
        ),
        *(
            Measure(
                gettext(MEASURE_NAMES[name]),
                share(rate, part, whole),
                gettext(AT_MOST, limit=percent(limit)),
            )
            for name, rate, part, whole, limit in rates
        ),
        Measure(
            gettext(MEASURE_NAMES["group_gap"]),
            gettext(NOT_ENOUGH_GROUPS, size=limits.min_group_size)
            if window.group_gap is None
            else gettext(
                GAP,
                gap=percent(window.group_gap.gap),
                attribute=group_label(window.group_gap.attribute, gettext),
            ),
            gettext(AT_MOST, limit=percent(limits.max_group_gap)),
        ),
    )
    gap = window.group_gap
    return StandingView(
        level=gettext(LEVEL, level=standing.level, name=level_name),
        level_text=gettext(LEVEL_TEXTS[standing.level]),
        ceiling=gettext(
            CEILING, level=standing.ceiling, name=gettext(LEVEL_NAMES[standing.ceiling])
        ),
        change=change_text,
        reasons=reasons,
        window=gettext(
            WINDOW,
            since=_when(page, window.since),
            until=_when(page, window.until),
            count=limits.window_proposals,
            days=_days(limits.window_days),
        ),
        too_few=None
        if window.enough
        else gettext(
            TOO_FEW,
            minimum=limits.min_proposals,
            reviewed=limits.min_reviewed,
            count=window.proposals,
        ),
        proposals=window.proposals,
        measures=measures,
        groups=()
        if gap is None
        else tuple(
            gettext(
                GROUP_SHARE,
                group=_group_value(value, gettext),
                share=percent(gap.shares[value]),
                count=count,
            )
            for value, count in gap.counts.items()
        ),
    )

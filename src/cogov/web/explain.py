"""An AI proposal's explanation, and control's checks on it, worded in the page's
language from their structured data: the proposal's action, value and confidence,
its evidence by kind (and the facts an engine gives in ``data``), and each check's
code and params (``cogov.control.rules.CheckCode``).

The engine's English summary, the evidence labels and control's English reasons stay
the record: kept with the proposal, returned by the staff API, never rewritten. Pages
show these words instead, so a Chinese page carries no English sentence, and no page
repeats an engine's claim about what happens to its proposal (only control decides
that, with the threshold in force).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, assert_never

from cogov.control import Outcome, ProposalState
from cogov.web.i18n import N_, Language, negotiate, translations
from cogov.web.templating import format_share


class Gettext(Protocol):
    """``Page.gettext``: a catalogue string in the page's language, %-formatted with
    the variables given."""

    def __call__(self, message: str, **variables: Any) -> str: ...


def gettext_for(language: Language) -> Gettext:
    """Catalogue strings in ``language``, as ``Page.gettext`` gives them, for an
    answer that is not a page (the Open311 extension)."""
    catalogue = translations(language)

    def gettext(message: str, **variables: Any) -> str:
        text = catalogue.gettext(message)
        return text % variables if variables else text

    return gettext


def language_asked(asked: str | None) -> Language:
    """The language a client asked for, as a tag (``zh``) or an Accept-Language
    header; English when none of ours matches."""
    return negotiate(None, asked)


# What the agent suggests, by action. Values are data (a department, a case id).
HEADLINES = {
    "route": N_("Suggests the department %(value)s, with confidence %(confidence)s."),
    "categorise": N_("Suggests the category %(value)s, with confidence %(confidence)s."),
    "prioritise": N_("Suggests the priority %(value)s, with confidence %(confidence)s."),
    "mark_duplicate": N_(
        "Finds that it repeats open request %(value)s, with confidence %(confidence)s."
    ),
    "draft_reply": N_("Drafted a reply, with confidence %(confidence)s."),
}
OTHER_HEADLINE = N_("Suggests %(value)s, with confidence %(confidence)s.")
WORDS = N_("The words that weighed most: %(words)s.")
NO_WORD = N_("No single word weighed most.")
# Translators: one word or phrase from the request, quoted.
QUOTED = N_("“%(word)s”")
# Translators: what separates the items of a list in a sentence.
LIST_SEPARATOR = N_(", ")
AGREEMENT = N_("%(agreeing)s of the %(count)s most similar past requests had this answer.")
SIGNALS = N_("What it compared: %(signals)s.")
PASSAGES = N_("Policy passages used: %(count)s.")

SIGNAL_LABELS = {
    "same_address": N_("same address"),
    "distance": N_("%(metres)s m apart"),
    "same_service": N_("same service"),
    "different_service": N_("different service"),
    "hours_apart": N_("%(hours)s hours apart"),
    "word_similarity": N_("word similarity %(similarity)s"),
}
# Each kind of evidence, as the review page's table names it.
EVIDENCE_KINDS = {
    "token": N_("word"),
    "similar_case": N_("similar request"),
    "passage": N_("policy passage"),
    "signal": N_("signal"),
}
SERVICE_OFTEN = N_("this service often merges repeats")
SERVICE_RARELY = N_("this service rarely merges repeats")
PAST_CASE = N_("past request %(case)s (%(label)s)")
OPEN_CASE = N_("open request %(case)s")
PASSAGE = N_("%(source)s: %(title)s")
EXAMPLE_PASSAGE = N_("%(source)s: %(title)s (example content)")

# Control's checks, by code; the params are the check's own (cogov.control.rules).
CHECK_TEXTS = {
    "rule_failed": N_("A rule could not be checked, so a person must decide."),
    "process_no_action": N_(
        "The process %(process)s does not allow this step while the request is at “%(state)s”."
    ),
    "process_no_path": N_(
        "The process %(process)s does not let an AI assistant move the request from "
        "“%(state)s” to “%(target)s”."
    ),
    "priority_unknown": N_("%(value)s is not one of the priorities: %(allowed)s."),
    "duplicate_of_itself": N_("A request cannot repeat itself."),
    "duplicate_unknown": N_("There is no request %(value)s to merge it into."),
    "duplicate_of_merged": N_(
        "Request %(value)s is itself merged into request %(root)s: that is the one it repeats."
    ),
    "value_empty": N_("The suggestion is empty."),
    "suggest_only": N_("The agent's grade lets it only suggest."),
    "human_approves_citizen_affecting": N_(
        "The agent's grade needs a person to approve what affects a citizen."
    ),
    "autonomy_below": N_(
        "This action needs autonomy level %(needed)s; the agent has level %(level)s."
    ),
    "below_threshold": N_(
        "The confidence, %(confidence)s, is below the threshold in force, %(threshold)s."
    ),
    "sampled": N_("Picked for a person's review in a sample of %(rate)s of cases."),
    "within_limits": N_("Within the agent's limits."),
}
# A process step by a person (the same process, checked when a reviewer decides).
PROCESS_NO_PATH_HUMAN = N_(
    "The process %(process)s does not let a person move the request from “%(state)s” to "
    "“%(target)s”."
)


# Where a proposal stands for the people who read about it: its outcome once the agent
# applied it or a person decided it, waiting while it waits for a person, or withdrawn
# when control cancelled it because its request was merged into another (it has no
# outcome, yet nobody will decide it). The follow page, the staff pages and the Open311
# extension all word a proposal from this one rule.
WAITING = "waiting"
WITHDRAWN = "withdrawn"


def standing(state: ProposalState, outcome: Outcome | None) -> str:
    """``waiting``, ``withdrawn``, or the outcome's value (applied, approved, edited,
    rejected), from control's state of a proposal and its outcome."""
    match state:
        case ProposalState.PENDING_REVIEW:
            return WAITING
        case ProposalState.CANCELLED:
            return WITHDRAWN
        case ProposalState.APPLIED | ProposalState.DECIDED:
            if outcome is None:
                raise ValueError(f"outcome: a proposal in state {state.value} has none")
            return outcome.value
        case _:
            assert_never(state)


# The AI label of one proposal in the Open311 extension: what kind of AI output it is and
# where it stands, by (ai_drafted, standing); whole sentences, so each language orders its
# own words. The extension's ``ai_drafted``, ``state`` and ``outcome`` say the same for
# machines.
AI_LABELS = {
    (False, WAITING): N_("AI-suggested, waiting for a human decision"),
    (False, "applied"): N_("AI-suggested, applied by the agent within its limits"),
    (False, "approved"): N_("AI-suggested, approved by a human"),
    (False, "edited"): N_("AI-suggested, changed by a human"),
    (False, "rejected"): N_("AI-suggested, rejected by a human"),
    (False, WITHDRAWN): N_("AI-suggested, withdrawn because the request was merged into another"),
    (True, WAITING): N_("AI-drafted, waiting for a human decision"),
    (True, "applied"): N_("AI-drafted, applied by the agent within its limits"),
    (True, "approved"): N_("AI-drafted, approved by a human"),
    (True, "edited"): N_("AI-drafted, changed by a human"),
    (True, "rejected"): N_("AI-drafted, rejected by a human"),
    (True, WITHDRAWN): N_("AI-drafted, withdrawn because the request was merged into another"),
}


def ai_label(
    *, ai_drafted: bool, state: ProposalState, outcome: Outcome | None, gettext: Gettext
) -> str:
    """A proposal's AI label in the reader's language: drafted or suggested by AI, and
    whether a human decided it, the agent applied it, it waits for a human, or it was
    withdrawn (:func:`standing`)."""
    return gettext(AI_LABELS[(ai_drafted, standing(state, outcome))])


def percent(value: object) -> str:
    """A share as a whole percentage, or to one decimal where rounding would make two
    different numbers look equal (0.775 against a threshold of 0.78); the templates'
    formatter (:func:`cogov.web.templating.format_share`)."""
    return format_share(float(value) if isinstance(value, int | float) else None, None)


def _evidence(explanation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = explanation.get("evidence") or []
    return [item for item in items if isinstance(item, Mapping)]


def _data(item: Mapping[str, Any]) -> Mapping[str, Any]:
    data = item.get("data")
    return data if isinstance(data, Mapping) else {}


def _number(value: Any, digits: int) -> str:
    return f"{float(value):.{digits}f}" if isinstance(value, int | float) else "?"


def evidence_label(item: Mapping[str, Any], gettext: Gettext) -> str:
    """One evidence item as the reader reads it: from its facts where the engine gave
    them, else its stored label (a word of the request, or an engine's own words)."""
    kind, data = item.get("kind"), _data(item)
    label = str(item.get("label", ""))
    if kind == "similar_case" and "case_id" in data:
        case = str(data["case_id"])
        if "label" in data:
            return gettext(PAST_CASE, case=case, label=str(data["label"]))
        return gettext(OPEN_CASE, case=case)
    if kind == "signal" and "signal" in data:
        name = data["signal"]
        if name == "service_history":
            return gettext(SERVICE_OFTEN if data.get("often") else SERVICE_RARELY)
        if name in SIGNAL_LABELS:
            return gettext(
                SIGNAL_LABELS[name],
                metres=_number(data.get("metres"), 0),
                hours=_number(data.get("hours"), 1),
                similarity=_number(data.get("similarity"), 2),
            )
    if kind == "passage" and "source" in data and "title" in data:
        message = EXAMPLE_PASSAGE if data.get("example") else PASSAGE
        return gettext(message, source=str(data["source"]), title=str(data["title"]))
    return label


def evidence_kind(kind: str, gettext: Gettext) -> str:
    """An evidence kind in the page's language (an engine's own kind as it is)."""
    return gettext(EVIDENCE_KINDS[kind]) if kind in EVIDENCE_KINDS else kind


def _join(items: Sequence[str], gettext: Gettext) -> str:
    return gettext(LIST_SEPARATOR).join(items)


def summary(
    *,
    action: str,
    value: str,
    confidence: float,
    explanation: Mapping[str, Any],
    gettext: Gettext,
    shown_value: str | None = None,
) -> str:
    """The explanation in the page's language: what the agent suggests and with what
    confidence, then what drove it (words, agreeing past requests, compared signals,
    policy passages), from the evidence. ``shown_value`` is the value as the page shows
    it (a translated priority), ``value`` as stored (what past requests' labels are
    compared with). Never a word about whether it is applied: control decides."""
    evidence = _evidence(explanation)
    headline = HEADLINES.get(action, OTHER_HEADLINE)
    shown = value if shown_value is None else shown_value
    sentences = [gettext(headline, value=shown, confidence=percent(confidence))]
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for item in evidence:
        by_kind.setdefault(str(item.get("kind")), []).append(item)
    if action in ("route", "categorise", "prioritise"):
        words = [str(item.get("label", "")) for item in by_kind.get("token", [])][:4]
        words = [word for word in words if word]
        if words:
            quoted = [gettext(QUOTED, word=word) for word in words]
            sentences.append(gettext(WORDS, words=_join(quoted, gettext)))
        elif "token" not in by_kind and by_kind.get("similar_case"):
            sentences.append(gettext(NO_WORD))
    similar = [_data(item) for item in by_kind.get("similar_case", [])]
    if action != "mark_duplicate" and similar and all("label" in data for data in similar):
        agreeing = sum(1 for data in similar if str(data["label"]) == value)
        sentences.append(gettext(AGREEMENT, agreeing=agreeing, count=len(similar)))
    signals = [item for item in by_kind.get("signal", []) if "signal" in _data(item)]
    if signals:
        labels = [evidence_label(item, gettext) for item in signals]
        sentences.append(gettext(SIGNALS, signals=_join(labels, gettext)))
    if by_kind.get("passage"):
        sentences.append(gettext(PASSAGES, count=len(by_kind["passage"])))
    return _sentences(sentences)


def _sentences(sentences: Sequence[str]) -> str:
    """Sentences one after another: a space after a Latin full stop, none after a
    Chinese one (。), as each language writes them."""
    text = ""
    for sentence in sentences:
        text += sentence if not text or text.endswith("。") else " " + sentence
    return text


def check_text(
    check: Mapping[str, Any],
    gettext: Gettext,
    *,
    chinese: bool,
    state_label: Callable[[str], str] | None = None,
) -> str:
    """One of control's checks in the page's language: a negative-list rule's own
    reason in that language, a coded check from the catalogue, else (a check stored
    before checks had codes) its English reason. ``state_label`` words a process
    state (a callable taking the state), where the page has one."""
    code = check.get("code")
    if code == "rule" or (code is None and check.get("reason_zh")):
        if chinese and check.get("reason_zh"):
            return str(check["reason_zh"])
        return str(check.get("reason", ""))
    params = check.get("params")
    values: dict[str, Any] = dict(params) if isinstance(params, Mapping) else {}
    message = CHECK_TEXTS.get(str(code)) if code is not None else None
    if message is None:
        return str(check.get("reason", ""))
    if code == "process_no_path" and values.get("actor") == "human":
        message = PROCESS_NO_PATH_HUMAN
    for name in ("confidence", "threshold", "rate"):
        if name in values:
            values[name] = percent(values[name])
    if state_label is not None:
        for name in ("state", "target"):
            if name in values:
                values[name] = state_label(str(values[name]))
    names = (
        "process",
        "state",
        "target",
        "value",
        "root",
        "allowed",
        "needed",
        "level",
        "confidence",
        "threshold",
        "rate",
    )
    return gettext(message, **{name: values.get(name, "?") for name in names})

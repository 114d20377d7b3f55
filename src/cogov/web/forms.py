"""The request form shared by citizens (web channel) and staff (assisted entry):
turning posted fields into an intake body, and intake's refusals into messages in
the visitor's language, each tied to its field."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from cogov.core.text import control_character_problem, trimmed
from cogov.core.types import Channel
from cogov.intake import Catalogue, GroupAttributes, ServiceDefinition
from cogov.web.i18n import N_, Language

DESCRIPTION_MAX = 4_000
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
PLACE_FIELDS = ("address_string",)
ASSISTED_CHANNELS = (Channel.PHONE, Channel.COUNTER)

# Labels for the values of cogov's default group attributes. An agency's own values
# fall back to the value itself.
GROUP_VALUE_LABELS = {
    "under_18": N_("Under 18"),
    "18_34": N_("18 to 34"),
    "35_64": N_("35 to 64"),
    "65_plus": N_("65 or older"),
    "en": N_("English"),
    "zh": N_("Chinese"),
    "es": N_("Spanish"),
    "other": N_("Another language"),
}
CHANNEL_LABELS = {
    Channel.WEB: N_("Website"),
    Channel.APP: N_("Mobile app"),
    Channel.PHONE: N_("Telephone"),
    Channel.COUNTER: N_("Service counter"),
    Channel.SMS: N_("Text message"),
    Channel.OPEN311: N_("Open311 app"),
    Channel.EMAIL: N_("Email"),
    Channel.OTHER: N_("Other"),
}

# Messages for each field intake may refuse. Intake's own reasons are in English
# for logs and API clients; the visitor reads these instead.
FIELD_MESSAGES = {
    "service_code": N_("Choose the kind of problem."),
    "description": N_("Describe the problem in 1 to 4,000 characters."),
    "address_string": N_(
        "This kind of problem needs a place: enter the address or the nearest landmark."
    ),
    "email": N_("Enter an email address like name@example.com, or leave it empty."),
    "phone": N_("Enter a telephone number with digits, spaces and + ( ) . -, or leave it empty."),
    "first_name": N_("Use at most 200 characters."),
    "last_name": N_("Use at most 200 characters."),
    "channel": N_("Choose how the citizen contacted us."),
    "idempotency_key": N_("The form expired. Please submit it again."),
}
# Text with a control character other than tab or a line break (cogov.core.text's rule).
CONTROL_CHARACTERS = N_("Remove the invisible control characters from this text.")
ATTRIBUTE_REQUIRED = N_("Answer this question.")
ATTRIBUTE_INVALID = N_("This answer does not fit the question. Check it and try again.")
GROUP_INVALID = N_("Choose one of the listed answers, or leave it empty.")
OTHER_FIELD = N_("Check this answer.")


@dataclass
class RequestForm:
    """What the visitor typed, kept to show the form again when it is refused."""

    values: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    group: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: FormData) -> RequestForm:
        values = {
            name: trimmed(str(form.get(name) or ""))
            for name in (
                "service_code",
                "description",
                *PLACE_FIELDS,
                *CONTACT_FIELDS,
                "channel",
                "idempotency_key",
            )
        }
        attributes: dict[str, str | list[str]] = {}
        group: dict[str, str] = {}
        for key in form:
            if key.startswith("attribute[") and key.endswith("]"):
                answers = [trimmed(str(value)) for value in form.getlist(key)]
                answers = [answer for answer in answers if answer]
                code = key[len("attribute[") : -1]
                attributes[code] = answers if len(answers) > 1 else (answers[0] if answers else "")
            elif key.startswith("group."):
                value = trimmed(str(form.get(key) or ""))
                if value:
                    group[key[len("group.") :]] = value
        return cls(values=values, attributes=attributes, group=group)

    def body(
        self, *, channel: Channel, language: Language, groups: GroupAttributes
    ) -> dict[str, Any]:
        """The request as intake takes it (empty optional fields left out)."""
        body: dict[str, Any] = {
            "service_code": self.values.get("service_code", ""),
            "description": self.values.get("description", ""),
            "channel": channel.value,
            "language": short_language(language),
        }
        for name in (*PLACE_FIELDS, *CONTACT_FIELDS):
            if self.values.get(name):
                body[name] = self.values[name]
        body["attribute"] = {code: value for code, value in self.attributes.items() if value}
        group: dict[str, str | bool] = {}
        for name, value in self.group.items():
            spec = groups.by_name.get(name)
            if spec is not None and spec.type == "boolean":
                group[name] = value == "yes"
            else:
                group[name] = value
        body["group"] = group
        return body


def field_id(name: str) -> str:
    """The HTML id of the control for an intake field name (ids may not hold [ ] .)."""
    return name.replace("[", "-").replace("]", "").replace(".", "-")


def control_character_message(text: str, gettext: Callable[[str], str]) -> str | None:
    """The visitor's message when ``text`` holds a control character cogov refuses
    in typed text, else None (the rule itself is cogov.core.text's)."""
    return gettext(CONTROL_CHARACTERS) if control_character_problem(text) else None


def text_error(
    text: str, gettext: Callable[[str], str], *, required: str | None = None
) -> str | None:
    """The visitor's message for typed ``text`` as sent, else None: a control character
    first (before any trimming: str.strip() and str.split() take U+001C-U+001F and
    U+0085 for white space, so a check after them never sees one), then ``required``
    (a message already in the visitor's language) when the text is empty or blank."""
    hidden = control_character_message(text, gettext)
    if hidden is None and required is not None and not text.strip():
        return required
    return hidden


def refusal_messages(
    problems: Sequence[tuple[str, str]],
    form: RequestForm,
    gettext: Callable[[str], str],
) -> dict[str, str]:
    """Intake's (field, reason) problems as messages keyed by control id, first one wins."""
    messages: dict[str, str] = {}
    for name, _reason in problems:
        if name.startswith("attribute["):
            answer = form.attributes.get(name[len("attribute[") : -1])
            answers = answer if isinstance(answer, list) else [answer or ""]
            if any(control_character_problem(text) for text in answers):
                message = CONTROL_CHARACTERS
            else:
                message = ATTRIBUTE_INVALID if answer else ATTRIBUTE_REQUIRED
        elif name.startswith("group."):
            message = GROUP_INVALID
        elif name in ("lat", "long", "address_id"):
            name, message = "address_string", FIELD_MESSAGES["address_string"]
        elif control_character_problem(form.values.get(name, "")):
            message = CONTROL_CHARACTERS
        else:
            message = FIELD_MESSAGES.get(name, OTHER_FIELD)
        messages.setdefault(field_id(name), gettext(message))
    return messages


Options = list[tuple[str, str]]


def service_options(catalogue: Catalogue, language: Language) -> list[tuple[str, Options]]:
    """Services grouped as the catalogue groups them, for an <optgroup> select."""
    lang = short_language(language)
    groups: dict[str, Options] = {}
    for service in catalogue.services:
        label = service.name.get(lang)
        groups.setdefault(service.group.get(lang), []).append((service.code, label))
    return list(groups.items())


def service_for(catalogue: Catalogue, code: str | None) -> ServiceDefinition | None:
    return catalogue.get(code) if code else None


def short_language(language: Language) -> str:
    """The language key of the catalogue's bilingual texts (``en`` or ``zh``)."""
    return "zh" if language.locale.startswith("zh") else "en"


def value_label(value: str, gettext: Callable[[str], str]) -> str:
    label = GROUP_VALUE_LABELS.get(value)
    return gettext(label) if label else value


def channel_label(channel: Channel | str, gettext: Callable[[str], str]) -> str:
    try:
        return gettext(CHANNEL_LABELS[Channel(channel)])
    except ValueError:
        return str(channel)

"""The negative list: rules, written in CEL, that forbid an agent an action or
hand it to a human. Each rule is compiled once, when the list is loaded; a rule
that does not compile, or reads a variable or field that does not exist, is
refused at load with its line in the YAML and the reason."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import cel
import yaml

from cogov.control.errors import ConfigInvalid, RuleCompileError
from cogov.control.process import Label

RULE_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
VARIABLES = ("proposal", "case", "agent", "params")
# The variables that change with every evaluation (params is fixed per list).
_PER_EVALUATION = ("proposal", "case", "agent")
_NAME = re.compile(r"(?<![\w.])(proposal|case|agent)\b(\s*\.\s*([A-Za-z_]\w*))?")


class RuleVerdict(StrEnum):
    DENY = "deny"  # the agent may not do this; a human sees it and decides
    REQUIRE_HUMAN = "require_human"  # a human must approve before it takes effect


@dataclass(frozen=True, slots=True)
class NegativeRule:
    id: str
    verdict: RuleVerdict
    reason: Label
    expression: str
    line: int
    program: Any  # cel.Program, compiled once

    def as_config(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.value,
            "reason": self.reason.model_dump(),
            "when": self.expression,
        }


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A rule that applies to a proposal. ``error`` is set when the rule could not
    be evaluated: it then counts as requiring a human (fail closed)."""

    rule_id: str
    verdict: RuleVerdict
    reason: Label
    error: str | None = None


_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Terms:
    """A list of terms sorted by how each matches, so a text is read once rather
    than tried against every term at every position. Latin-script terms match whole
    words: one made of word characters only is a word of the text (a set lookup);
    one with a space or a dash is searched for. Chinese (and other unspaced
    scripts) match anywhere, since they have no spaces between words."""

    words: frozenset[str]
    anywhere: tuple[str, ...]
    rest: re.Pattern[str] | None
    spans_lines: bool  # some term holds a line break

    def found_in(self, folded: str) -> bool:
        if self.words and not self.words.isdisjoint(_WORD.findall(folded)):
            return True
        if any(term in folded for term in self.anywhere):
            return True
        return self.rest is not None and self.rest.search(folded) is not None


@lru_cache(maxsize=256)
def _terms(terms: tuple[str, ...]) -> _Terms:
    words: set[str] = set()
    anywhere: list[str] = []
    rest: list[str] = []
    for term in sorted({t.casefold() for t in terms if t.strip()}):
        if not term.isascii():
            anywhere.append(term)
        elif _WORD.fullmatch(term):
            words.add(term)
        else:
            rest.append(term)
    parts = [rf"(?<!\w){re.escape(term)}(?!\w)" for term in sorted(rest, key=len, reverse=True)]
    return _Terms(
        words=frozenset(words),
        anywhere=tuple(anywhere),
        rest=re.compile("|".join(parts)) if parts else None,
        spans_lines=any("\n" in term for term in (*anywhere, *rest)),
    )


def mentions_any(text: str, terms: Sequence[str]) -> bool:
    """True when ``text`` names any of ``terms`` (case-insensitive, any script)."""
    return _terms(tuple(terms)).found_in(text.casefold())


def mentions_group(texts: Sequence[str], terms: Sequence[str]) -> bool:
    """True when any of ``texts`` names any of ``terms``: one reading of the texts
    joined by a line break, which no term spans (a term holding one is looked for
    text by text), and which ends a word as the end of a text does."""
    found = _terms(tuple(terms))
    if found.spans_lines:
        return any(found.found_in(str(text).casefold()) for text in texts)
    return found.found_in("\n".join(str(text) for text in texts).casefold())


FUNCTIONS = {"mentions_any": mentions_any, "mentions_group": mentions_group}


def referenced_fields(expression: str) -> dict[str, frozenset[str] | None]:
    """The fields of ``proposal``, ``case`` and ``agent`` an expression reads:
    a set of names, or None when it uses the variable in another way (e.g. as a
    whole, or by index), so that it must see every field. Read from the text, so
    it can only err towards more fields (a name inside a string literal counts)."""
    found: dict[str, set[str] | None] = {}
    for match in _NAME.finditer(expression):
        variable, field_name = match.group(1), match.group(3)
        known = found.setdefault(variable, set())
        if field_name is None:
            found[variable] = None
        elif known is not None:
            known.add(field_name)
    return {name: None if names is None else frozenset(names) for name, names in found.items()}


def _merge_fields(
    rules: Sequence[NegativeRule],
) -> dict[str, frozenset[str] | None]:
    merged: dict[str, frozenset[str] | None] = {name: frozenset() for name in _PER_EVALUATION}
    for rule in rules:
        for name, names in referenced_fields(rule.expression).items():
            current = merged[name]
            merged[name] = None if names is None or current is None else current | names
    return merged


def _pruned(value: Mapping[str, Any], names: frozenset[str] | None) -> Mapping[str, Any]:
    if names is None:
        return value
    return {name: value[name] for name in names if name in value}


# What every variable looks like, for the dry run at load that catches a misspelt
# variable or field before the rule ever meets a real case.
SAMPLE_CONTEXT: dict[str, Any] = {
    "proposal": {
        "action": "route",
        "value": "sample",
        "confidence": 0.5,
        "threshold": 0.5,
        "ai_drafted": False,
        "summary": "sample",
        "evidence": [{"kind": "token", "label": "sample", "weight": 0.1}],
        "evidence_labels": ["sample"],
    },
    "case": {
        "service_code": "sample",
        "state": "received",
        "channel": "web",
        "language": "en",
        "assisted": False,
        "description": "sample",
        "group": {},
        "group_names": [],
    },
    "agent": {
        "id": "sample",
        "version": "1",
        "grade": "I",
        "autonomy_level": 1,
        "engine": "sample",
        "features": ["description"],
    },
}


@dataclass(frozen=True, slots=True)
class NegativeList:
    """The rules of one list. Each rule keeps its own program (compiled at load, with
    its line on error); the list also compiles them into one program that returns
    every rule's result in one evaluation, and gives CEL only the fields the rules
    read (a rule that reads a variable as a whole gets every field of it)."""

    rules: tuple[NegativeRule, ...]
    params: Mapping[str, Any]
    source: str
    # Fields of each per-evaluation variable the rules read (None: all of them).
    fields: Mapping[str, frozenset[str] | None] = field(default_factory=dict, compare=False)
    # All the rules as one CEL list expression, one result per rule in order
    # (None: evaluate rule by rule).
    combined: Any = field(default=None, compare=False, repr=False)
    # One CEL context per thread holding the params and functions, converted once;
    # each evaluation only replaces the proposal, the case and the agent.
    _contexts: threading.local = field(
        default_factory=threading.local, compare=False, repr=False, hash=False
    )

    def _context(self) -> cel.Context:
        context: cel.Context | None = getattr(self._contexts, "context", None)
        if context is None:
            context = cel.Context(variables={"params": self.params}, functions=FUNCTIONS)
            self._contexts.context = context
            self._contexts.agent = None
        return context

    def evaluate(
        self, *, proposal: Mapping[str, Any], case: Mapping[str, Any], agent: Mapping[str, Any]
    ) -> tuple[RuleHit, ...]:
        """Every rule that applies to this proposal on this case by this agent."""
        context = self._context()
        fields = self.fields
        values: dict[str, Any] = {
            "proposal": _pruned(proposal, fields.get("proposal")),
            "case": _pruned(case, fields.get("case")),
        }
        agent_values = _pruned(agent, fields.get("agent"))
        if agent_values != self._contexts.agent:  # the same agent: already in the context
            values["agent"] = agent_values
            self._contexts.agent = None  # until the context holds it
        context.update(values)
        self._contexts.agent = agent_values
        results: list[Any] | None = None
        if self.combined is not None:
            try:
                results = self.combined.execute(context)
            except Exception:
                results = None  # some rule failed: find which, rule by rule
        if not isinstance(results, list) or len(results) != len(self.rules):
            results = [_run(rule, context) for rule in self.rules]
        hits: list[RuleHit] = []
        for rule, result in zip(self.rules, results, strict=True):
            if result is True:
                hits.append(RuleHit(rule.id, rule.verdict, rule.reason))
            elif isinstance(result, _Failed):
                hits.append(
                    RuleHit(rule.id, RuleVerdict.REQUIRE_HUMAN, rule.reason, error=result.error)
                )
            elif result is not False:
                error = f"returned {type(result).__name__}, not a boolean"
                hits.append(RuleHit(rule.id, RuleVerdict.REQUIRE_HUMAN, rule.reason, error=error))
        return tuple(hits)

    def as_config(self) -> dict[str, Any]:
        return {"params": dict(self.params), "rules": [rule.as_config() for rule in self.rules]}


@dataclass(frozen=True, slots=True)
class _Failed:
    error: str


def _run(rule: NegativeRule, context: cel.Context) -> Any:
    """One rule's result, or why it could not be evaluated (it then fails closed)."""
    try:
        return rule.program.execute(context)
    except Exception as exc:
        return _Failed(str(exc)[:300])


def _combine(rules: Sequence[NegativeRule]) -> Any:
    """One program listing every rule's result, or None (then rule by rule)."""
    if not rules:
        return None
    try:
        return cel.compile("[" + ", ".join(f"({rule.expression})" for rule in rules) + "]")
    except (ValueError, RuntimeError, TypeError):
        return None


def _node_for(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node  # type: ignore[no-any-return]
    return None


def _compile_rule(
    source: str, index: int, raw: Any, node: yaml.Node | None, params: Mapping[str, Any]
) -> NegativeRule:
    line = node.start_mark.line + 1 if node is not None else 0
    when_line = line
    if isinstance(node, yaml.MappingNode):
        when_node = _node_for(node, "when")
        if when_node is not None:
            when_line = when_node.start_mark.line + 1
    if not isinstance(raw, dict):
        raise ConfigInvalid(source, f"rules[{index}]: a rule is a map", line=line)
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not RULE_ID_PATTERN.match(rule_id):
        raise ConfigInvalid(
            source, f"rules[{index}].id: {rule_id!r} must be lower-case words with _", line=line
        )
    unknown = set(raw) - {"id", "verdict", "reason", "when"}
    if unknown:
        raise ConfigInvalid(
            source, f"rule {rule_id!r}: unknown keys {', '.join(sorted(unknown))}", line=line
        )
    try:
        verdict = RuleVerdict(str(raw.get("verdict")))
    except ValueError:
        raise ConfigInvalid(
            source,
            f"rule {rule_id!r}: verdict must be deny or require_human, not {raw.get('verdict')!r}",
            line=line,
        ) from None
    reason = raw.get("reason")
    if not (isinstance(reason, dict) and reason.get("en") and reason.get("zh")):
        raise ConfigInvalid(source, f"rule {rule_id!r}: reason needs en and zh text", line=line)
    expression = raw.get("when")
    if isinstance(expression, bool):
        raise RuleCompileError(
            source, when_line, rule_id, "when: YAML read a bare true/false; quote the expression"
        )
    if not isinstance(expression, str) or not expression.strip():
        raise RuleCompileError(source, when_line, rule_id, "when: a CEL expression is required")
    expression = " ".join(expression.split())
    try:
        program = cel.compile(expression)
    except (ValueError, RuntimeError, TypeError) as exc:
        raise RuleCompileError(source, when_line, rule_id, _first_line(exc)) from None
    # Dry run on a sample of every variable: an unknown variable, field or function,
    # or a result that is not a boolean, is refused now rather than at a citizen's case.
    # The sample holds only the fields the rule reads, as an evaluation gives it at
    # least those: a rule that needs more than its text names fails here, not later.
    reads = referenced_fields(expression)
    sample = {name: _pruned(SAMPLE_CONTEXT[name], reads.get(name, frozenset())) for name in reads}
    context = cel.Context(variables={**sample, "params": dict(params)}, functions=FUNCTIONS)
    try:
        result = program.execute(context)
    except KeyError as exc:
        raise RuleCompileError(
            source,
            when_line,
            rule_id,
            f"no such field {exc} (test a field that may be absent with has(...))",
        ) from None
    except Exception as exc:
        raise RuleCompileError(source, when_line, rule_id, _first_line(exc)) from None
    if not isinstance(result, bool):
        raise RuleCompileError(
            source, when_line, rule_id, f"must be true or false, not {type(result).__name__}"
        )
    return NegativeRule(
        id=rule_id,
        verdict=verdict,
        reason=Label(en=str(reason["en"]), zh=str(reason["zh"])),
        expression=expression,
        line=when_line,
        program=program,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line for line in text.splitlines() if line.strip()]
    # cel's syntax errors carry "ERROR: <input>:1:19: ..." on one of the lines.
    for line in lines:
        if "ERROR:" in line:
            return line.split("ERROR:", 1)[1].strip()
    return lines[0] if lines else type(exc).__name__


def parse_negative_list(text: str, *, source: str = "negative-list.yaml") -> NegativeList:
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigInvalid(source, f"not valid YAML: {exc}", line=line) from None
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ConfigInvalid(source, "must be a map with params and rules")
    unknown = set(data) - {"params", "rules"}
    if unknown:
        raise ConfigInvalid(source, f"unknown keys {', '.join(sorted(unknown))}")
    params = data.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigInvalid(source, "params must be a map")
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ConfigInvalid(source, "rules must be a list")
    rules_node = _node_for(root, "rules")
    nodes = rules_node.value if isinstance(rules_node, yaml.SequenceNode) else []
    rules: list[NegativeRule] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_rules):
        node = nodes[index] if index < len(nodes) else None
        rule = _compile_rule(source, index, raw, node, params)
        if rule.id in seen:
            raise ConfigInvalid(source, f"rule id {rule.id!r} appears twice", line=rule.line)
        seen.add(rule.id)
        rules.append(rule)
    return NegativeList(
        rules=tuple(rules),
        params=params,
        source=source,
        fields=_merge_fields(rules),
        combined=_combine(rules),
    )


def load_negative_list(path: Path | None = None) -> NegativeList:
    """The negative list in ``path`` (YAML), or cogov's default one."""
    if path is None:
        text = (
            resources.files("cogov.control")
            .joinpath("data", "negative-list.yaml")
            .read_text("utf-8")
        )
        return parse_negative_list(text, source="cogov/control/data/negative-list.yaml")
    return parse_negative_list(path.read_text(encoding="utf-8"), source=str(path))

"""docs/ledger-events.md is the catalogue auditors read to interpret the trail, so it
must list exactly the kinds the code writes: a kind written but not catalogued is an
entry nobody can interpret, a kind catalogued but never written is a stale promise.

Static, no database: src/cogov is parsed with ``ast``. A kind the code writes is a
string constant like ``case.received`` anywhere in

- the value of a ``kind=`` keyword argument (``append``, ``EntryDraft``, a package's
  own helper such as registry's ``_record``), conditional expressions included
  (``kind="user.enabled" if active else "user.disabled"``);
- the first positional argument of ``EntryDraft(...)`` (a dataclass: control builds
  its drafts positionally);
- the value assigned to a name whose upper-cased name contains ``KIND``, at module
  level (``RATING_KIND``, registry's step -> kind dict ``LEDGER_KIND``) or inside a
  function (registry picks ``filing.reinstated`` in a local ``kind``).

Ledger kinds are literals, so that this test can see them: a ``kind=`` value (or an
``EntryDraft`` kind, or a ``*KIND*`` value) built as an f-string, with ``%``,
``.format`` or ``+`` fails the test.

The catalogue's kinds are the backticked kinds in the first column of its event tables
(tables whose first header cell is ``kind``), not every backticked word on the page
(it also names modules like ``cogov.intake``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "cogov"
CATALOGUE = ROOT / "docs" / "ledger-events.md"

KIND = re.compile(r"^[a-z]+(\.[a-z_]+)+$")

# Calls whose ``kind=`` is not a ledger kind, and why (their values have no dot today,
# so the pattern alone would skip them; naming them keeps a future dotted value out).
NOT_LEDGER_CALLS = {
    "argsort": "numpy's sorting algorithm (kind='stable'), triage",
    "Question": "a grading question's answer type (QuestionKind), registry.grading",
}


@dataclass
class CodeKinds:
    """What the source says: each kind with where it is written, and every place a
    kind is built at run time instead of written as a literal."""

    kinds: dict[str, list[str]] = field(default_factory=dict)
    built: list[str] = field(default_factory=list)


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_built(value: ast.expr) -> bool:
    """An f-string, ``"..." % x``, ``"...".format(x)`` or ``"..." + x`` in ``value``."""
    for node in ast.walk(value):
        match node:
            case ast.JoinedStr():
                return True
            case ast.BinOp(op=ast.Mod() | ast.Add(), left=left, right=right) if (
                _text(left) is not None or _text(right) is not None
            ):
                return True
            case ast.Call(func=ast.Attribute(attr="format", value=text)) if _text(text) is not None:
                return True
    return False


def _kind_values(tree: ast.Module) -> Iterator[ast.expr]:
    """Every expression that gives a ledger kind (see the module's docstring)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) not in NOT_LEDGER_CALLS:
            yield from (k.value for k in node.keywords if k.arg == "kind")
            if _call_name(node) == "EntryDraft" and node.args:
                yield node.args[0]
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and "KIND" in t.id.upper() for t in targets):
                yield node.value


def kinds_in_source(text: str, where: str, found: CodeKinds) -> None:
    for value in _kind_values(ast.parse(text)):
        place = f"{where}:{value.lineno}"
        if _is_built(value):
            found.built.append(f"{place}: {ast.unparse(value)}")
        for node in ast.walk(value):
            constant = _text(node)
            if constant is not None and KIND.match(constant):
                found.kinds.setdefault(constant, []).append(place)


def code_kinds() -> CodeKinds:
    found = CodeKinds()
    for path in sorted(SRC.rglob("*.py")):
        where = str(path.relative_to(ROOT))
        kinds_in_source(path.read_text(encoding="utf-8"), where, found)
    return found


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def catalogue_kinds(text: str) -> list[str]:
    """The kinds in the first column of the page's event tables, in order (repeats kept)."""
    kinds: list[str] = []
    in_event_table = False
    previous_is_table = False
    for line in text.splitlines():
        is_table = line.lstrip().startswith("|")
        if is_table and not previous_is_table:  # a header row
            in_event_table = _cells(line)[0] == "kind"
        elif is_table and in_event_table and not set(_cells(line)[0]) <= set("-: "):
            first = _cells(line)[0]
            tokens = re.findall(r"`([^`]*)`", first)
            assert tokens, f"an event row without a backticked kind: {line!r}"
            for token in tokens:
                assert KIND.match(token), f"{token!r} in {line!r} is not a kind"
            kinds.extend(tokens)
        previous_is_table = is_table
    return kinds


def _report(kinds: dict[str, list[str]]) -> str:
    return "\n".join(f"  {kind}  ({', '.join(places)})" for kind, places in sorted(kinds.items()))


def test_every_kind_the_code_writes_is_in_the_catalogue() -> None:
    documented = set(catalogue_kinds(CATALOGUE.read_text(encoding="utf-8")))
    missing = {k: v for k, v in code_kinds().kinds.items() if k not in documented}
    assert not missing, (
        "the code writes ledger kinds docs/ledger-events.md does not list "
        "(add a row with its actor and payload):\n" + _report(missing)
    )


def test_the_catalogue_lists_only_kinds_the_code_writes() -> None:
    written = code_kinds().kinds
    stale = sorted(set(catalogue_kinds(CATALOGUE.read_text(encoding="utf-8"))) - set(written))
    assert not stale, f"docs/ledger-events.md lists kinds no code writes: {stale}"


def test_the_catalogue_lists_each_kind_once() -> None:
    kinds = catalogue_kinds(CATALOGUE.read_text(encoding="utf-8"))
    assert sorted({k for k in kinds if kinds.count(k) > 1}) == []


def test_ledger_kinds_are_literals() -> None:
    built = code_kinds().built
    assert not built, (
        "ledger kinds must be string literals (so the catalogue test sees them), "
        "not built at run time:\n  " + "\n  ".join(built)
    )


# --- the checks above can fail: what the collectors see -------------------------------
SAMPLE = """
RATING_KIND = "case.rated"
LEDGER_KIND = {1: "filing.submitted", 2: ("filing.approved")}
FRAME_KINDS: tuple[str, ...] = ("case.transitioned",)

def f(active, step, draft):
    append(s, kind="user.added", actor="user:a", payload={"note": "not.a_kind"})
    append(s, kind="user.enabled" if active else "user.disabled", actor="system:x")
    EntryDraft("review.queued", "system:control", {})
    kind = "filing.reinstated"
    _record(s, kind=kind)
    append(s, kind=f"filing.{step}")
    append(s, kind="filing.%s" % step)
    append(s, kind="filing.{}".format(step))
    append(s, kind="filing." + step)
    np.argsort(x, kind="not.ledger")
    Question(id="q", kind="not.ledger")
    describe(module="cogov.intake")
"""


def test_the_code_collector_sees_every_form_and_only_those() -> None:
    found = CodeKinds()
    kinds_in_source(SAMPLE, "sample.py", found)
    assert sorted(found.kinds) == [
        "case.rated",
        "case.transitioned",
        "filing.approved",
        "filing.reinstated",
        "filing.submitted",
        "review.queued",
        "user.added",
        "user.disabled",
        "user.enabled",
    ]
    assert [place.split(": ", 1)[1] for place in found.built] == [
        "f'filing.{step}'",
        "'filing.%s' % step",
        "'filing.{}'.format(step)",
        "'filing.' + step",
    ]


def test_the_catalogue_parser_reads_only_event_tables_first_column() -> None:
    page = (
        "# Events\n\nWritten by `cogov.intake` (`not.this`).\n\n"
        "| responsible | meaning |\n| --- | --- |\n| `developer` | `not.this.either` |\n\n"
        "| kind | actor | payload |\n| --- | --- | --- |\n"
        "| `case.received` | `citizen:<case>` | `service_code` |\n"
        "| `review.team_joined` / `review.team_left` | `user:<admin>` | `team.name` |\n"
    )
    assert catalogue_kinds(page) == ["case.received", "review.team_joined", "review.team_left"]


def test_the_code_writes_kinds_and_the_catalogue_lists_them() -> None:
    # Both sides empty would pass the comparisons above while checking nothing.
    assert "case.received" in code_kinds().kinds
    assert "case.received" in catalogue_kinds(CATALOGUE.read_text(encoding="utf-8"))

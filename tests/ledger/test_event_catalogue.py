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

Payload fields too: for each kind, the keys the code writes (read where the entry is
written, following spreads, local dicts, helpers and parameters as far as the source
spells them out; see "payload fields" below) must be exactly the fields its row lists,
the backticked names of the ``payload`` column outside parentheses (values, nested keys
and remarks go inside them). A key written but not listed is a field auditors cannot
interpret; one listed but never written is a stale promise. A payload part the test
cannot read fails it, by name, rather than being skipped.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "cogov"
CATALOGUE = ROOT / "docs" / "ledger-events.md"

KIND = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")

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


# --- payload fields: what the code writes under each kind -------------------------------
# A payload is read where its entry is written, following what the source spells out:
# a dict's literal keys; what is spread into it (``**evidence``: autonomy's _change is
# followed to its callers' literal ``evidence=`` dicts; ``**_ledger_value(...)``: the
# dicts that function returns); a local dict and what is stored into it (control's
# _step: ``payload["reason"] = ...``, ``payload.update(details or {})``); a helper that
# takes the kind and builds the payload (registry's _record and _refuse_and_record,
# control's _Ledger.add), read with its parameters bound to each call's arguments, so a
# key set under ``if to_status is not None`` counts only where the call passes one. A
# part it cannot follow is not skipped: the test names it.


@dataclass(eq=False)
class Module:
    """One parsed source file: its functions by name, the function enclosing each node,
    and its module-level assignments."""

    where: str
    tree: ast.Module
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    enclosing: dict[ast.AST, ast.FunctionDef] = field(default_factory=dict)
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imported: dict[str, str] = field(default_factory=dict)  # name -> the module it is from

    @classmethod
    def parse(cls, text: str, where: str) -> Module:
        module = cls(where, ast.parse(text))
        for node in module.tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    module.imported[alias.asname or alias.name] = node.module
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        module.constants[target.id] = node.value
        module._enclose(module.tree, None)
        return module

    def _enclose(self, node: ast.AST, function: ast.FunctionDef | None) -> None:
        if isinstance(node, ast.FunctionDef):
            self.functions.setdefault(node.name, node)
            function = node
        for child in ast.iter_child_nodes(node):
            if function is not None:
                self.enclosing[child] = function
            self._enclose(child, function)


@dataclass(frozen=True)
class Scope:
    """Where an expression is read: a module and the function around it. ``bound``: the
    function's parameters and what a call passed them (reached through that call), or
    None (its parameters are followed to every call of it in the module)."""

    module: Module
    function: ast.FunctionDef | None
    bound: dict[str, tuple[ast.expr, Scope]] | None = None

    def params(self) -> dict[str, ast.expr | None]:
        """Each parameter with its default (None when it has none)."""
        if self.function is None:
            return {}
        arguments = self.function.args
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
        named = dict(
            zip((a.arg for a in positional), [*defaults, *arguments.defaults], strict=True)
        )
        named.update(zip((a.arg for a in arguments.kwonlyargs), arguments.kw_defaults, strict=True))
        return named


def _scope_of(module: Module, node: ast.AST) -> Scope:
    return Scope(module, module.enclosing.get(node))


PARAMETER = "parameter"  # a kind passed in: the function is a helper, read at its calls


def ledger_calls(module: Module) -> Iterator[tuple[ast.Call, ast.expr, ast.expr | None]]:
    """Each call that writes an entry (as the kind collector sees them), with its kind
    and payload expressions (``payload=``; ``EntryDraft``'s third positional argument)."""
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Call) or _call_name(node) in NOT_LEDGER_CALLS:
            continue
        keywords = {k.arg: k.value for k in node.keywords}
        kind = keywords.get("kind")
        payload = keywords.get("payload")
        if _call_name(node) == "EntryDraft":
            kind = node.args[0] if node.args else kind
            payload = node.args[2] if len(node.args) > 2 else payload
        if kind is not None:
            yield node, kind, payload


def kinds_of(value: ast.expr, scope: Scope, source: Source) -> set[str] | str | None:
    """The literal kinds ``value`` may be; PARAMETER when a parameter gives it; None
    when it cannot be told from the source."""
    parts: list[tuple[ast.expr, Scope]] = []
    match value:
        case ast.Constant(value=str(text)):
            return {text}
        case ast.Name(id=name) | ast.Attribute(value=ast.Name(id=name)) if name in scope.params():
            if scope.bound is not None and isinstance(value, ast.Name) and name in scope.bound:
                return kinds_of(*scope.bound[name], source)
            return PARAMETER
        case ast.IfExp(body=body, orelse=orelse):
            parts = [(body, scope), (orelse, scope)]
        case ast.Name(id=name) if _assigned(name, scope):
            parts = [(each, scope) for each in _assigned(name, scope)]
        case ast.Name(id=name) | ast.Subscript(value=ast.Name(id=name)):
            found = source.constant(name, scope.module)
            if found is None:
                return None
            table, where = found
            if isinstance(value, ast.Name):
                parts = [(table, where)]
            elif isinstance(table, ast.Dict):  # a kind looked up in a table of kinds
                parts = [(each, where) for each in table.values]
    kinds: set[str] = set()
    for part, where in parts:
        found_kinds = kinds_of(part, where, source)
        if not isinstance(found_kinds, set):
            return None
        kinds |= found_kinds
    return kinds or None


def _assigned(name: str, scope: Scope) -> list[ast.expr]:
    """The values assigned to local ``name`` in the scope's function."""
    if scope.function is None:
        return []
    values = []
    for node in ast.walk(scope.function):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(node.value)
    return values


@dataclass
class Keys:
    """Payload keys found, and the parts whose keys the source does not spell out."""

    keys: set[str] = field(default_factory=set)
    dynamic: list[str] = field(default_factory=list)

    def add(self, other: Keys) -> None:
        self.keys |= other.keys
        self.dynamic += other.dynamic


def keys_of(value: ast.expr | None, scope: Scope, source: Source) -> Keys:
    """The payload keys ``value`` (a payload expression) may hold: a dict's literal
    keys, what is spread into it (``**x``), a local dict with what is stored in it
    (``d["k"] = ...``, ``d.update(x)``), a parameter (what the call reaching it, or
    every call of the function in its module, passes), a function's returned dicts."""
    found = Keys()
    match value:
        case None | ast.Constant(value=None):
            pass
        case ast.Dict(keys=keys, values=values):
            for key, item in zip(keys, values, strict=True):
                if key is None:
                    found.add(keys_of(item, scope, source))
                elif _text(key) is not None:
                    found.keys.add(str(_text(key)))
                else:
                    found.dynamic.append(
                        f"{scope.module.where}:{key.lineno}: key {ast.unparse(key)}"
                    )
        case ast.BoolOp(values=values):
            for item in values:
                found.add(keys_of(item, scope, source))
        case ast.Name(id=name) if name in scope.params():
            found.add(_parameter_keys(name, scope, source))
        case ast.Name(id=name) if _assigned(name, scope):
            for item in _assigned(name, scope):
                found.add(keys_of(item, scope, source))
            found.add(_stored_keys(name, scope, source))
        case ast.Call(func=ast.Name(id=name)) if name in scope.module.functions:
            function = scope.module.functions[name]
            returned = Scope(scope.module, function)
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and node.value is not None:
                    found.add(keys_of(node.value, returned, source))
        case _:
            found.dynamic.append(f"{scope.module.where}:{value.lineno}: {ast.unparse(value)}")
    return found


def _reachable(node: ast.AST, scope: Scope) -> Iterator[ast.AST]:
    """``node`` and what is under it, but not the body of an ``if p`` / ``if p is not
    None`` on a parameter ``p`` that the call reaching the function left at None."""
    yield node
    children = node.orelse if isinstance(node, ast.If) and _left_unset(node.test, scope) else None
    for child in ast.iter_child_nodes(node) if children is None else children:
        yield from _reachable(child, scope)


def _left_unset(test: ast.expr, scope: Scope) -> bool:
    match test:
        case (
            ast.Name(id=name)
            | ast.Compare(
                left=ast.Name(id=name), ops=[ast.IsNot()], comparators=[ast.Constant(value=None)]
            )
        ):
            if scope.bound is None or name not in scope.params():
                return False
            given = scope.bound[name][0] if name in scope.bound else scope.params()[name]
            return isinstance(given, ast.Constant) and given.value is None
    return False


def _stored_keys(name: str, scope: Scope, source: Source) -> Keys:
    """Keys stored into the local dict ``name``: ``name["k"] = ...``, ``name.update(x)``."""
    found = Keys()
    assert scope.function is not None
    for node in _reachable(scope.function, scope):
        match node:
            case ast.Assign(targets=[ast.Subscript(value=ast.Name(id=target), slice=key)]) if (
                target == name
            ):
                if _text(key) is None:
                    found.dynamic.append(f"{scope.module.where}:{node.lineno}: {ast.unparse(node)}")
                else:
                    found.keys.add(str(_text(key)))
            case ast.Call(
                func=ast.Attribute(value=ast.Name(id=target), attr="update"), args=[arg]
            ) if target == name:
                found.add(keys_of(arg, scope, source))
    return found


def _parameter_keys(name: str, scope: Scope, source: Source) -> Keys:
    """Keys a parameter brings: what the call reaching the function passed it, else
    what every call of the function in its module passes (by keyword)."""
    if scope.bound is not None:
        if name not in scope.bound:
            return Keys()
        passed, where = scope.bound[name]
        return keys_of(passed, where, source)
    found = Keys()
    assert scope.function is not None
    function = scope.function
    for node in ast.walk(scope.module.tree):
        if isinstance(node, ast.Call) and _call_name(node) == function.name:
            keywords = {k.arg: k.value for k in node.keywords}
            if name in keywords:
                found.add(keys_of(keywords[name], _scope_of(scope.module, node), source))
            elif len(node.args) > _position(function, name):
                found.dynamic.append(
                    f"{scope.module.where}:{node.lineno}: {function.name}(...) passes "
                    f"{name} by position"
                )
    return found


def _position(function: ast.FunctionDef, name: str) -> int:
    """Where parameter ``name`` stands among the positional ones (past the end: keyword-only)."""
    positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    return positional.index(name) if name in positional else len(positional) + 10**6


@dataclass
class Helper:
    """A function that takes the kind as a parameter and passes it on to its own ledger
    calls (registry's ``_record``, control's ``_Ledger.add``): read at each call of it."""

    module: Module
    function: ast.FunctionDef
    calls: list[tuple[ast.Call, ast.expr | None]] = field(default_factory=list)


def _dotted(where: str) -> str:
    return (
        where.removeprefix("src/").removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    )


@dataclass
class Source:
    """The source files by dotted module name (parsed when first needed), the ledger
    calls of those that write entries, and the ledger helpers among their functions."""

    texts: dict[str, tuple[str, str]]  # dotted name -> (path, text)
    parsed: dict[str, Module] = field(default_factory=dict)
    calls: list[tuple[Module, ast.Call, ast.expr, ast.expr | None]] = field(default_factory=list)
    helpers: dict[str, Helper] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, (_where, text) in self.texts.items():
            if "kind" in text:  # every ledger call names its kind (cheaper than parsing all)
                module = self.module(name)
                assert module is not None
                self.calls += [(module, *call) for call in ledger_calls(module)]
        for module, call, kind, payload in self.calls:
            scope = _scope_of(module, call)
            if kinds_of(kind, scope, self) == PARAMETER and scope.function is not None:
                name = scope.function.name
                helper = self.helpers.setdefault(name, Helper(module, scope.function))
                helper.calls.append((call, payload))

    def module(self, name: str) -> Module | None:
        if name not in self.parsed and name in self.texts:
            where, text = self.texts[name]
            self.parsed[name] = Module.parse(text, where)
        return self.parsed.get(name)

    def constant(self, name: str, module: Module) -> tuple[ast.expr, Scope] | None:
        """The value of a module-level ``name`` in ``module`` or where it imports it from."""
        if name in module.constants:
            return module.constants[name], Scope(module, None)
        origin = self.module(module.imported.get(name, ""))
        return self.constant(name, origin) if origin is not None else None


def payload_keys(call: ast.Call, payload: ast.expr | None, scope: Scope, source: Source) -> Keys:
    """The keys of the entry ``call`` writes: its payload's, or through a helper, what
    the helper's own ledger call writes with the helper's parameters bound to this
    call's arguments."""
    helper = source.helpers.get(_call_name(call))
    if helper is None:
        return keys_of(payload, scope, source)
    bound = {k.arg: (k.value, scope) for k in call.keywords if k.arg is not None}
    inner = Scope(helper.module, helper.function, bound)
    found = Keys()
    for inner_call, inner_payload in helper.calls:
        found.add(payload_keys(inner_call, inner_payload, inner, source))
    return found


# Calls with a ``kind=`` that is not written by the code (nor a literal), and why.
NOT_WRITTEN = {
    "LedgerEntryRead": "an entry read back (cogov.ledger.service.read_entry): the kind stored",
}


@dataclass
class PayloadSite:
    """One place that writes entries of literal kinds, with the payload keys it writes."""

    where: str
    kinds: set[str]
    keys: Keys


def payload_sites(source: Source) -> tuple[list[PayloadSite], list[str]]:
    """Every place that writes entries of literal kinds, and the ledger calls whose kind
    is neither a literal nor a helper's parameter (nor NOT_WRITTEN)."""
    sites, unknown = [], []
    for module, call, kind, payload in source.calls:
        scope = _scope_of(module, call)
        kinds = kinds_of(kind, scope, source)
        where = f"{module.where}:{call.lineno}"
        if isinstance(kinds, set):
            sites.append(PayloadSite(where, kinds, payload_keys(call, payload, scope, source)))
        elif kinds is None and _call_name(call) not in NOT_WRITTEN:
            unknown.append(f"{where}: {ast.unparse(kind)}")
    return sites, unknown


def code_payloads(sources: Iterable[tuple[str, str]]) -> tuple[dict[str, Keys], list[str]]:
    """Each kind with the keys written under it (every place that writes it, joined),
    and the ledger calls whose kind cannot be told; ``sources``: (path, text) pairs."""
    source = Source({_dotted(where): (where, text) for where, text in sources})
    sites, unknown = payload_sites(source)
    by_kind: dict[str, Keys] = {}
    for site in sites:
        for kind in site.kinds:
            by_kind.setdefault(kind, Keys()).add(site.keys)
    return by_kind, unknown


@functools.cache
def written_payloads() -> tuple[dict[str, Keys], list[str]]:
    """:func:`code_payloads` of src/cogov (read once per run)."""
    return code_payloads(
        (str(path.relative_to(ROOT)), path.read_text(encoding="utf-8"))
        for path in sorted(SRC.rglob("*.py"))
    )


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _event_rows(text: str) -> Iterator[tuple[list[str], dict[str, str], str]]:
    """Each row of the page's event tables: its kinds (the backticked kinds in the first
    column), its cells by header, and the line."""
    header: list[str] = []
    in_event_table = False
    previous_is_table = False
    for line in text.splitlines():
        is_table = line.lstrip().startswith("|")
        if is_table and not previous_is_table:  # a header row
            header = _cells(line)
            in_event_table = header[0] == "kind"
        elif is_table and in_event_table and not set(_cells(line)[0]) <= set("-: "):
            cells = _cells(line)
            tokens = re.findall(r"`([^`]*)`", cells[0])
            assert tokens, f"an event row without a backticked kind: {line!r}"
            for token in tokens:
                assert KIND.match(token), f"{token!r} in {line!r} is not a kind"
            yield tokens, dict(zip(header, cells, strict=False)), line
        previous_is_table = is_table


def catalogue_kinds(text: str) -> list[str]:
    """The kinds in the first column of the page's event tables, in order (repeats kept)."""
    return [kind for kinds, _cells_by_header, _line in _event_rows(text) for kind in kinds]


def _outside_parentheses(text: str) -> str:
    kept, depth = [], 0
    for char in text:
        depth += char == "("
        if depth == 0:
            kept.append(char)
        depth -= char == ")" and depth > 0
    return "".join(kept)


def catalogue_payloads(text: str) -> dict[str, set[str]]:
    """Each kind's payload fields: the backticked names in its row's ``payload`` cell,
    outside parentheses (inside them are values, nested keys and remarks)."""
    fields: dict[str, set[str]] = {}
    for kinds, cells, line in _event_rows(text):
        tokens = re.findall(r"`([^`]*)`", _outside_parentheses(cells.get("payload", "")))
        for token in tokens:
            assert FIELD.match(token), (
                f"{token!r} in the payload of {line!r} is not a field name "
                "(values and remarks go in parentheses)"
            )
        for kind in kinds:
            fields[kind] = set(tokens)
    return fields


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


def test_each_kinds_payload_fields_are_the_catalogued_ones() -> None:
    written, _unknown = written_payloads()
    documented = catalogue_payloads(CATALOGUE.read_text(encoding="utf-8"))
    wrong = []
    for kind in sorted(set(written) & set(documented)):  # other kinds: the tests above
        keys, fields = written[kind].keys, documented[kind]
        if keys - fields:
            wrong.append(f"  {kind}: written but not catalogued: {sorted(keys - fields)}")
        if fields - keys:
            wrong.append(f"  {kind}: catalogued but never written: {sorted(fields - keys)}")
    assert not wrong, (
        "docs/ledger-events.md and the code disagree on payload fields (the payload "
        "column's backticked names outside parentheses):\n" + "\n".join(wrong)
    )


def test_every_payload_can_be_read_from_the_source() -> None:
    written, unknown = written_payloads()
    unread = sorted({part for keys in written.values() for part in keys.dynamic})
    assert not unknown, f"ledger calls whose kind the test cannot tell: {unknown}"
    assert not unread, (
        "payload keys the test cannot read from the source (write them as literal keys, "
        "or teach the collector the form):\n  " + "\n  ".join(unread)
    )


def test_every_kind_written_has_its_payload_read() -> None:
    # The payload collector finds the same writes as the kind collector above.
    written, _unknown = written_payloads()
    assert sorted(written) == sorted(code_kinds().kinds)


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


PAYLOAD_SAMPLE = {
    "src/cogov/kinds.py": 'TABLE = {1: "filing.approved", 2: "filing.retired"}\n',
    "src/cogov/sample.py": """
from cogov.kinds import TABLE

class _Ledger:
    def add(self, *, kind, payload):
        self.drafts.append(EntryDraft(kind, "system:x", payload))

def _record(session, *, kind, payload, reason=None, to=None):
    body = {"agent_id": 1, **payload}
    if to is not None:
        body["to"] = to
    if reason:
        body["reason"] = reason
    append(session, kind=kind, actor="system:x", payload=body)

def _value(action, value):
    if action == "draft_reply":
        return {"value_sha256": 1, "value_length": 2}
    return {"value": value}

def _change(session, *, evidence):
    append(session, kind="autonomy.changed", payload={"level": 1, **evidence})

def _step(ledger, row, details=None):
    payload = {"from": row.state}
    payload.update(details or {})
    ledger.add(kind="case.transitioned", payload=payload)

def f(session, ledger, step, active, row, make, key):
    _record(session, kind="filing.filed", payload={"grade": "I"}, to="draft", reason=None)
    _record(session, kind=TABLE[step], payload={}, reason="why")
    append(session, kind="user.enabled" if active else "user.disabled", payload={"username": 1})
    EntryDraft("proposal.made", "agent:x", {"action": 1, **_value(step, active)})
    _change(session, evidence={"ceiling": 2})
    _change(session, evidence={"metrics": {"not_a_key": 1}})
    _step(ledger, row, details={"reply_sha256": 1})
    _step(ledger, row, {"by_position": 1})
    append(session, kind="case.rated", payload=make())
    append(session, kind="case.rated", payload={key: 1})
    entry = make()
    append(session, kind=entry.kind)
""",
}


def test_the_payload_collector_follows_every_form_and_names_what_it_cannot() -> None:
    written, unknown = code_payloads(PAYLOAD_SAMPLE.items())
    assert {kind: sorted(keys.keys) for kind, keys in written.items()} == {
        "filing.filed": ["agent_id", "grade", "to"],  # reason=None: not written
        "filing.approved": ["agent_id", "reason"],  # no to=: not written
        "filing.retired": ["agent_id", "reason"],
        "user.enabled": ["username"],
        "user.disabled": ["username"],
        "proposal.made": ["action", "value", "value_length", "value_sha256"],
        "autonomy.changed": ["ceiling", "level", "metrics"],
        "case.transitioned": ["from", "reply_sha256"],
        "case.rated": [],
    }
    unread = sorted(part.split(": ", 1)[1] for keys in written.values() for part in keys.dynamic)
    assert unread == [
        "_step(...) passes details by position",
        "key key",
        "make()",
    ]
    assert [place.split(": ", 1)[1] for place in unknown] == ["entry.kind"]


def test_the_catalogue_parser_reads_payload_fields_outside_parentheses() -> None:
    page = (
        "| kind | actor | payload |\n| --- | --- | --- |\n"
        "| `case.rated` | `citizen:<case>` | `score` (1-5, `cogov.intake`), `how` (`a`/`b`, "
        "nested `c`), or `value_sha256` (for a `draft_reply`): a remark |\n"
        "| `review.team_joined` / `review.team_left` | `user:<admin>` | `team` |\n"
    )
    assert catalogue_payloads(page) == {
        "case.rated": {"score", "how", "value_sha256"},
        "review.team_joined": {"team"},
        "review.team_left": {"team"},
    }
    loose = page + "| `filing.reinstated` | `user:<a>` | as `filing.activated` |\n"
    with pytest.raises(AssertionError, match=r"'filing\.activated' in the payload"):
        catalogue_payloads(loose)

"""Bad input to every `cogov` command: one clear message naming the flag, column,
file or field and why, exit code 2 (3 for a thing that does not exist), never a
traceback, and nothing written.

The commands are enumerated from the Typer app, so a new command without a case
here fails ``test_every_command_has_bad_input_cases``. Each case runs against a
fresh data directory on SQLite, and against a PostgreSQL database of its own when
COGOV_TEST_DATABASE_URL is set; after a refused command every table holds the
rows it held before.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.sql import table
from typer.testing import CliRunner, Result

from cogov.cli.main import app
from cogov.db.engine import make_engine
from tests.conftest import BACKENDS, fresh_migrated_database

runner = CliRunner()
ROUTER_FILING = Path(__file__).resolve().parents[2] / "docs" / "examples" / "router-agent.yaml"
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/cogov"


def command_paths() -> list[str]:
    """Every command the `cogov` app answers to, hidden aliases included."""
    found: list[str] = []

    def walk(command: object, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        if children is None:
            found.append(" ".join(path))
            return
        for name, child in children.items():
            walk(child, [*path, name])

    walk(typer.main.get_command(app), [])
    return sorted(found)


def options_of(path: str) -> set[str]:
    command: object = typer.main.get_command(app)
    for name in path.split():
        command = command.commands[name]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Bad:
    """One bad invocation. ``{d}`` is the data directory, ``{f}`` the folder of bad
    files (see ``files``); ``says`` must appear in the message (whitespace folded)."""

    args: str | tuple[str, ...]
    says: str
    code: int = 2
    stdin: str | None = None

    def argv(self, data_dir: Path, files: Path) -> list[str]:
        parts = self.args.split() if isinstance(self.args, str) else list(self.args)
        return [p.replace("{d}", str(data_dir)).replace("{f}", str(files)) for p in parts]

    @property
    def id(self) -> str:
        text = self.args if isinstance(self.args, str) else " ".join(self.args)
        return text.replace("{d}", "D").replace("{f}/", "")[:70]


D = "--data-dir {d}"
CASES: dict[str, list[Bad]] = {
    "db upgrade": [
        Bad("db upgrade --data-dir {f}/table.csv", "--data-dir: "),
        Bad(("db", "upgrade", "--data-dir", ""), "'--data-dir': must not be empty"),
    ],
    "serve": [
        Bad(f"serve --port 0 {D}", "'--port'"),
        Bad(f"serve --port 70000 {D}", "'--port'"),
        Bad(f"serve --workers 0 {D}", "'--workers'"),
        Bad(f"serve --log-level loud {D}", "'--log-level'"),
        Bad("serve --data-dir {f}/table.csv", "is a file, not a directory"),
    ],
    "demo": [
        Bad("demo --no-serve --history {f}/table.csv --data-dir {f}/table.csv", "--data-dir"),
        Bad(
            "demo --no-serve --history {f}/table.csv --preset nope --data-dir {d}/demo", "--preset"
        ),
        Bad(
            "demo --no-serve --history {f}/none.csv --preset nyc311 --data-dir {d}/demo", "none.csv"
        ),
        Bad(
            "demo --no-serve --history {f}/table.csv --data-dir {d}/demo", "--text-col/--label-col"
        ),
        Bad(
            "demo --no-serve --history {f}/table.csv --text-col nocol --label-col l "
            "--data-dir {d}/demo",
            "--text-col: no column 'nocol'",
        ),
        Bad(
            "demo --no-serve --history {f}/table.csv --text-col t --label-col l "
            "--train-share 5 --data-dir {d}/demo",
            "--train-share",
        ),
        Bad("demo --no-serve --history {f}/table.csv --limit -1 --data-dir {d}/demo", "'--limit'"),
        Bad("demo --no-serve --history {f}/table.csv --data-dir {f}", "not empty"),
    ],
    "ledger verify": [
        Bad(f"ledger verify --public-key {{f}}/none.pem {D}", "none.pem"),
        Bad(f"ledger verify --public-key {{f}}/bad.json {D}", "not a PEM public key"),
        Bad(f"ledger verify --public-key {{f}}/folder {D}", "Is a directory"),
        Bad(f"ledger verify --workers 0 {D}", "'--workers'"),
        Bad(f"ledger verify --public-key {{f}}/binary.csv {D}", "--public-key: "),
    ],
    "ledger checkpoint": [
        Bad(f"ledger checkpoint --out {{f}}/folder {D}", "--out: "),
        Bad(f"ledger checkpoint --out {{f}}/table.csv/x {D}", "is a file, not a directory"),
    ],
    "ledger prove": [
        Bad(f"ledger prove 1 {D}", "no checkpoint yet"),
        Bad(f"ledger prove -5 {D}", "No such option"),
        Bad(f"ledger prove x {D}", "'seq'"),
        Bad(f"ledger prove 1 --size -1 {D}", "'--size'"),
    ],
    "ledger consistency": [
        Bad(f"ledger consistency 5 2 {D}", "old_size: 5 is not between 0 and 2"),
        Bad(f"ledger consistency 0 99999999999 {D}", "tree size 99999999999"),
        Bad(f"ledger consistency x {D}", "'old'"),
    ],
    "ledger check-proof": [
        Bad("ledger check-proof {f}/none.json", "No such file"),
        Bad("ledger check-proof {f}/folder", "Is a directory"),
        Bad("ledger check-proof {f}/bad.json", "not JSON"),
        Bad("ledger check-proof {f}/empty.csv", "not JSON"),
        Bad("ledger check-proof {f}/list.json", "not a proof bundle"),
        Bad("ledger check-proof {f}/garbage.parquet", "garbage.parquet"),
        Bad("ledger check-proof {f}/binary.csv", "not UTF-8 text"),
        Bad("ledger check-proof {f}/bundle.json --public-key {f}/bad.json", "--public-key: "),
    ],
    "ledger export": [
        Bad(f"ledger export --out {{f}}/folder {D}", "Is a directory"),
        Bad(f"ledger export --out {{f}}/table.csv/x {D}", "is a file, not a directory"),
        Bad(("ledger", "export", "--out", " ", "--data-dir", "{d}"), "'--out': must not be empty"),
    ],
    "ledger public-key": [
        Bad("ledger public-key --data-dir {f}/table.csv", "--data-dir"),
    ],
    "users add": [
        Bad(f"users add Bad.Name --role reviewer --by admin {D}", "username:"),
        Bad(
            ("users", "add", "", "--role", "reviewer", "--by", "admin", "--data-dir", "{d}"),
            "username:",
        ),
        Bad(f"users add bob --role king --by admin {D}", "'--role'"),
        Bad(f"users add bob --by admin {D}", "--role"),
        Bad(f"users add admin --role reviewer --by admin {D}", "already taken"),
        Bad(f"users add bob --role reviewer --by ghost {D}", "'ghost' not found", 3),
        Bad(f"users add bob --role reviewer --by rita {D}", "rita"),
        Bad(
            (
                "users",
                "add",
                "bob",
                "--role",
                "reviewer",
                "--by",
                "admin",
                "--display-name",
                "",
                "--data-dir",
                "{d}",
            ),
            "display_name: must not be empty",
        ),
        Bad(
            f"users add bob --role reviewer --by admin --password-stdin {D}",
            "password:",
            stdin="short\n",
        ),
    ],
    "users list": [
        Bad(f"users list --role king {D}", "'--role'"),
        Bad("users list --data-dir {f}/table.csv", "--data-dir"),
    ],
    "users disable": [
        Bad(f"users disable ghost --by admin --reason left {D}", "'ghost' not found", 3),
        Bad(
            ("users", "disable", "rita", "--by", "admin", "--reason", "", "--data-dir", "{d}"),
            "reason: must not be empty",
        ),
        Bad(f"users disable rita --reason left {D}", "'--by'"),
        Bad(
            f"users disable rita --by admin --reason left\x1b[2J {D}",
            "reason: contains a control character U+001B at position 5",
        ),
    ],
    "users enable": [
        Bad(f"users enable ghost --by admin --reason back {D}", "'ghost' not found", 3),
        Bad(f"users enable rita --by admin --reason back {D}", "rita"),
    ],
    "users roles": [
        Bad(f"users roles ghost --role reviewer --by admin --reason r {D}", "not found", 3),
        Bad(f"users roles rita --role king --by admin --reason r {D}", "'--role'"),
        # Typed text refuses control characters other than tab, LF and CR (cogov.core.text).
        Bad(
            f"users roles rita --role auditor --by admin --reason moved\x07 {D}",
            "reason: contains a control character U+0007 at position 6",
        ),
    ],
    "users departments": [
        Bad(f"users departments ghost {D}", "'ghost' not found", 3),
        Bad(f"users departments rita --add DPW {D}", "--by and --reason"),
        Bad(
            (
                "users",
                "departments",
                "rita",
                "--add",
                "",
                "--by",
                "admin",
                "--reason",
                "r",
                "--data-dir",
                "{d}",
            ),
            "add: a department name must not be empty",
        ),
    ],
    "users password": [
        Bad(f"users password rita {D}", "password: must be at least", stdin="short\n"),
        Bad(f"users password ghost {D}", "ghost", 3, stdin="a long enough secret\n"),
    ],
    "tokens issue": [
        Bad(f"tokens issue ghost {D}", "'ghost' not found", 3),
        Bad(f"tokens issue admin --days 0 {D}", "'--days'"),
        Bad(f"tokens issue admin --days 99999999 {D}", "'--days'"),
        Bad(("tokens", "issue", "admin", "--name", "", "--data-dir", "{d}"), "name: must not"),
        Bad(
            ("tokens", "issue", "admin", "--name", "ci\x9b", "--data-dir", "{d}"),
            "name: contains a control character U+009B at position 3",
        ),
    ],
    "tokens list": [
        Bad(f"tokens list --user ghost {D}", "'ghost' not found", 3),
    ],
    "tokens revoke": [
        Bad(f"tokens revoke nosuch {D}", "'nosuch' not found", 3),
    ],
    "registry file": [
        Bad(f"registry file {{f}}/none.yaml {D}", "No such file"),
        Bad(f"registry file {{f}}/folder {D}", "Is a directory"),
        Bad(f"registry file {{f}}/empty.csv {D}", "a filing is a map"),
        Bad(f"registry file {{f}}/bad.yaml {D}", "not valid YAML"),
        Bad(f"registry file {{f}}/garbage.parquet {D}", "not valid YAML"),
        Bad(f"registry file {{f}}/list.json {D}", "a filing is a map"),
        Bad(f"registry file {ROUTER_FILING} --by ghost {D}", "'ghost' not found", 3),
    ],
    "registry list": [Bad("registry list --data-dir {f}/table.csv", "--data-dir")],
    "registry show": [
        Bad(f"registry show ghost {D}", "agent 'ghost' not found", 3),
        Bad(f"registry show router-agent --version 0 {D}", "'--version'"),
        Bad(f"registry show router-agent --version 99 {D}", "version 99 not found", 3),
        Bad(f"registry show router-agent --version 99999999999 {D}", "not found", 3),
    ],
    "registry history": [Bad(f"registry history ghost {D}", "agent 'ghost' not found", 3)],
    "registry export": [
        Bad(f"registry export --format nope {D}", "format: 'nope'"),
        Bad(f"registry export --agent ghost {D}", "agent 'ghost' not found", 3),
        Bad(f"registry export --output {{f}}/folder {D}", "Is a directory"),
    ],
    "registry grade": [
        Bad("registry grade {f}/none.yaml", "No such file"),
        Bad("registry grade {f}/folder", "Is a directory"),
        Bad("registry grade {f}/empty.csv", "expected a map"),
        Bad("registry grade {f}/bad.yaml", "not valid YAML"),
        Bad("registry grade {f}/garbage.parquet", "not valid YAML"),
        Bad("registry grade {f}/list.json", "expected a map"),
    ],
    "registry gate": [
        Bad(f"registry gate ghost --service rodent {D}", "agent 'ghost' not found", 3),
        Bad(f"registry gate router-agent {D}", "'--service'"),
        Bad(f"registry gate router-agent --service rodent --version 7 {D}", "version 7", 3),
        Bad(
            f"registry gate router-agent --service rodent --version 99999999999 {D}", "not found", 3
        ),
    ],
    "registry public": [Bad("registry public --data-dir {f}/table.csv", "--data-dir")],
    "registry pause": [
        Bad(f"registry pause ghost --by admin --reason r {D}", "'ghost' not found", 3),
        Bad(
            (
                "registry",
                "pause",
                "router-agent",
                "--by",
                "admin",
                "--reason",
                "",
                "--data-dir",
                "{d}",
            ),
            "reason",
        ),
        Bad(
            f"registry pause router-agent --by admin --reason r\x01 {D}",
            "reason: contains a control character U+0001 at position 2",
        ),
    ],
    "registry resume": [Bad(f"registry resume ghost --by admin --reason r {D}", "not found", 3)],
    "registry guardians": [
        Bad(
            f"registry guardians ghost --guardian rita --backup admin --by admin --reason r {D}",
            "'ghost' not found",
            3,
        ),
    ],
    "audit run": [
        Bad("audit run --data {f}/none.csv --created c", "--data: "),
        Bad("audit run --data {f}/garbage.parquet --created c", "--data: garbage.parquet"),
        Bad("audit run --data {f}/binary.csv --created c", "--created"),
        Bad("audit run --data {f}/empty.csv --created c", "is empty"),
        Bad("audit run --data {f}/folder --created c", "is a directory"),
        Bad("audit run --data {f}/cases.csv --created nocol", "--created: column 'nocol'"),
        Bad("audit run --data {f}/cases.csv --created t", "not a date or time"),
        Bad("audit run --data {f}/cases.csv --preset nope", "--preset: 'nope'"),
        Bad("audit run --data {f}/cases.csv --created created --min-group 0", "--min-group"),
        Bad("audit run --data {f}/cases.csv --created created --replicates -1", "--replicates"),
        Bad("audit run --data {f}/cases.csv --created created --period fortnight", "--period"),
        Bad(
            "audit run --data {f}/cases.csv --created created --coverage-fraction -3",
            "--coverage-fraction",
        ),
        Bad(
            "audit run --data {f}/cases.csv --created created --coverage-fraction 1e308",
            "--coverage-fraction",
        ),
        Bad("audit run --data {f}/cases.csv --created created --target-hours -1", "--target-hours"),
        Bad("audit run --data {f}/cases.csv --created created --target-hours 0", "--target-hours"),
        Bad("audit run --data {f}/cases.csv --created created --targets {f}/bad.json", "--targets"),
        Bad(
            "audit run --data {f}/cases.csv --created created --population {f}/population.csv",
            "--population",
        ),
        Bad(
            "audit run --data {f}/cases.csv --created created --population {f}/population.csv "
            "--area area --count n --case-area svc",
            "--count",
        ),
        Bad("audit run --data {f}/cases.csv --created created --out {f}/table.csv", "--out"),
        Bad(
            (
                "audit",
                "run",
                "--data",
                "{f}/cases.csv",
                "--created",
                "created",
                "--out=",
            ),
            "'--out': must not be empty",
        ),
        Bad("audit run --data {f}/cases.csv --created created --as-of soon", "'--as-of'"),
        Bad(
            "audit run --data {f}/cases.csv --created created --from 2025-01-01 --to 2024-01-01",
            "--from",
        ),
        Bad(f"audit run --created created {D}", "--data"),
        Bad(f"audit run --group nocol {D}", "--group: column 'nocol'"),
        Bad(f"audit run --reference nosuchgroup {D}", "--reference"),
        Bad(f"audit run --from 2025-01-01 --to 2024-01-01 {D}", "--from"),
    ],
    "audit responsibility": [
        Bad(f"audit responsibility ghost {D}", "case 'ghost' not found", 3),
        Bad(f"audit responsibility --from 2025-01-01 --to 2024-01-01 {D}", "--from"),
        Bad(f"audit responsibility --from yesterday {D}", "'--from'"),
    ],
    "audit presets": [Bad("audit presets --bogus", "No such option")],
    "triage train": [
        Bad("triage train --data {f}/garbage.parquet --text t --label l --out {d}/m", "--data:"),
        Bad("triage train --data {f}/binary.csv --text t --label l --out {d}/m", "--text:"),
        Bad("triage train --data {f}/folder --text t --label l --out {d}/m", "is a directory"),
        Bad("triage train --data {f}/none.csv --text t --label l --out {d}/m", "does not exist"),
        Bad("triage train --data {f}/cases.csv --text t --label nocol --out {d}/m", "--label:"),
        Bad("triage train --data {f}/two.csv --text t --label l --out {d}/m", "a single row"),
        Bad("triage train --data {f}/cases.csv --text t --label l --id nocol --out {d}/m", "--id:"),
        Bad(
            "triage train --data {f}/cases.csv --text t --label l --target-precision 2 --out {d}/m",
            "'--target-precision'",
        ),
        Bad(
            "triage train --data {f}/cases.csv --text t --label l --action mark_duplicate "
            "--out {d}/m",
            "--action",
        ),
        Bad("triage train --data {f}/cases.csv --text t --label l --out {f}/table.csv", "--out"),
        Bad(
            (
                "triage",
                "train",
                "--data",
                "{f}/cases.csv",
                "--text",
                "t",
                "--label",
                "l",
                "--out",
                "",
            ),
            "'--out': must not be empty",
        ),
        Bad(
            "triage train --data {f}/cases.csv --text t --label l --data-dir {f}/table.csv",
            "--data-dir",
        ),
    ],
    "triage eval": [
        Bad("triage eval --model {f}/folder --data {f}/cases.csv --text t --label l", "manifest"),
        Bad(
            "triage eval --model {f}/none --data {f}/cases.csv --text t --label l",
            "no such model directory",
        ),
        Bad(
            "triage eval --model {f}/table.csv --data {f}/cases.csv --text t --label l",
            "no such model directory",
        ),
    ],
    "triage predict": [
        Bad("triage predict --model {f}/folder --text hello", "manifest"),
        Bad("triage predict --model {f}/none --text hello", "no such model directory"),
        Bad("triage predict --model {f}/none", "'--text'"),
    ],
    "review queue": [
        Bad(f"review queue --reviewer ghost {D}", "'ghost' not found", 3),
        # refused as `review claim` refuses them, not shown an empty queue
        Bad(f"review queue --reviewer admin {D}", "'admin' does not hold the reviewer role"),
        Bad(f"review queue --limit 0 {D}", "'--limit'"),
    ],
    "review claim": [
        Bad(f"review claim --reviewer ghost {D}", "'ghost' not found", 3),
        Bad(f"review claim --reviewer admin {D}", "reviewer role"),
        Bad(f"review claim --reviewer rita --item nosuch {D}", "'nosuch' not found", 3),
    ],
    "review approve": [
        Bad(f"review approve nosuch --reviewer rita {D}", "'nosuch' not found", 3),
        Bad(f"review approve nosuch --reviewer ghost {D}", "'ghost' not found", 3),
    ],
    "review edit": [
        Bad(f"review edit nosuch --reviewer rita --value DPW {D}", "'nosuch' not found", 3),
        Bad(f"review edit nosuch --reviewer rita {D}", "'--value'"),
    ],
    "review reject": [
        Bad(f"review reject nosuch --reviewer rita --reason-code wrong {D}", "not found", 3),
    ],
    "review merge": [
        Bad(f"review merge nosuch --into other --reviewer rita {D}", "'nosuch' not found", 3),
        Bad(f"review merge nosuch --into other --reviewer ghost {D}", "'ghost' not found", 3),
        Bad(f"review merge nosuch --reviewer rita {D}", "'--into'"),
    ],
    "review release": [
        Bad(f"review release nosuch --reviewer rita {D}", "'nosuch' not found", 3),
    ],
    "review escalate": [
        Bad(f"review escalate --every 0 {D}", "'--every'"),
        Bad(f"review escalate --every 1e400 {D}", "'--every'"),
        Bad(f"review escalate --every nan {D}", "'--every'"),
        Bad("review escalate --data-dir {f}/table.csv", "--data-dir"),
    ],
    "review escalate-overdue": [Bad(f"review escalate-overdue --every -1 {D}", "'--every'")],
    "review reasons": [Bad("review reasons --bogus", "No such option")],
    "review team add": [
        Bad(f"review team add t1 ghost --by admin {D}", "'ghost' not found", 3),
        Bad(f"review team add t1 rita --by ghost {D}", "'ghost' not found", 3),
        Bad(("review", "team", "add", "", "rita", "--by", "admin", "--data-dir", "{d}"), "team:"),
        Bad(
            ("review", "team", "add", "Parks\x1f", "rita", "--by", "admin", "--data-dir", "{d}"),
            "team: contains a control character U+001F at position 6",
        ),
    ],
    "review team remove": [
        Bad(f"review team remove t1 rita --by admin {D}", "not in team 't1'"),
    ],
    "review team list": [Bad("review team list --data-dir {f}/table.csv", "--data-dir")],
    "appeals file": [
        Bad(f"appeals file --decision nosuch --grounds g {D}", "token:"),
        Bad(f"appeals file --decision nosuch --grounds g --token-stdin {D}", "token:", stdin=""),
        Bad(f"appeals file --decision nosuch --grounds g --token t {D}", "not found", 3),
    ],
    "appeals list": [Bad(f"appeals list --eligible ghost {D}", "'ghost' not found", 3)],
    "appeals decide": [
        Bad(f"appeals decide nosuch --by rita --reason r --uphold {D}", "not found", 3),
        Bad(f"appeals decide nosuch --by rita --reason r {D}", "--uphold"),
    ],
    "autonomy show": [Bad(f"autonomy show ghost {D}", "agent 'ghost' not found", 3)],
    "autonomy raise": [
        Bad(f"autonomy raise ghost --to 2 --by admin --reason r {D}", "'ghost' not found", 3),
        Bad(f"autonomy raise router-agent --to 9 --by admin --reason r {D}", "'--to'"),
        Bad(
            f"autonomy raise router-agent --to 2 --by admin --reason \x7fr {D}",
            "reason: contains a control character U+007F at position 1",
        ),
    ],
    "autonomy lower": [
        Bad(f"autonomy lower ghost --to 0 --by admin --reason r {D}", "'ghost' not found", 3),
        Bad(f"autonomy lower router-agent --to -1 --by admin --reason r {D}", "'--to'"),
    ],
    "autonomy evaluate": [Bad(f"autonomy evaluate ghost {D}", "agent 'ghost' not found", 3)],
    "vault status": [Bad("vault status --data-dir {f}/table.csv", "--data-dir")],
    "vault rotate": [
        Bad(f"vault rotate --batch-size 0 {D}", "'--batch-size'"),
        Bad(f"vault rotate --batch-size 99999999999999999999 {D}", "'--batch-size'"),
        Bad(f"vault rotate --by ghost {D}", "'ghost' not found", 3),
    ],
}
# Steps on a filing: every one names the unknown agent and refuses a version 0.
for _step in ("submit", "approve", "activate", "suspend", "retire"):
    CASES[f"registry {_step}"] = [
        Bad(f"registry {_step} ghost --by admin --reason r {D}", "agent 'ghost' not found", 3),
        Bad(f"registry {_step} router-agent --by admin --reason r --version 0 {D}", "'--version'"),
    ]


# --- the world each case runs in ----------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bad (and a few good) files the cases name as {f}/..."""
    folder = tmp_path_factory.mktemp("files")
    (folder / "folder").mkdir()
    (folder / "empty.csv").write_text("", encoding="utf-8")
    (folder / "table.csv").write_text("t,l\nstreet light out,DPW\n", encoding="utf-8")
    (folder / "two.csv").write_text(
        "t,l\nlight out,DPW\nlamp dark,DPW\nnoise,NYPD\n", encoding="utf-8"
    )
    (folder / "binary.csv").write_bytes(b"\x00\x01\x02\xff\xfe binary")
    (folder / "garbage.parquet").write_bytes(b"PAR1 not really \x00\x01")
    (folder / "bad.yaml").write_text("a: [1, 2\nb: }\n", encoding="utf-8")
    (folder / "bad.json").write_text("{not json", encoding="utf-8")
    (folder / "list.json").write_text("[1, 2]\n", encoding="utf-8")
    (folder / "bundle.json").write_text('{"type": "inclusion"}\n', encoding="utf-8")
    (folder / "population.csv").write_text("area,n\nx,-5\ny,many\n", encoding="utf-8")
    rows = ["id,created,closed,svc,ch,t,l"]
    for i in range(60):
        day = f"2024-01-{1 + i % 28:02d}"
        rows.append(
            f"{i},{day}T10:00:00,{day}T12:00:00,{'ab'[i % 2]},{'pw'[i % 2]},"
            f"{('noise at night', 'light is out')[i % 2]} {i},{'XY'[i % 2]}"
        )
    (folder / "cases.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def invoke(
    args: list[str], *, stdin: str | None = None, env: dict[str, str] | None = None
) -> Result:
    return runner.invoke(app, args, input=stdin, env=env)


def folded(text: str) -> str:
    """Output with Rich's box drawing and line wrapping taken out."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def assert_refused(result: Result, code: int, says: str) -> None:
    shown = f"exit {result.exit_code}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{type(result.exception).__name__}: {result.exception}\n{shown}"
    )
    assert "Traceback" not in result.output, shown
    assert result.exit_code == code, shown
    assert folded(says) in folded(result.stderr), shown


@dataclass
class World:
    """A data directory (and, on PostgreSQL, the database) seeded with an
    administrator `admin`, a reviewer `rita` and a draft filing `router-agent`."""

    template: Path
    env: dict[str, str]
    engine: Engine | None

    def data_dir(self, tmp_path: Path) -> Path:
        target = tmp_path / "data"
        shutil.copytree(self.template, target)
        return target

    def rows(self, data_dir: Path) -> dict[str, int]:
        engine = self.engine or make_engine(f"sqlite:///{data_dir / 'cogov.sqlite3'}")
        try:
            names = inspect(engine).get_table_names()
            with engine.connect() as connection:
                return {
                    name: connection.execute(
                        select(func.count()).select_from(table(name))
                    ).scalar_one()
                    for name in names
                }
        finally:
            if engine is not self.engine:
                engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"world-{request.param}")
    template = folder / "template"
    template.mkdir()  # on PostgreSQL no command needs to make it
    with ExitStack() as stack:
        engine: Engine | None = None
        env: dict[str, str] = {}
        if request.param == "postgresql":
            url, engine = stack.enter_context(fresh_migrated_database("postgresql", folder))
            env = {"COGOV_DATABASE_URL": url}
        for args in (
            ["users", "add", "admin", "--role", "administrator"],
            ["users", "add", "rita", "--role", "reviewer", "--by", "admin"],
            ["registry", "file", str(ROUTER_FILING), "--by", "admin"],
        ):
            result = invoke([*args, "--data-dir", str(template)], env=env)
            assert result.exit_code == 0, result.output
        yield World(template=template, env=env, engine=engine)


# --- the audit -------------------------------------------------------------------------


def test_every_command_has_bad_input_cases() -> None:
    missing = sorted(set(command_paths()) - set(CASES))
    assert not missing, f"commands without a bad-input case in {__file__}: {missing}"
    stale = sorted(set(CASES) - set(command_paths()))
    assert not stale, f"cases for commands that no longer exist: {stale}"


ALL_CASES = [(path, bad) for path in sorted(CASES) for bad in CASES[path]]


@pytest.mark.parametrize(("path", "bad"), ALL_CASES, ids=[b.id for _, b in ALL_CASES])
def test_bad_input_is_refused_clearly_and_writes_nothing(
    world: World, files: Path, tmp_path: Path, path: str, bad: Bad
) -> None:
    data_dir = world.data_dir(tmp_path)
    before = world.rows(data_dir)
    result = invoke(bad.argv(data_dir, files), stdin=bad.stdin, env=world.env)
    assert_refused(result, bad.code, bad.says)
    assert world.rows(data_dir) == before
    assert not (data_dir / "m").exists(), "a refused training run left a model directory"


JSON_CASES = [(path, CASES[path][0]) for path in sorted(CASES) if "--json" in options_of(path)]


@pytest.mark.parametrize(("path", "bad"), JSON_CASES, ids=[p for p, _ in JSON_CASES])
def test_under_json_the_error_is_json_on_stdout(
    world: World, files: Path, tmp_path: Path, path: str, bad: Bad
) -> None:
    data_dir = world.data_dir(tmp_path)
    result = invoke([*bad.argv(data_dir, files), "--json"], stdin=bad.stdin, env=world.env)
    assert_refused(result, bad.code, bad.says)
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == bad.code
    assert folded(bad.says) in folded(error["message"])


DATA_COMMANDS = [path for path in command_paths() if "--data-dir" in options_of(path)]


@pytest.mark.parametrize("path", DATA_COMMANDS)
def test_an_unreachable_database_never_gives_a_traceback(
    files: Path, tmp_path: Path, path: str
) -> None:
    """Every case of every command that takes --data-dir, with the database out of
    reach: refused with a message (exit 2 or 3), never a traceback."""
    for bad in CASES[path]:
        result = invoke(
            bad.argv(tmp_path / "data", files),
            env={"COGOV_DATABASE_URL": UNREACHABLE},
            stdin=bad.stdin,
        )
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{bad.id}: {result.exception!r}"
        )
        assert result.exit_code in (2, 3), f"{bad.id}: exit {result.exit_code}\n{result.output}"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (UNREACHABLE, "COGOV_DATABASE_URL: cannot use the database postgresql+psycopg://nobody@"),
        ("not a url", "COGOV_DATABASE_URL: not a database URL"),
        ("nosuchdialect://x/y", "COGOV_DATABASE_URL: "),
        ("postgresql+psycopg://u:s3cret@127.0.0.1:1/x", "***"),
    ],
)
def test_a_database_url_that_cannot_work_is_named(tmp_path: Path, url: str, says: str) -> None:
    result = invoke(["users", "list", "--data-dir", str(tmp_path)], env={"COGOV_DATABASE_URL": url})
    assert_refused(result, 2, says)
    assert "s3cret" not in result.output


def test_an_empty_data_dir_setting_is_named() -> None:
    result = invoke(["users", "list"], env={"COGOV_DATA_DIR": ""})
    assert_refused(result, 2, "COGOV_DATA_DIR: must not be empty")


def test_a_setting_that_is_not_valid_is_named(tmp_path: Path) -> None:
    result = invoke(
        ["users", "list", "--data-dir", str(tmp_path)],
        env={"COGOV_SQLITE_BUSY_TIMEOUT_MS": "soon"},
    )
    assert_refused(result, 2, "COGOV_SQLITE_BUSY_TIMEOUT_MS:")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("users", "disable", "rita", "--by", "admin", "--reason", "left\x00"), "--reason: "),
        (("tokens", "issue", "admin", "--name=ci\x00"), "--name: "),
        (("registry", "show", "router\x00agent"), "argument 3: "),
        (("registry", "gate", "router-agent", "--service", "\x00", "--json"), "--service: "),
    ],
)
def test_a_nul_character_is_refused_alike_on_every_database(
    world: World, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    """PostgreSQL text cannot hold NUL and SQLite stores it: refused before either."""
    data_dir = world.data_dir(tmp_path)
    before = world.rows(data_dir)
    result = invoke([*args, "--data-dir", str(data_dir)], env=world.env)
    assert_refused(result, 2, f"{says}must not contain a NUL character")
    assert world.rows(data_dir) == before
    if "--json" in args:
        assert json.loads(result.stdout)["error"]["field"] == "--service"


def test_a_broken_agency_file_is_one_line(world: World, tmp_path: Path) -> None:
    agency = tmp_path / "agency"
    agency.mkdir()
    (agency / "processes.yaml").write_text("steps: [open\n", encoding="utf-8")
    result = invoke(
        [
            "review",
            "approve",
            "nosuch",
            "--reviewer",
            "rita",
            "--data-dir",
            str(world.data_dir(tmp_path)),
        ],
        env={**world.env, "COGOV_AGENCY_CONFIG_DIR": str(agency)},
    )
    assert_refused(result, 2, "processes.yaml")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_data_dir_whose_database_file_is_not_one(tmp_path: Path) -> None:
    (tmp_path / "cogov.sqlite3").write_text("a note, not a database", encoding="utf-8")
    result = invoke(["users", "list", "--data-dir", str(tmp_path)])
    assert_refused(result, 2, "--data-dir: cannot use the database sqlite:///")
    assert "file is not a database" in result.stderr


def test_a_database_from_a_newer_cogov_is_named(world: World, tmp_path: Path) -> None:
    data_dir = world.data_dir(tmp_path)
    engine = world.engine or make_engine(f"sqlite:///{data_dir / 'cogov.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    try:
        result = invoke(["users", "list", "--data-dir", str(data_dir)], env=world.env)
        assert_refused(result, 2, "cannot be brought up to date by this cogov")
        assert "9999_from_the_future" in result.stderr
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("DELETE FROM alembic_version WHERE version_num = '9999_from_the_future'")
            )
        if engine is not world.engine:
            engine.dispose()


def test_a_data_dir_that_cannot_be_made_is_named(files: Path) -> None:
    result = invoke(["db", "upgrade", "--data-dir", str(files / "table.csv" / "sub")])
    assert_refused(result, 2, "--data-dir: cannot create")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_data_dir_that_is_not_writable_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = invoke(["users", "list", "--data-dir", str(locked / "data")])
    finally:
        locked.chmod(0o700)
    assert_refused(result, 2, "--data-dir: cannot create")


def test_a_usage_error_under_json_is_json_too(tmp_path: Path) -> None:
    result = invoke(["tokens", "issue", "admin", "--days", "0", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["field"] == "--days"
    assert "--days" in error["message"]
    assert error["exit_code"] == 2


# --- random names and ids ------------------------------------------------------------

ID_COMMANDS = [
    ("users", "disable", "{x}", "--by", "admin", "--reason", "r"),
    ("users", "departments", "{x}"),
    ("tokens", "revoke", "{x}"),
    ("registry", "show", "{x}"),
    ("registry", "history", "{x}"),
    ("registry", "pause", "{x}", "--by", "admin", "--reason", "r"),
    ("review", "approve", "{x}", "--reviewer", "rita"),
    ("review", "release", "{x}", "--reviewer", "rita"),
    ("review", "merge", "{x}", "--into", "{x}", "--reviewer", "rita"),
    ("appeals", "decide", "{x}", "--by", "rita", "--reason", "r", "--dismiss"),
    ("autonomy", "show", "{x}"),
    ("audit", "responsibility", "{x}"),
    ("users", "add", "{x}", "--role", "reviewer", "--by", "ghost"),
]
JUNK = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda s: s not in ("admin", "rita", "router-agent") and not s.startswith("-"))


@pytest.fixture(scope="module")
def shared_data_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return world.data_dir(tmp_path_factory.mktemp("junk"))


@pytest.mark.parametrize("template", ID_COMMANDS, ids=[" ".join(t[:2]) for t in ID_COMMANDS])
def test_junk_names_and_ids_are_refused_with_a_message(
    world: World, shared_data_dir: Path, template: tuple[str, ...]
) -> None:
    before = world.rows(shared_data_dir)

    @settings(max_examples=15, database=None)
    @given(junk=JUNK)
    def check(junk: str) -> None:
        args = [part.replace("{x}", junk) for part in template]
        result = invoke([*args, "--data-dir", str(shared_data_dir)], env=world.env)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{junk!r}: {result.exception!r}"
        )
        assert result.exit_code in (2, 3), f"{junk!r}: exit {result.exit_code}\n{result.output}"
        assert result.stderr.strip(), f"{junk!r}: no message"

    check()
    assert world.rows(shared_data_dir) == before

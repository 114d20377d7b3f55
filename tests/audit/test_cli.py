"""`cogov audit run` on files: output files, JSON, and exit 2 with one line for bad columns."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from cogov.cli.main import app

from .conftest import fixed_cases

runner = CliRunner()


def cases_file(tmp_path: Path) -> Path:
    path = tmp_path / "cases.parquet"
    fixed_cases().write_parquet(path)
    return path


FLAGS = [
    "--created",
    "created_at",
    "--closed",
    "closed_at",
    "--due",
    "due_at",
    "--channel",
    "channel",
    "--without-human",
    "handled_without_human",
    "--overridden",
    "overridden",
    "--proposed-route",
    "proposed_route",
    "--final-route",
    "final_route",
    "--group",
    "district",
]


def test_run_writes_the_report(tmp_path: Path) -> None:
    data = cases_file(tmp_path)
    people = tmp_path / "people.csv"
    pl.DataFrame(
        {"name": ["north", "south", "east", "west", "harbour"], "n": [9e4, 6e4, 5e4, 4e4, 3e4]}
    ).write_csv(people)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "audit",
            "run",
            "--data",
            str(data),
            *FLAGS,
            "--case-area",
            "area",
            "--population",
            str(people),
            "--area",
            "name",
            "--count",
            "n",
            "--replicates",
            "100",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "district:" in result.output
    assert "possibly unreached" in result.output
    assert (out / "report.html").exists()
    assert (out / "fairness_district.csv").exists()


def test_json(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "audit",
            "run",
            "--data",
            str(cases_file(tmp_path)),
            *FLAGS,
            "--replicates",
            "0",
            "--reference",
            "best",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["options"]["reference"] == "best"
    assert [item["group"] for item in data["fairness"]] == ["district"]


def test_bad_column_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["audit", "run", "--data", str(cases_file(tmp_path)), "--created", "opened"]
    )
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert (
        "--created: column 'opened' is not in cases.parquet; available columns: 'case_id'"
        in result.output
    )
    assert "Traceback" not in result.output


def test_flags_without_a_file_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "run", "--created", "x", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "--data" in result.output


def test_presets_listing() -> None:
    result = runner.invoke(app, ["audit", "presets", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.output)["nyc311"]["columns"]["created_at"] == "Created Date"


def test_live_database_audit_and_responsibility(tmp_path: Path) -> None:
    from cogov.cli.context import session_for

    from .test_live import walk

    with session_for(tmp_path) as session:
        ids = walk(session)
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "audit",
            "run",
            "--data-dir",
            str(tmp_path),
            "--replicates",
            "50",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["cases"] == 3
    assert {item["case_id"] for item in data["responsibility"]} == {
        ids["corrected"],
        ids["appealed"],
    }
    assert (out / "responsibility.csv").exists()
    assert "Responsibility" in (out / "report.html").read_text(encoding="utf-8")

    one = runner.invoke(
        app, ["audit", "responsibility", ids["appealed"], "--data-dir", str(tmp_path)]
    )
    assert one.exit_code == 0, one.output
    assert "deployer" in one.output
    assert "ledger" in one.output


def test_period_bounds_on_a_file(tmp_path: Path) -> None:
    args = [
        "audit",
        "run",
        "--data",
        str(cases_file(tmp_path)),
        *FLAGS,
        "--replicates",
        "0",
        "--json",
    ]
    whole = json.loads(runner.invoke(app, args).output)["cases"]
    part = runner.invoke(app, [*args, "--from", "2024-03-01", "--to", "2024-03-31T23:59:59"])
    assert part.exit_code == 0, part.output
    assert 0 < json.loads(part.output)["cases"] < whole

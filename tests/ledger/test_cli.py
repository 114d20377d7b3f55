"""`cogov ledger` on a temporary data directory, end to end."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cogov.cli.main import app
from cogov.core.settings import load_settings
from cogov.db.engine import make_engine
from cogov.db.migrate import upgrade
from cogov.db.session import unit_of_work
from cogov.ledger import EntryDraft, append_many

runner = CliRunner()


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose ledger holds 20 entries, built once per module."""
    path = tmp_path_factory.mktemp("ledger-template")
    engine = make_engine(load_settings(data_dir=path).resolved_database_url)
    upgrade(engine)
    with unit_of_work(engine) as session:
        append_many(
            session,
            [
                EntryDraft(kind="case.received", actor="system:intake", case_id=f"c{i}",
                           payload={"i": i, "service": "路灯"})
                for i in range(20)
            ],
        )  # fmt: skip
    engine.dispose()
    return path


@pytest.fixture
def data_dir(template_dir: Path, tmp_path: Path) -> Path:
    """A copy of the template for one test (tests tamper with it)."""
    target = tmp_path / "data"
    shutil.copytree(template_dir, target)
    return target


def cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["ledger", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def tamper(data_dir: Path, *statements: str) -> None:
    connection = sqlite3.connect(data_dir / "cogov.sqlite3")
    with connection:
        for verb in ("update", "delete"):
            connection.execute(f"DROP TRIGGER ledger_entries_no_{verb}")
            connection.execute(f"DROP TRIGGER ledger_checkpoints_no_{verb}")
        for statement in statements:
            connection.execute(statement)
    connection.close()


class TestVerify:
    def test_intact_ledger_exits_0(self, data_dir: Path) -> None:
        assert cli(data_dir, "checkpoint")[0] == 0
        code, out, _ = cli(data_dir, "verify")
        assert code == 0
        assert "ok: 20 entries" in out
        assert "signs tree size 20" in out

    def test_json_report(self, data_dir: Path) -> None:
        cli(data_dir, "checkpoint")
        code, out, _ = cli(data_dir, "verify", "--json")
        report = json.loads(out)
        assert code == 0
        assert (report["ok"], report["entries"], report["checkpoint_size"]) == (True, 20, 20)

    def test_changed_payload_exits_1_naming_the_seq(self, data_dir: Path) -> None:
        cli(data_dir, "checkpoint")
        tamper(data_dir, "UPDATE ledger_entries SET payload = '{\"i\":0}' WHERE seq = 13")
        code, _, err = cli(data_dir, "verify")
        assert code == 1
        assert "entry 13's content was changed" in err
        code, out, _ = cli(data_dir, "verify", "--json")
        assert code == 1
        assert json.loads(out)["problem"]["seq"] == 13

    def test_truncated_tail_exits_1(self, data_dir: Path) -> None:
        cli(data_dir, "checkpoint")
        tamper(data_dir, "DELETE FROM ledger_entries WHERE seq > 18")
        code, _, err = cli(data_dir, "verify")
        assert code == 1
        assert "entry 19 is missing" in err

    def test_an_auditor_brings_the_public_key(self, data_dir: Path, tmp_path: Path) -> None:
        cli(data_dir, "checkpoint")
        published = tmp_path / "published.pem"
        published.write_text(cli(data_dir, "public-key")[1])
        assert cli(data_dir, "verify", "--public-key", str(published))[0] == 0
        stranger = tmp_path / "stranger"
        cli(stranger, "public-key")
        other = tmp_path / "other.pem"
        other.write_text(cli(stranger, "public-key")[1])
        code, _, err = cli(data_dir, "verify", "--public-key", str(other))
        assert code == 1
        assert "checkpoint 1" in err


class TestCheckpointAndProofs:
    def test_checkpoint_prints_a_signed_note(self, data_dir: Path, tmp_path: Path) -> None:
        published = tmp_path / "www" / "checkpoint"
        code, out, _ = cli(data_dir, "checkpoint", "--out", str(published))
        assert code == 0
        assert published.read_text(encoding="utf-8") == out
        lines = out.split("\n")
        assert lines[1] == "20"
        assert lines[5].startswith("— cogov.ledger/")

    def test_prove_prints_a_bundle_that_checks_offline(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        cli(data_dir, "checkpoint")
        code, out, _ = cli(data_dir, "prove", "7")
        assert code == 0
        bundle = json.loads(out)
        assert (bundle["seq"], bundle["tree_size"]) == (7, 20)
        assert bundle["entry"][10] == {"i": 6, "service": "路灯"}
        path = tmp_path / "proof.json"
        path.write_text(out)
        key = tmp_path / "key.pem"
        key.write_text(cli(data_dir, "public-key")[1])
        checked = runner.invoke(app, ["ledger", "check-proof", str(path), "--public-key", str(key)])
        assert checked.exit_code == 0, checked.output
        assert "entry 7 is in" in checked.stdout
        with_data_dir = cli(data_dir, "check-proof", str(path))
        assert with_data_dir[0] == 0
        alone = runner.invoke(app, ["ledger", "check-proof", str(path)])
        assert alone.exit_code == 0
        assert "self-consistent" in alone.stderr
        bundle["entry_bytes"] = bundle["entry_bytes"].replace("路灯", "路")
        path.write_text(json.dumps(bundle))
        checked = runner.invoke(app, ["ledger", "check-proof", str(path), "--public-key", str(key)])
        assert checked.exit_code == 1
        assert "proof invalid" in checked.stderr

    def test_consistency_between_two_checkpoints(self, data_dir: Path) -> None:
        cli(data_dir, "checkpoint")
        engine = make_engine(load_settings(data_dir=data_dir).resolved_database_url)
        with unit_of_work(engine) as session:
            append_many(session, [EntryDraft(kind="case.closed", actor="user:1")] * 5)
        engine.dispose()
        cli(data_dir, "checkpoint")
        code, out, _ = cli(data_dir, "consistency", "20", "25")
        bundle = json.loads(out)
        assert code == 0
        assert (bundle["old_size"], bundle["new_size"]) == (20, 25)
        assert bundle["old_checkpoint"].split("\n")[1] == "20"

    def test_prove_without_a_checkpoint_is_one_line_exit_2(self, data_dir: Path) -> None:
        code, _, err = cli(data_dir, "prove", "3")
        assert code == 2
        assert "no checkpoint yet" in err
        assert "Traceback" not in err

    def test_prove_past_the_end_names_the_field(self, data_dir: Path) -> None:
        cli(data_dir, "checkpoint")
        code, _, err = cli(data_dir, "prove", "99")
        assert code == 2
        assert "seq: 99 is not in a tree of 20 entries" in err


class TestExportAndKey:
    def test_export_writes_json_lines(self, data_dir: Path, tmp_path: Path) -> None:
        out = tmp_path / "export" / "ledger.jsonl"
        code, _, err = cli(data_dir, "export", "--out", str(out))
        assert code == 0
        assert "wrote 20 entries" in err
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert [line["seq"] for line in lines] == list(range(1, 21))
        assert lines[0]["payload"] == {"i": 0, "service": "路灯"}
        assert lines[1]["prev_hash"] == lines[0]["entry_hash"]

    def test_export_to_stdout(self, data_dir: Path) -> None:
        code, out, _ = cli(data_dir, "export")
        assert code == 0
        assert len(out.splitlines()) == 20

    def test_public_key_in_both_formats(self, data_dir: Path) -> None:
        pem = cli(data_dir, "public-key")[1]
        assert pem.startswith("-----BEGIN PUBLIC KEY-----")
        note = cli(data_dir, "public-key", "--note")[1].strip()
        assert note.startswith("cogov.ledger/")
        _name, key_hash, key = note.split("+", 2)
        assert len(bytes.fromhex(key_hash)) == 4
        assert key.startswith("A")  # base64 of the Ed25519 algorithm byte 0x01 first
        assert (data_dir / "ledger" / "signing-key.pem").stat().st_mode & 0o077 == 0


class TestDocumentedThirdPartyCheck:
    def test_the_script_in_docs_ledger_md_checks_a_real_proof(
        self, data_dir: Path, tmp_path: Path
    ) -> None:
        # docs/ledger.md promises a third party can check a proof with the standard
        # library, `cryptography`, the public key and the checkpoint: run that script.
        docs = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"
        script = re.search(r"```python\n(import base64.*?)```", docs.read_text(), re.S)
        assert script is not None
        cli(data_dir, "checkpoint")
        proof, key = tmp_path / "proof.json", tmp_path / "key.pem"
        proof.write_text(cli(data_dir, "prove", "11")[1])
        key.write_text(cli(data_dir, "public-key")[1])
        (tmp_path / "check.py").write_text(script.group(1))
        done = subprocess.run(
            [sys.executable, str(tmp_path / "check.py"), str(proof), str(key)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("entry 11 is in cogov.ledger/")
        bundle = json.loads(proof.read_text())
        bundle["entry_bytes"] = bundle["entry_bytes"].replace('"i":10', '"i":99')
        proof.write_text(json.dumps(bundle))
        done = subprocess.run(
            [sys.executable, str(tmp_path / "check.py"), str(proof), str(key)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0
        assert "not included" in done.stderr

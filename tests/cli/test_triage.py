from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cogov.cli.main import app

runner = CliRunner()
HOTLINE = Path(__file__).resolve().parents[1] / "triage" / "fixtures" / "hotline_zh.csv"
TRAIN = ["triage", "train", "--data", str(HOTLINE), "--text", "诉求内容", "--label", "承办部门"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    result = runner.invoke(app, [*TRAIN, "--id", "工单号", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["rows_used"] == 60
    assert body["classes"] == 5
    return out


class TestTrain:
    def test_trains_from_parquet_too(self, tmp_path: Path) -> None:
        parquet = tmp_path / "history.parquet"
        pl.read_csv(HOTLINE).write_parquet(parquet)
        result = runner.invoke(
            app,
            [
                "triage",
                "train",
                "--data",
                str(parquet),
                "--text",
                "诉求内容",
                "--label",
                "承办部门",
                "--out",
                str(tmp_path / "m"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "cross-validation" in result.stdout
        assert (tmp_path / "m" / "manifest.json").exists()

    def test_default_output_is_under_the_data_dir(self, tmp_path: Path) -> None:
        result = runner.invoke(app, [*TRAIN, "--data-dir", str(tmp_path), "--json"])
        assert result.exit_code == 0, result.output
        assert Path(json.loads(result.stdout)["model_dir"]).parent == tmp_path / "models"


class TestEval:
    def test_prints_the_measures_as_json(self, model_dir: Path) -> None:
        result = runner.invoke(
            app,
            [
                "triage",
                "eval",
                "--model",
                str(model_dir),
                "--data",
                str(HOTLINE),
                "--text",
                "诉求内容",
                "--label",
                "承办部门",
                "--json",
            ],
        )
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        for key in (
            "n",
            "accuracy",
            "macro_f1",
            "auto_share",
            "auto_precision",
            "predictions_per_s",
        ):
            assert key in body
        assert body["n"] == 60
        assert body["accuracy"] > 0.9  # its own training rows


class TestPredict:
    def test_json_carries_the_explanation(self, model_dir: Path) -> None:
        result = runner.invoke(
            app, ["triage", "predict", "--model", str(model_dir), "--text", "路灯不亮了", "--json"]
        )
        assert result.exit_code == 0, result.output
        body = json.loads(result.stdout)
        assert body["value"] == "城管局"
        kinds = {e["kind"] for e in body["explanation"]["evidence"]}
        assert {"token", "similar_case"} <= kinds
        assert body["model"].startswith("cogov-linear@2#")
        # The engine's own threshold, named as such: not a routing decision.
        assert body["reaches_engine_threshold"] == (body["confidence"] >= body["engine_threshold"])
        assert "automatic" not in body
        assert "threshold" not in body

    def test_plain_output(self, model_dir: Path) -> None:
        result = runner.invoke(
            app, ["triage", "predict", "--model", str(model_dir), "--text", "自来水发黄"]
        )
        assert result.exit_code == 0, result.output
        assert "水务局" in result.stdout
        assert "engine's own threshold" in result.stdout
        assert "goes to a person" not in result.stdout


class TestBadInput:
    def _fails(self, args: list[str]) -> str:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        message = result.stderr.strip()
        assert message.startswith("error:")
        return message

    def test_missing_column_is_named_with_the_available_ones(self, tmp_path: Path) -> None:
        message = self._fails(
            [
                "triage",
                "train",
                "--data",
                str(HOTLINE),
                "--text",
                "内容",
                "--label",
                "承办部门",
                "--out",
                str(tmp_path),
            ]
        )
        assert "'内容'" in message
        assert "诉求内容, 工单号" in message or "工单号, 诉求内容" in message

    def test_empty_file(self, tmp_path: Path) -> None:
        empty = tmp_path / "empty.csv"
        empty.write_text("", encoding="utf-8")
        message = self._fails(
            [
                "triage",
                "train",
                "--data",
                str(empty),
                "--text",
                "t",
                "--label",
                "l",
                "--out",
                str(tmp_path / "m"),
            ]
        )
        assert "empty" in message

    def test_header_only(self, tmp_path: Path) -> None:
        header = tmp_path / "header.csv"
        header.write_text("t,l\n", encoding="utf-8")
        assert "no rows" in self._fails(
            [
                "triage",
                "train",
                "--data",
                str(header),
                "--text",
                "t",
                "--label",
                "l",
                "--out",
                str(tmp_path / "m"),
            ]
        )

    def test_a_label_with_one_class(self, tmp_path: Path) -> None:
        one = tmp_path / "one.csv"
        one.write_text("t,l\nstreet light out,DPW\npothole,DPW\n", encoding="utf-8")
        assert "one class" in self._fails(
            [
                "triage",
                "train",
                "--data",
                str(one),
                "--text",
                "t",
                "--label",
                "l",
                "--out",
                str(tmp_path / "m"),
            ]
        )

    def test_missing_file(self, tmp_path: Path) -> None:
        assert "does not exist" in self._fails(
            [
                "triage",
                "train",
                "--data",
                str(tmp_path / "no.csv"),
                "--text",
                "t",
                "--label",
                "l",
                "--out",
                str(tmp_path / "m"),
            ]
        )

    @pytest.mark.parametrize(("text", "reason"), [("  ", "empty"), ("x" * 20_001, "limit")])
    def test_empty_or_over_long_text(self, model_dir: Path, text: str, reason: str) -> None:
        assert reason in self._fails(
            ["triage", "predict", "--model", str(model_dir), "--text", text]
        )

    def test_a_changed_model_is_refused(self, model_dir: Path, tmp_path: Path) -> None:
        import shutil

        copy = tmp_path / "copy"
        shutil.copytree(model_dir, copy)
        data = bytearray((copy / "model.skops").read_bytes())
        data[100] ^= 0x01
        (copy / "model.skops").write_bytes(bytes(data))
        assert "model.skops" in self._fails(
            ["triage", "predict", "--model", str(copy), "--text", "路灯"]
        )

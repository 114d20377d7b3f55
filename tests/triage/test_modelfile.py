from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from cogov.triage import ModelFileError, ModelIntegrityError, TrainedEngine, load_engine
from cogov.triage.modelfile import MANIFEST, MODEL_FILE


class Smuggled:
    """A type no cogov model contains: loading a file with it must be refused."""

    def __init__(self) -> None:
        self.payload = "anything"


class TestSaveAndLoad:
    def test_round_trip_keeps_predictions_and_identity(
        self, hotline_engine: TrainedEngine, tmp_path: Path
    ) -> None:
        hotline_engine.save(tmp_path / "m")
        loaded = load_engine(tmp_path / "m")
        texts = ["路灯坏了", "自来水发黄"]
        assert loaded.predict_many(texts).labels == hotline_engine.predict_many(texts).labels
        assert np.allclose(
            loaded.predict_many(texts).confidence, hotline_engine.predict_many(texts).confidence
        )
        assert loaded.identity == hotline_engine.identity
        assert loaded.threshold == hotline_engine.threshold

    def test_model_hash_is_the_sha256_of_the_model_file(
        self, hotline_engine: TrainedEngine, tmp_path: Path
    ) -> None:
        hotline_engine.save(tmp_path)
        digest = hashlib.sha256((tmp_path / MODEL_FILE).read_bytes()).hexdigest()
        assert hotline_engine.identity.model_hash == digest
        manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
        assert manifest["files"] == {MODEL_FILE: digest}
        assert manifest["model_hash"] == digest
        assert manifest["threshold"] == hotline_engine.threshold

    def test_the_file_is_not_a_pickle(self, hotline_engine: TrainedEngine, tmp_path: Path) -> None:
        hotline_engine.save(tmp_path)
        assert (tmp_path / MODEL_FILE).read_bytes()[:2] == b"PK"  # skops: a zip of JSON


def full_disk(self: Path, text: str, encoding: str | None = None) -> int:
    raise OSError(28, "No space left on device", str(self))


class TestNothingHalfWritten:
    """A model directory appears whole or not at all."""

    def test_a_failed_write_leaves_no_directory(
        self, hotline_engine: TrainedEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(Path, "write_text", full_disk)
        with pytest.raises(OSError, match="No space left"):
            hotline_engine.save(tmp_path / "m")
        assert list(tmp_path.iterdir()) == []

    def test_a_failed_rewrite_keeps_the_model_there(
        self, hotline_engine: TrainedEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hotline_engine.save(tmp_path / "m")
        before = {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()}

        monkeypatch.setattr(Path, "write_text", full_disk)
        with pytest.raises(OSError, match="No space left"):
            hotline_engine.save(tmp_path / "m")
        monkeypatch.undo()
        assert [p.name for p in tmp_path.iterdir()] == ["m"]
        assert {p.name: p.read_bytes() for p in (tmp_path / "m").iterdir()} == before
        assert load_engine(tmp_path / "m").identity == hotline_engine.identity

    def test_a_file_where_the_directory_should_be_is_refused(
        self, hotline_engine: TrainedEngine, tmp_path: Path
    ) -> None:
        (tmp_path / "m").write_text("notes", encoding="utf-8")
        with pytest.raises(ModelFileError, match="is a file, not a model directory"):
            hotline_engine.save(tmp_path / "m")
        assert (tmp_path / "m").read_text(encoding="utf-8") == "notes"


class TestRefusals:
    def test_a_changed_model_file_is_refused_naming_the_file(
        self, hotline_engine: TrainedEngine, tmp_path: Path
    ) -> None:
        hotline_engine.save(tmp_path)
        path = tmp_path / MODEL_FILE
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        with pytest.raises(ModelIntegrityError, match=r"model\.skops.*does not match") as caught:
            load_engine(tmp_path)
        assert caught.value.path == path

    def test_a_manifest_edited_to_match_a_foreign_file_still_refuses_foreign_types(
        self, tmp_path: Path
    ) -> None:
        data = sio.dumps({"schema": 1, "vectorizer": Smuggled()})
        (tmp_path / MODEL_FILE).write_bytes(data)
        (tmp_path / MANIFEST).write_text(
            json.dumps(
                {
                    "format": "cogov-triage-model/1",
                    "files": {MODEL_FILE: hashlib.sha256(data).hexdigest()},
                }
            ),
            encoding="utf-8",
        )
        with pytest.raises(ModelFileError, match="Smuggled"):
            load_engine(tmp_path)

    def test_missing_manifest_is_a_clear_error(
        self, hotline_engine: TrainedEngine, tmp_path: Path
    ) -> None:
        hotline_engine.save(tmp_path)
        (tmp_path / MANIFEST).unlink()
        with pytest.raises(ModelFileError, match=r"manifest\.json: missing"):
            load_engine(tmp_path)

    def test_a_manifest_may_not_point_outside_its_directory(self, tmp_path: Path) -> None:
        (tmp_path / MANIFEST).write_text(
            json.dumps({"format": "cogov-triage-model/1", "files": {"../x": "0" * 64}}),
            encoding="utf-8",
        )
        with pytest.raises(ModelFileError, match="leaves the directory"):
            load_engine(tmp_path)

    def test_no_directory(self, tmp_path: Path) -> None:
        with pytest.raises(ModelFileError, match="no such model directory"):
            load_engine(tmp_path / "absent")

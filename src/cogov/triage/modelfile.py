"""Model files that cannot run code when loaded, and that are refused when changed.

A model directory holds ``model.skops`` (skops format: a declarative description of
objects, never a pickle) and ``manifest.json`` naming every file with its SHA-256.
Loading checks each hash first, then refuses any type outside the explicit list
below, so a model from another machine is data, not code.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import skops.io as sio

from cogov.triage.errors import ModelFileError, ModelIntegrityError

MANIFEST = "manifest.json"
MODEL_FILE = "model.skops"
FORMAT = "cogov-triage-model/1"

# Types a cogov model file may contain beyond plain Python values. skops also
# trusts its own default list (scikit-learn estimators, numpy arrays); anything
# else found in a file makes the load fail with the type named.
TRUSTED_TYPES: tuple[str, ...] = (
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.pipeline.FeatureUnion",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump_state(state: Mapping[str, Any]) -> bytes:
    """The skops bytes of a model's state (a dict of estimators, arrays and values)."""
    return bytes(sio.dumps(dict(state)))


def load_state(data: bytes, *, source: Path) -> dict[str, Any]:
    """Read skops bytes, refusing any type not in TRUSTED_TYPES (named in the error)."""
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # skops raises several types for a damaged file
        raise ModelFileError(f"{source}: not a readable skops model file ({exc})") from None
    refused = sorted(untrusted - set(TRUSTED_TYPES))
    if refused:
        raise ModelFileError(
            f"{source}: holds types cogov does not trust ({', '.join(refused)}); refusing to load"
        )
    state = sio.loads(data, trusted=sorted(untrusted))
    if not isinstance(state, dict):
        raise ModelFileError(f"{source}: expected a model state (a map), found {type(state)}")
    return state


def write_model_dir(
    directory: Path, files: Mapping[str, bytes], metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """Write ``files`` and a manifest with their SHA-256; return the manifest.

    Nothing is half-written: everything goes first into a hidden folder beside
    ``directory``, which then becomes ``directory`` in one rename (or, when
    ``directory`` is already there, gives it each file by a rename, the manifest
    last); a failure removes the hidden folder. Raises ModelFileError when
    ``directory`` is a file."""
    if directory.exists() and not directory.is_dir():
        raise ModelFileError(f"{directory}: is a file, not a model directory")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model directory is not secret
    try:
        hashes: dict[str, str] = {}
        for name, data in files.items():
            (staging / name).write_bytes(data)
            hashes[name] = sha256_bytes(data)
        manifest = {"format": FORMAT, "files": hashes, **metadata}
        (staging / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        if directory.exists():
            for name in [*files, MANIFEST]:
                (staging / name).replace(directory / name)
        else:
            staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest


def read_model_dir(directory: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest and the bytes of every file it names, each hash checked."""
    manifest_path = directory / MANIFEST
    if not directory.is_dir():
        raise ModelFileError(f"{directory}: no such model directory")
    if not manifest_path.is_file():
        raise ModelFileError(f"{manifest_path}: missing; is {directory} a cogov model directory?")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{manifest_path}: not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{manifest_path}: not a {FORMAT} manifest")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise ModelFileError(f"{manifest_path}: lists no files")
    contents: dict[str, bytes] = {}
    for name, expected in files.items():
        path = directory / name
        if Path(name).name != name:
            raise ModelFileError(f"{manifest_path}: file name {name!r} leaves the directory")
        if not path.is_file():
            raise ModelFileError(f"{path}: named in the manifest but missing")
        data = path.read_bytes()
        actual = sha256_bytes(data)
        if actual != expected:
            raise ModelIntegrityError(path, str(expected), actual)
        contents[name] = data
    return manifest, contents

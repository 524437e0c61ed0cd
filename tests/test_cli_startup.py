"""Starting the CLI is cheap: `--help`, `--version` and `list` import no hashing, models or
indexes they do not use (measured with `python -X importtime`, asserted by module name)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import assetloom
from assetloom.app.library import Library
from tests.cli_run import cli

# Not needed to parse a command line or list a library; argon2 also hashed a password at import.
HEAVY = ("argon2", "torch", "faiss", "onnxruntime", "onnx", "numpy", "PIL", "cryptography")


def _imported(stderr: str) -> set[str]:
    return set(re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", stderr, flags=re.M))


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


def test_importing_the_cli_is_light():
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import assetloom.cli.main"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    modules = _imported(r.stderr)
    assert "assetloom.cli.main" in modules
    assert not _heavy(modules)
    assert "assetloom.accounts.passwords" not in modules


def test_help_and_version_are_light():
    for args in (["--help"], ["--version"]):
        r = cli(*args, python_flags=("-X", "importtime"))
        assert r.returncode == 0, r.stderr
        assert not _heavy(_imported(r.stderr)), args


def test_list_imports_no_models_hashing_or_indexes(tmp_path: Path):
    Library.create(tmp_path / "lib").close()
    r = cli("list", "--json", library=tmp_path / "lib", python_flags=("-X", "importtime"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["total"] == 0
    assert not _heavy(_imported(r.stderr))


def test_password_module_hashes_nothing_at_import():
    code = "import sys, assetloom.accounts.passwords; print('argon2' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stderr


def test_version():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"assetloom {assetloom.__version__}"
    r = cli("version", "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"version": assetloom.__version__}

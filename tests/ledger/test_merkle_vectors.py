"""Every transparency-dev/merkle vector: roots, inclusion, consistency and subtree proofs."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assetloom.core import merkle
from assetloom.core.merkle import ProofError


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(item: dict[str, Any]) -> list[bytes]:
    return [_b64(p) for p in item.get("proof") or []]


def _check(item: dict[str, Any], verify: Callable[[], None]) -> None:
    if item["wantErr"]:
        with pytest.raises(ProofError):
            verify()
    else:
        verify()


SHARED = Path(os.environ.get("ASSETLOOM_SHARED", Path(__file__).resolve().parents[3] / "shared"))
VECTORS = SHARED.resolve() / "data" / "merkle" / "transparency-dev-merkle"


def _cases(kind: str) -> list[Any]:
    files = sorted((VECTORS / "testdata" / kind).rglob("*.json"))
    if not files:
        reason = f"no {kind} vectors under {VECTORS} (set ASSETLOOM_SHARED)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="absent")]
    return [pytest.param(f, id=str(f.relative_to(VECTORS / "testdata"))) for f in files]


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_reference_roots() -> None:
    path = VECTORS / "rfc6962_reference_vectors.json"
    if not path.is_file():
        pytest.skip(f"{path} not found (set ASSETLOOM_SHARED)")
    ref = json.loads(path.read_text())
    leaves = [merkle.leaf_hash(bytes.fromhex(h)) for h in ref["leaf_inputs_hex"]]
    assert merkle.root([]).hex() == ref["empty_root_hex"]
    tree = merkle.MemoryTree(leaves)
    assert tree.root(0).hex() == ref["empty_root_hex"]
    for size, want in ref["root_hashes_hex_by_size"].items():
        assert merkle.root(leaves[: int(size)]).hex() == want
        assert tree.root(int(size)).hex() == want


@pytest.mark.parametrize("path", _cases("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    item = _load(path)
    _check(
        item,
        lambda item=item: merkle.verify_inclusion(
            _b64(item["leafHash"]),
            item["leafIdx"],
            item["treeSize"],
            _proof(item),
            _b64(item["root"]),
        ),
    )


@pytest.mark.parametrize("path", _cases("consistency"))
def test_consistency_vector(path: Path) -> None:
    item = _load(path)
    _check(
        item,
        lambda item=item: merkle.verify_consistency(
            item["size1"], item["size2"], _b64(item["root1"]), _b64(item["root2"]), _proof(item)
        ),
    )


@pytest.mark.parametrize("path", _cases("subtreeinclusion"))
def test_subtree_inclusion_vector(path: Path) -> None:
    item = _load(path)
    _check(
        item,
        lambda item=item: merkle.verify_subtree_inclusion(
            _b64(item["leafHash"]),
            item["leafIdx"],
            item["start"],
            item["end"],
            _proof(item),
            _b64(item["root"]),
        ),
    )


@pytest.mark.parametrize("path", _cases("subtreeconsistency"))
def test_subtree_consistency_vector(path: Path) -> None:
    item = _load(path)
    _check(
        item,
        lambda item=item: merkle.verify_subtree_consistency(
            item["start"],
            item["end"],
            item["size"],
            _proof(item),
            _b64(item["root1"]),
            _b64(item["root2"]),
        ),
    )

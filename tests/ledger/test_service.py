"""LedgerService shapes, and the exported bundle checked by its stand-alone verifier."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assetloom.core.checkpoint import Checkpoint, VerifierKey
from assetloom.errors import AssetNotFoundError, BadInputError
from assetloom.provenance.ledger_service import InclusionProof, LedgerService
from assetloom.provenance.signing import open_note


def _verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the exported verify.py in a fresh interpreter that cannot see AssetLoom."""
    return subprocess.run(
        [sys.executable, "-I", *map(str, args)], capture_output=True, text=True, timeout=60
    )


def test_json_shapes(filled: LedgerService) -> None:
    cp = filled.checkpoint()
    assert set(cp.to_dict()) == {"origin", "tree_size", "root_hash", "checkpoint", "public_key"}
    body = Checkpoint.parse(open_note(cp.checkpoint, VerifierKey.parse(cp.public_key)))
    assert (body.origin, body.size, body.root_hash.hex()) == (filled.origin, 37, cp.root_hash)

    proof = filled.proof("asset0007").to_dict()
    assert list(proof) == [
        "asset_id",
        "leaf_index",
        "tree_size",
        "leaf",
        "leaf_hash",
        "inclusion_proof",
        "checkpoint",
        "public_key",
    ]
    assert (proof["leaf_index"], proof["tree_size"], len(proof["inclusion_proof"])) == (7, 37, 6)
    assert json.loads(proof["leaf"])["asset_id"] == "asset0007"
    InclusionProof.from_dict(json.loads(json.dumps(proof))).verify(filled.public_key)

    cons = filled.consistency(20).to_dict()
    assert list(cons) == ["old_size", "new_size", "old_root", "new_root", "proof"]
    assert (cons["old_size"], cons["new_size"], cons["new_root"]) == (20, 37, cp.root_hash)
    assert filled.consistency(37).proof == []


def test_errors_are_clear(filled: LedgerService) -> None:
    with pytest.raises(AssetNotFoundError, match="asset nope has no registration"):
        filled.proof("nope")
    for args in [(0,), (38,), (20, 10), (5, 40)]:
        with pytest.raises(BadInputError, match="consistency needs"):
            filled.consistency(*args)


def test_checkpoints_are_kept_and_audited(filled: LedgerService) -> None:
    first = filled.checkpoint()
    assert filled.checkpoint().checkpoint == first.checkpoint  # same head, same note
    with filled._sessions.begin() as s:
        filled.store.append(s, b'{"asset_id":"late","type":"register"}')
    second = filled.checkpoint()
    assert second.tree_size == 38
    result = filled.audit()
    assert result.ok and result.checkpoints_checked == 2
    with filled._sessions() as s:
        assert [c.tree_size for c in filled.store.checkpoints(s)] == [37, 38]


def test_export_of_the_whole_log_and_standalone_verifier(
    filled: LedgerService, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    result = filled.export(out)
    assert result.files == ["README.txt", "checkpoint", "leaves.jsonl", "public_key", "verify.py"]
    assert (result.tree_size, result.leaves, result.proofs) == (37, 37, 0)
    first = json.loads((out / "leaves.jsonl").read_text().splitlines()[0])
    assert set(first) == {"index", "leaf"} and first["index"] == 0
    assert "import assetloom" not in (out / "verify.py").read_text()

    ok = _verify(out / "verify.py", out, "--asset", "asset0030", "--public-key", filled.public_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "37 leaves hash to the signed root" in ok.stdout
    assert "asset0030: registration leaf 30 is in the signed tree" in ok.stdout

    missing = _verify(out / "verify.py", out, "--asset", "nobody")
    assert missing.returncode == 1 and "no registration leaf for asset nobody" in missing.stdout

    with pytest.raises(BadInputError, match="not empty"):
        filled.export(out)


def test_export_for_assets_holds_only_their_proofs(filled: LedgerService, tmp_path: Path) -> None:
    """A proof for one asset must not publish every other asset's hash and time."""
    out = tmp_path / "bundle"
    result = filled.export(out, ["asset0003", "asset0030"])
    assert result.files == [
        "README.txt",
        "checkpoint",
        "proofs/asset0003.json",
        "proofs/asset0030.json",
        "public_key",
        "verify.py",
    ]
    assert (result.tree_size, result.leaves, result.proofs) == (37, 0, 2)
    everything = "".join(
        p.read_text() for p in out.rglob("*") if p.is_file() and p.name != "verify.py"
    )
    assert "asset0003" in everything and "asset0030" in everything
    assert "asset0004" not in everything and "asset0029" not in everything

    ok = _verify(out / "verify.py", out, "--public-key", filled.public_key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 proof(s) lead to the signed tree of size 37" in ok.stdout
    one = _verify(out / "verify.py", out, "--asset", "asset0030")
    assert one.returncode == 0 and "OK   asset0030: leaf 30 of 37" in one.stdout
    lone = _verify(out / "verify.py", "--proof", out / "proofs" / "asset0003.json")
    assert lone.returncode == 0 and "OK   asset0003: leaf 3 of 37" in lone.stdout
    missing = _verify(out / "verify.py", out, "--asset", "asset0004")
    assert missing.returncode == 1 and "no proof for asset asset0004" in missing.stdout


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda lines: lines[:5] + lines[6:], "line 6 holds index 6, not 5"),
        (lambda lines: [lines[0].replace("1000", "1001"), *lines[1:]], "do not hash to"),
        (lambda lines: lines[:-1], "holds 36 leaves, the checkpoint 37"),
    ],
)
def test_verifier_catches_edited_leaves(
    filled: LedgerService, tmp_path: Path, edit: object, message: str
) -> None:
    out = tmp_path / "bundle"
    filled.export(out)
    lines = (out / "leaves.jsonl").read_text().splitlines()
    (out / "leaves.jsonl").write_text("\n".join(edit(lines)) + "\n")  # type: ignore[operator]
    bad = _verify(out / "verify.py", out)
    assert bad.returncode == 1 and message in bad.stdout, bad.stdout


def test_verifier_catches_foreign_key_and_edited_proof(
    filled: LedgerService, tmp_path: Path
) -> None:
    out = tmp_path / "bundle"
    filled.export(out, ["asset0003"])
    other = tmp_path / "other"
    LedgerService.create_key(other, filled.origin)
    foreign = (other / "ledger.pub").read_text().strip()
    bad = _verify(out / "verify.py", out, "--public-key", foreign)
    assert bad.returncode == 1 and "not signed by" in bad.stdout

    proof_file = out / "proofs" / "asset0003.json"
    proof = json.loads(proof_file.read_text())
    proof["inclusion_proof"][0] = "00" * 32
    proof_file.write_text(json.dumps(proof))
    bad = _verify(out / "verify.py", "--proof", proof_file)
    assert bad.returncode == 1 and "does not lead to the checkpoint's root" in bad.stdout

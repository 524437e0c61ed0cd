"""Each way of tampering with the stored log is caught by `audit` and by proof checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from assetloom.core.merkle import ProofError, leaf_hash
from assetloom.errors import AssetNotFoundError, IntegrityError
from assetloom.provenance.leaves import parse_leaf
from assetloom.provenance.ledger_service import LedgerService, RecomputeLeaf
from assetloom.provenance.signing import PRIVATE_KEY_FILE, LedgerKey, SignatureError

SIZE = 37


def _sql(service: LedgerService, statement: str, **params: object) -> None:
    with service._sessions.begin() as s:
        s.execute(text(statement), params)


@pytest.fixture
def signed(filled: LedgerService) -> LedgerService:
    """37 leaves under a kept checkpoint."""
    filled.checkpoint()
    return filled


@pytest.fixture
def catalog(signed: LedgerService) -> RecomputeLeaf:
    """recompute_leaf as the library gives it: the leaf its catalog implies for that asset."""
    with signed._sessions() as s:
        by_asset = {parse_leaf(r.data)["asset_id"]: r.data for r in signed.store.iter_leaves(s)}
    return lambda rec: by_asset.get(parse_leaf(rec.data)["asset_id"])


def test_untouched_log_audits_clean(signed: LedgerService, catalog: RecomputeLeaf) -> None:
    result = signed.audit(catalog)
    assert result.ok and result.first_bad_index is None and result.message == "ok"
    assert (result.leaves_checked, result.checkpoints_checked) == (SIZE, 1)
    signed.proof("asset0005").verify(signed.public_key)


def test_changed_byte_in_a_leaf(signed: LedgerService) -> None:
    with signed._sessions.begin() as s:
        data = signed.store.leaf(s, 5).data.replace(b"image", b"imagf")
        s.execute(text("update ledger_leaves set data = :d where idx = 5"), {"d": data})
    result = signed.audit()
    assert not result.ok and result.first_bad_index == 5
    assert "leaf 5: its bytes do not match its stored hash" in result.message
    with pytest.raises(IntegrityError, match="proof for asset asset0005 does not verify"):
        signed.proof("asset0005")


def test_changed_leaf_with_its_hash_recomputed(
    signed: LedgerService, catalog: RecomputeLeaf
) -> None:
    with signed._sessions.begin() as s:
        data = signed.store.leaf(s, 5).data.replace(b"image", b"imagf")
        s.execute(
            text("update ledger_leaves set data = :d, leaf_hash = :h where idx = 5"),
            {"d": data, "h": leaf_hash(data)},
        )
    result = signed.audit(catalog)
    assert result.first_bad_index == 4  # the pair [4, 6) no longer hashes to its stored node
    assert "stored hash of leaves [4, 6) does not match" in result.message
    assert any(p.index == 5 and "catalog" in p.message for p in result.problems)
    with pytest.raises(IntegrityError, match="does not verify"):
        signed.proof("asset0005")


def test_deleted_row(signed: LedgerService) -> None:
    _sql(signed, "delete from ledger_leaves where idx = 9")
    result = signed.audit()
    assert result.first_bad_index == 9 and "leaf 9 is missing" in result.message
    with pytest.raises(AssetNotFoundError):
        signed.proof("asset0009")
    with pytest.raises(IntegrityError, match=r"hash for leaves \[9, 10\) is missing"):
        signed.proof("asset0008")  # its first sibling is the deleted leaf


def test_reordered_rows(signed: LedgerService, catalog: RecomputeLeaf) -> None:
    _sql(signed, "update ledger_leaves set idx = -1 where idx = 3")
    _sql(signed, "update ledger_leaves set idx = 3 where idx = 4")
    _sql(signed, "update ledger_leaves set idx = 4 where idx = -1")
    result = signed.audit(catalog)
    assert not result.ok and result.first_bad_index == 2
    assert "stored hash of leaves [2, 4) does not match" in result.message
    for asset in ("asset0003", "asset0004"):
        with pytest.raises(IntegrityError, match="does not verify"):
            signed.proof(asset)


def test_rewritten_history_with_everything_recomputed(
    signed: LedgerService, catalog: RecomputeLeaf
) -> None:
    """A careful forger rebuilds leaves, subtree hashes and head: the checkpoint still holds."""
    with signed._sessions() as s:
        originals = [r.data for r in signed.store.iter_leaves(s)]
    forged = [d.replace(b'"size":1012', b'"size":9999') for d in originals]
    _sql(signed, "delete from ledger_leaves")
    _sql(signed, "delete from ledger_nodes")
    _sql(signed, "update ledger_head set tree_size = 0, root_hash = :r", r=bytes(32))
    with signed._sessions.begin() as s:
        signed.store.append_many(s, forged)
    result = signed.audit()
    assert result.first_bad_index == 0  # the one checkpoint vouches for [0, 37) as a whole
    assert "leaves [0, 37) were rewritten after the checkpoint at size 37" in result.message
    result = signed.audit(catalog)
    assert result.first_bad_index == 12  # the catalog pinpoints the forged leaf
    assert "leaf 12 (asset0012) differs from the catalog's record" in result.message
    with pytest.raises(IntegrityError, match="history was rewritten"):
        signed.proof("asset0012")
    with pytest.raises(IntegrityError, match="history was rewritten"):
        signed.checkpoint()


def test_swapped_key(signed: LedgerService, tmp_path: Path) -> None:
    old_key = signed.public_key
    LedgerKey.create(tmp_path / "forger", signed.origin)
    shutil.copy(tmp_path / "forger" / PRIVATE_KEY_FILE, tmp_path / "keys" / PRIVATE_KEY_FILE)
    swapped = LedgerService(signed._sessions, tmp_path / "keys", signed.origin)
    assert swapped.public_key != old_key
    result = swapped.audit()
    assert not result.ok and result.first_bad_index is None
    assert "checkpoint at size 37 does not verify with this library's key" in result.message
    # The head kept for this size was signed by the real key: a proof against it exposes
    # the swap instead of being re-signed with the forger's key.
    with pytest.raises(IntegrityError, match="not signed by"):
        swapped.proof("asset0005")
    with swapped._sessions.begin() as s:
        swapped.store.append(s, b'{"asset_id":"late","type":"register"}')
    proof = swapped.proof("asset0005")  # a grown log gets a head signed with the new key:
    proof.verify()  # self-consistent with the key it carries ...
    with pytest.raises(SignatureError, match="not signed by"):
        proof.verify(old_key)  # ... but not with the key the client kept


def test_truncated_log(signed: LedgerService) -> None:
    old = signed.proof("asset0033")
    with signed._sessions() as s:
        root30 = signed.store.root(s, 30)
    _sql(signed, "delete from ledger_leaves where idx >= 30")
    # node_id = level << 48 | index: drop every subtree reaching past leaf 30
    _sql(
        signed,
        "delete from ledger_nodes where (((node_id & 0xffffffffffff) + 1) << (node_id >> 48)) > 30",
    )
    _sql(signed, "update ledger_head set tree_size = 30, root_hash = :r", r=root30)
    result = signed.audit()
    assert result.first_bad_index == 30
    assert "truncated: a checkpoint was signed at size 37 but only 30 leaves remain" in (
        result.message
    )
    for attempt in (
        signed.checkpoint,
        lambda: signed.proof("asset0001"),
        lambda: signed.consistency(1),
    ):
        with pytest.raises(IntegrityError, match="truncated"):
            attempt()  # type: ignore[operator]
    old.verify(signed.public_key)  # what a client already holds stays valid evidence


def test_proof_checks_catch_edited_bundles(signed: LedgerService) -> None:
    proof = signed.proof("asset0005")
    edited = type(proof).from_dict({**proof.to_dict(), "leaf": proof.leaf.replace("1005", "1006")})
    with pytest.raises(ProofError, match="does not hash"):
        edited.verify()
    moved = type(proof).from_dict({**proof.to_dict(), "leaf_index": 6})
    with pytest.raises(ProofError):
        moved.verify()


def test_redirected_asset_index(signed: LedgerService) -> None:
    _sql(signed, "update ledger_leaves set asset_id = 'asset0005' where idx = 30")
    result = signed.audit()
    assert result.first_bad_index == 30 and "index columns disagree" in result.message
    with pytest.raises(IntegrityError, match="indexed under asset asset0005"):
        signed.proof("asset0005")

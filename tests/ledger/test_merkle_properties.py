"""Proofs for every size 1..70 against a naive, literal reading of RFC 9162 section 2.1."""

from __future__ import annotations

import hashlib

import pytest

from assetloom.core import merkle
from assetloom.core.merkle import CompactRange, MemoryTree, Node, ProofError
from assetloom.errors import BadInputError

N = 70
LEAVES = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(N)]
TREE = MemoryTree(LEAVES)


def _k(n: int) -> int:
    """Largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return merkle.node_hash(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def subtree_subproof(start: int, end: int, d: list[bytes], b: bool) -> list[bytes]:
    """Subtree consistency as in draft-ietf-plants-merkle-tree-certs, read literally."""
    if start == 0 and end == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if end <= k:
        return [*subtree_subproof(start, end, d[:k], b), mth(d[k:])]
    if start >= k:
        return [*subtree_subproof(start - k, end - k, d[k:], b), mth(d[:k])]
    return [*subtree_subproof(0, end - k, d[k:], False), mth(d[:k])]


def _valid_subtree(start: int, end: int) -> bool:
    size = end - start
    ceil = 1 << (size - 1).bit_length()
    return start < end and start % ceil == 0


def _flip(proof: list[bytes], i: int) -> list[bytes]:
    bad = list(proof)
    bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
    return bad


@pytest.mark.parametrize("size", range(1, N + 1))
def test_roots_and_inclusion(size: int) -> None:
    d = LEAVES[:size]
    root = mth(d)
    assert merkle.root(d) == root == TREE.root(size)
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, TREE)
        assert proof == path(index, d)
        merkle.verify_inclusion(d[index], index, size, proof, root)
        for i in range(len(proof)):
            with pytest.raises(ProofError):
                merkle.verify_inclusion(d[index], index, size, _flip(proof, i), root)
        if size > 1:
            with pytest.raises(ProofError):
                merkle.verify_inclusion(d[index], (index + 1) % size, size, proof, root)
            with pytest.raises(ProofError):
                merkle.verify_inclusion(d[(index + 1) % size], index, size, proof, root)


@pytest.mark.parametrize("new", range(1, N + 1))
def test_consistency(new: int) -> None:
    new_root = mth(LEAVES[:new])
    for old in range(1, new + 1):
        old_root = mth(LEAVES[:old])
        proof = merkle.consistency_proof(old, new, TREE)
        assert proof == subproof(old, LEAVES[:new], True)
        merkle.verify_consistency(old, new, old_root, new_root, proof)
        for i in range(len(proof)):
            with pytest.raises(ProofError):
                merkle.verify_consistency(old, new, old_root, new_root, _flip(proof, i))
        if old < new:
            with pytest.raises(ProofError):
                merkle.verify_consistency(old, new, mth(LEAVES[: old - 1]), new_root, proof)
            with pytest.raises(ProofError):
                merkle.verify_consistency(old, new, old_root, mth(LEAVES[: new - 1]), proof)
            with pytest.raises(ProofError):
                merkle.verify_consistency(old, new, old_root, new_root, proof[:-1])


@pytest.mark.parametrize("size", range(1, 41))
def test_subtree_proofs(size: int) -> None:
    d = LEAVES[:size]
    root = mth(d)
    for end in range(1, size + 1):
        for start in range(end):
            if not _valid_subtree(start, end):
                with pytest.raises(BadInputError):
                    merkle.subtree_consistency_proof(start, end, size, TREE)
                continue
            sub_root = mth(d[start:end])
            proof = merkle.subtree_consistency_proof(start, end, size, TREE)
            assert proof == subtree_subproof(start, end, d, True)
            merkle.verify_subtree_consistency(start, end, size, proof, sub_root, root)
            for i in range(len(proof)):
                with pytest.raises(ProofError):
                    merkle.verify_subtree_consistency(
                        start, end, size, _flip(proof, i), sub_root, root
                    )
            for index in range(start, end):
                inc = merkle.subtree_inclusion_proof(index, start, end, TREE)
                assert inc == path(index - start, d[start:end])
                merkle.verify_subtree_inclusion(d[index], index, start, end, inc, sub_root)


def test_compact_range_resumes_from_frontier() -> None:
    for size in range(N):
        frontier = merkle.perfect_subtrees(0, size)
        cr = CompactRange(size, TREE.subtree_hashes(frontier))
        closed = cr.append(LEAVES[size])
        assert cr.root() == mth(LEAVES[: size + 1])
        for node, h in closed:
            lo = node.index << node.level
            assert h == mth(LEAVES[lo : lo + (1 << node.level)])


def test_perfect_subtrees_tile_the_range() -> None:
    for start in range(40):
        for end in range(start, 41):
            nodes = merkle.perfect_subtrees(start, end)
            covered = [
                i for n in nodes for i in range(n.index << n.level, (n.index + 1) << n.level)
            ]
            assert covered == list(range(start, end))
            assert all(isinstance(n, Node) for n in nodes)


def test_generation_rejects_bad_arguments() -> None:
    for args in [(0, 0), (5, 5), (-1, 3)]:
        with pytest.raises(BadInputError):
            merkle.inclusion_proof(*args, TREE)
    for args in [(0, 5), (6, 5)]:
        with pytest.raises(BadInputError):
            merkle.consistency_proof(*args, TREE)
    with pytest.raises(BadInputError):
        merkle.tree_root(-1, TREE)
    assert merkle.consistency_proof(5, 5, TREE) == []

"""RFC 9162 Merkle tree math: hashes, roots, inclusion and consistency proofs.

Pure (stdlib only). Proof *generation* reads tree hashes through a `NodeSource` that returns
the hashes of complete subtrees, so a store that keeps those hashes serves any proof with
O(log n) reads in one batch. Proof *verification* needs nothing but the proof.

A complete subtree is `Node(level, index)`: the 2**level leaves starting at index * 2**level.
Every hash a proof needs is either such a node or a ragged right-edge range, which is the
right fold of its complete subtrees.

Edge cases follow transparency-dev/merkle (see docs/ledger.md): hashes in proofs and leaf
hashes must be 32 bytes; a consistency proof from size 0 is refused as meaningless; equal
sizes need an empty proof and equal roots; an empty subtree [i, i) is consistent with any
tree when its root is the empty-tree hash and its proof is empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import NamedTuple, Protocol

from assetloom.errors import BadInputError, IntegrityError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(IntegrityError):
    """A proof, root or hash does not check out."""

    code = "bad_proof"


class Node(NamedTuple):
    """A complete subtree: leaves [index * 2**level, (index + 1) * 2**level)."""

    level: int
    index: int


class NodeSource(Protocol):
    """Where proof generation reads hashes: one call per proof, so a store can batch it."""

    def subtree_hashes(self, nodes: Sequence[Node]) -> Sequence[bytes]:
        """Hashes of the given complete subtrees, in the same order."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Root of the tree over these leaf hashes (EMPTY_ROOT for none), in O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def fold_right(hashes: Sequence[bytes]) -> bytes:
    """Hash of a range from its complete subtrees, left to right (larger ones first)."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def perfect_subtrees(start: int, end: int) -> list[Node]:
    """The largest aligned complete subtrees that tile leaves [start, end), left to right."""
    out: list[Node] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        out.append(Node(level, start >> level))
        start += 1 << level
    return out


def _split(lo: int, hi: int) -> int:
    """Where RFC 9162 splits [lo, hi): lo plus the largest power of two below hi - lo."""
    return lo + (1 << ((hi - lo - 1).bit_length() - 1))


def _bit_ceil(n: int) -> int:
    return 1 << (n - 1).bit_length() if n > 1 else 1


def _inclusion_ranges(index: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form the RFC 9162 PATH of `index` in [lo, hi), bottom-up."""
    out: list[tuple[int, int]] = []
    while hi - lo > 1:
        mid = _split(lo, hi)
        if index < mid:
            out.append((mid, hi))
            hi = mid
        else:
            out.append((lo, mid))
            lo = mid
    out.reverse()
    return out


class _Step(Enum):
    RIGHT = "right"  # sibling to the right of the old subtree: only the new root grows
    LEFT = "left"  # sibling to the left of the old subtree: only the new root grows
    SPLIT = "split"  # old subtree spans the split: both roots grow by the left sibling


def _consistency_walk(
    start: int, end: int, size: int
) -> tuple[tuple[int, int] | None, list[tuple[tuple[int, int], _Step]]]:
    """RFC 9162 SUBPROOF for the subtree [start, end) of a tree of `size` leaves.

    Returns the seed range (None when the verifier already knows it: the old root) and the
    sibling ranges with how each combines, bottom-up. Plain consistency is start = 0.
    """
    steps: list[tuple[tuple[int, int], _Step]] = []
    lo, hi, known = 0, size, True
    while not (lo == start and hi == end):
        mid = _split(lo, hi)
        if end <= mid:
            steps.append(((mid, hi), _Step.RIGHT))
            hi = mid
        elif start >= mid:
            steps.append(((lo, mid), _Step.LEFT))
            lo = mid
        else:  # start == lo: the old subtree is not a node of this one
            steps.append(((lo, mid), _Step.SPLIT))
            lo = start = mid
            known = False
    steps.reverse()
    return (None if known else (lo, hi)), steps


def _check_subtree(start: int, end: int, error: type[Exception] = ProofError) -> None:
    if start > end:
        raise error(f"subtree [{start}, {end}) ends before it starts")
    if start and start != end and start % _bit_ceil(end - start):
        raise error(
            f"[{start}, {end}) is not a subtree: start must be a multiple of "
            f"{_bit_ceil(end - start)}"
        )


def _resolve(ranges: Sequence[tuple[int, int]], source: NodeSource) -> list[bytes]:
    """Hashes of the given leaf ranges with one batched read from `source`."""
    tilings = [perfect_subtrees(a, b) for a, b in ranges]
    wanted = list(dict.fromkeys(n for t in tilings for n in t))
    got = source.subtree_hashes(wanted)
    if len(got) != len(wanted):
        raise ProofError(f"node source returned {len(got)} hashes for {len(wanted)} nodes")
    by_node = dict(zip(wanted, got, strict=True))
    return [fold_right([by_node[n] for n in t]) for t in tilings]


def tree_root(size: int, source: NodeSource) -> bytes:
    """Root of the first `size` leaves, from at most log2(size) complete subtrees."""
    if size < 0:
        raise BadInputError(f"tree size must not be negative, got {size}")
    return _resolve([(0, size)], source)[0] if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, source: NodeSource) -> list[bytes]:
    """Audit path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise BadInputError(f"leaf index {index} is outside a tree of {size} leaves")
    return _resolve(_inclusion_ranges(index, 0, size), source)


def subtree_inclusion_proof(index: int, start: int, end: int, source: NodeSource) -> list[bytes]:
    """Audit path of leaf `index` up to the root of the subtree [start, end)."""
    _check_subtree(start, end, BadInputError)
    if not start <= index < end:
        raise BadInputError(f"leaf index {index} is outside the subtree [{start}, {end})")
    return _resolve(_inclusion_ranges(index, start, end), source)


def consistency_proof(old_size: int, new_size: int, source: NodeSource) -> list[bytes]:
    """Proof that the tree of `old_size` leaves is a prefix of `new_size` (RFC 9162 2.1.4.1)."""
    if not 0 < old_size <= new_size:
        raise BadInputError(
            f"consistency proofs need 0 < old size <= new size, got {old_size} and {new_size}"
        )
    return subtree_consistency_proof(0, old_size, new_size, source)


def subtree_consistency_proof(start: int, end: int, size: int, source: NodeSource) -> list[bytes]:
    """Proof that the subtree [start, end) is part of the tree of `size` leaves."""
    _check_subtree(start, end, BadInputError)
    if end > size:
        raise BadInputError(f"subtree [{start}, {end}) is outside a tree of {size} leaves")
    if start == end:
        return []
    seed, steps = _consistency_walk(start, end, size)
    ranges = ([seed] if seed else []) + [r for r, _ in steps]
    return _resolve(ranges, source)


# --- verification -----------------------------------------------------------------------


def _check_hashes(proof: Sequence[bytes]) -> None:
    for i, h in enumerate(proof):
        if len(h) != HASH_SIZE:
            raise ProofError(f"proof hash {i} has {len(h)} bytes, not {HASH_SIZE}")


def _mismatch(what: str, computed: bytes, expected: bytes) -> ProofError:
    return ProofError(f"{what}: computed {computed.hex()} but expected {expected.hex()}")


def root_from_inclusion_proof(leaf: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that `proof` implies for leaf hash `leaf` at `index` in a tree of `size`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of {size} leaves")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash has {len(leaf)} bytes, not {HASH_SIZE}")
    _check_hashes(proof)
    ranges = _inclusion_ranges(index, 0, size)
    if len(proof) != len(ranges):
        raise ProofError(
            f"inclusion proof for leaf {index} of {size} needs {len(ranges)} hashes, "
            f"got {len(proof)}"
        )
    acc = leaf
    for sibling, (lo, _) in zip(proof, ranges, strict=True):
        acc = node_hash(acc, sibling) if lo > index else node_hash(sibling, acc)
    return acc


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` under `root_hash`."""
    got = root_from_inclusion_proof(leaf, index, size, proof)
    if got != root_hash:
        raise _mismatch(f"inclusion proof for leaf {index} of {size}", got, root_hash)


def verify_subtree_inclusion(
    leaf: bytes, index: int, start: int, end: int, proof: Sequence[bytes], subtree_root: bytes
) -> None:
    """Raise ProofError unless `proof` shows `leaf` at `index` under the subtree [start, end)."""
    _check_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"leaf index {index} is outside the subtree [{start}, {end})")
    got = root_from_inclusion_proof(leaf, index - start, end - start, proof)
    if got != subtree_root:
        raise _mismatch(f"inclusion proof for leaf {index} in [{start}, {end})", got, subtree_root)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ProofError unless the tree (old_size, old_root) is a prefix of (new_size, new_root)."""
    if new_size < old_size:
        raise ProofError(f"new size {new_size} is smaller than old size {old_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    _verify_subtree_consistency(0, old_size, new_size, proof, old_root, new_root)


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], subtree_root: bytes, root_hash: bytes
) -> None:
    """Raise ProofError unless subtree [start, end) with `subtree_root` is in (size, root_hash)."""
    _check_subtree(start, end)
    if end > size:
        raise ProofError(f"subtree [{start}, {end}) is outside a tree of {size} leaves")
    if start == end:
        if proof:
            raise ProofError("an empty subtree needs an empty proof")
        if subtree_root != EMPTY_ROOT:
            raise _mismatch("empty subtree root", subtree_root, EMPTY_ROOT)
        return
    _verify_subtree_consistency(start, end, size, proof, subtree_root, root_hash)


def _verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    _check_hashes(proof)
    if start == 0 and end == size:
        if proof:
            raise ProofError(f"trees of equal size {size} need an empty consistency proof")
        if old_root != new_root:
            raise _mismatch(f"roots of two trees of size {size}", old_root, new_root)
        return
    seed_range, steps = _consistency_walk(start, end, size)
    expected = len(steps) + (seed_range is not None)
    if len(proof) != expected:
        raise ProofError(
            f"consistency proof for [{start}, {end}) in {size} needs {expected} hashes, "
            f"got {len(proof)}"
        )
    hashes: Iterable[bytes] = iter(proof)
    old = new = old_root if seed_range is None else next(hashes)
    for h, (_, step) in zip(hashes, steps, strict=True):
        if step is _Step.RIGHT:
            new = node_hash(new, h)
        elif step is _Step.LEFT:
            new = node_hash(h, new)
        else:
            old, new = node_hash(h, old), node_hash(h, new)
    if old != old_root:
        raise _mismatch(f"old root of [{start}, {end}) from the proof", old, old_root)
    if new != new_root:
        raise _mismatch(f"new root of size {size} from the proof", new, new_root)


# --- building ---------------------------------------------------------------------------


class CompactRange:
    """The complete subtrees tiling [0, size): all an appender needs to extend the tree.

    `append` returns the complete subtrees (level >= 1) each new leaf closes, so a store can
    persist them and later serve proofs without recomputing anything.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        nodes = perfect_subtrees(0, size)
        if len(nodes) != len(hashes):
            raise BadInputError(f"a tree of {size} leaves needs {len(nodes)} frontier hashes")
        self.size = size
        self._stack: list[tuple[int, bytes]] = [
            (n.level, h) for n, h in zip(nodes, hashes, strict=True)
        ]

    def append(self, leaf: bytes) -> list[tuple[Node, bytes]]:
        """Add one leaf hash; return the complete subtrees it closes, lowest first."""
        closed: list[tuple[Node, bytes]] = []
        level, acc, index = 0, leaf, self.size
        stack = self._stack
        while stack and stack[-1][0] == level:
            acc = node_hash(stack.pop()[1], acc)
            level += 1
            index >>= 1
            closed.append((Node(level, index), acc))
        stack.append((level, acc))
        self.size += 1
        return closed

    def root(self) -> bytes:
        """Root of the tree so far."""
        return fold_right([h for _, h in self._stack]) if self._stack else EMPTY_ROOT


class MemoryTree:
    """An in-memory log keeping every complete subtree: a NodeSource for tests and tools."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self._range = CompactRange()
        for h in leaf_hashes:
            self.append(h)

    def append(self, leaf: bytes) -> None:
        self._levels[0].append(leaf)
        for node, h in self._range.append(leaf):
            if node.level == len(self._levels):
                self._levels.append([])
            self._levels[node.level].append(h)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def subtree_hashes(self, nodes: Sequence[Node]) -> list[bytes]:
        try:
            return [self._levels[n.level][n.index] for n in nodes]
        except IndexError as exc:
            raise ProofError("node outside the tree") from exc

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size if size is None else size, self)

"""The provenance ledger as the CLI and API use it: checkpoints, proofs, audit, export.

Results are plain dataclasses whose `to_dict()` is the `--json` shape (hashes as lowercase
hex, checkpoints as signed-note text, keys as note verifier-key strings). Every proof handed
out is verified first, and no checkpoint is signed for a tree that contradicts one signed
before, so tampering surfaces as an IntegrityError naming what no longer checks out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from assetloom.core import merkle
from assetloom.core.checkpoint import Checkpoint, VerifierKey
from assetloom.errors import AssetNotFoundError, BadInputError, IntegrityError
from assetloom.provenance.leaves import REGISTER, leaf_differences, leaf_key
from assetloom.provenance.log_store import AuditProblem, LeafRecord, SqlLedger
from assetloom.provenance.signing import LedgerKey, SignatureError, open_note

RecomputeLeaf = Callable[[LeafRecord], bytes | None]


class CatalogMismatchError(IntegrityError):
    """A verified registration leaf and the catalog row disagree (the row was edited)."""

    code = "catalog_mismatch"

    def __init__(self, message: str, proof: InclusionProof) -> None:
        super().__init__(
            message, hint="run `assetloom ledger audit`; the signed leaf is authoritative"
        )
        self.proof = proof


@dataclass(frozen=True, slots=True)
class SignedCheckpoint:
    """`ledger checkpoint --json`."""

    origin: str
    tree_size: int
    root_hash: str
    checkpoint: str
    public_key: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """`ledger proof --json`: everything a third party needs to check one registration."""

    asset_id: str
    leaf_index: int
    tree_size: int
    leaf: str
    leaf_hash: str
    inclusion_proof: list[str]
    checkpoint: str
    public_key: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InclusionProof:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})

    def verify(self, trusted_key: str | None = None) -> Checkpoint:
        """Check signature, leaf hash and path; raise IntegrityError subclasses if any fails.

        `trusted_key` is the verifier key obtained out of band; default: the one in the proof.
        """
        key = VerifierKey.parse(trusted_key or self.public_key)
        body = Checkpoint.parse(open_note(self.checkpoint, key))
        if body.size != self.tree_size:
            raise merkle.ProofError(
                f"proof is for tree size {self.tree_size} but the checkpoint is for {body.size}"
            )
        leaf_hash = merkle.leaf_hash(self.leaf.encode())
        if leaf_hash.hex() != self.leaf_hash:
            raise merkle.ProofError("the leaf does not hash to the stated leaf hash")
        merkle.verify_inclusion(
            leaf_hash,
            self.leaf_index,
            self.tree_size,
            [bytes.fromhex(h) for h in self.inclusion_proof],
            body.root_hash,
        )
        return body


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """`ledger consistency --json`."""

    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def verify(self) -> None:
        merkle.verify_consistency(
            self.old_size,
            self.new_size,
            bytes.fromhex(self.old_root),
            bytes.fromhex(self.new_root),
            [bytes.fromhex(h) for h in self.proof],
        )


@dataclass(frozen=True, slots=True)
class AuditResult:
    """`ledger audit --json`; `first_bad_index` is None when no leaf is in doubt."""

    ok: bool
    tree_size: int
    leaves_checked: int
    checkpoints_checked: int
    first_bad_index: int | None
    message: str
    problems: list[AuditProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ExportResult:
    directory: str
    tree_size: int
    leaves: int
    proofs: int
    files: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class LedgerService:
    """One library's ledger: its database session factory, signing key and origin."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        keys_dir: Path,
        origin: str,
        store: SqlLedger | None = None,
        *,
        readers: sessionmaker[Session] | None = None,
    ) -> None:
        self._sessions = sessions
        # Proofs against a checkpoint already kept need no write transaction, so a verify
        # never queues behind an ingest for the write lock.
        self._readers = readers or sessions
        self._keys_dir = keys_dir
        self.origin = origin
        self.store = store or SqlLedger()
        self._key: LedgerKey | None = None

    @staticmethod
    def create_key(keys_dir: Path, origin: str) -> str:
        """At library init: make the signing key (named after the origin); return its public key."""
        return str(LedgerKey.create(keys_dir, origin).verifier)

    @property
    def key(self) -> LedgerKey:
        if self._key is None:
            key = LedgerKey.load(self._keys_dir)
            if key.name != self.origin:
                raise IntegrityError(
                    f"the ledger key is named {key.name!r} but the log origin is {self.origin!r}"
                )
            self._key = key
        return self._key

    @property
    def public_key(self) -> str:
        """The note verifier key string to publish: <origin>+<key id>+<base64 key>."""
        return str(self.key.verifier)

    def checkpoint(self) -> SignedCheckpoint:
        """Sign the current tree head (and keep it, so later audits hold the log to it)."""
        with self._sessions.begin() as s:
            size = self.store.size(s)
            note, root = self._sign(s, size)
        return SignedCheckpoint(self.origin, size, root.hex(), note, self.public_key)

    def proof(self, asset_id: str, *, catalog_leaf: bytes | None = None) -> InclusionProof:
        """Inclusion proof of the asset's newest registration leaf in the current tree.

        The checkpoint kept for the current tree size is reused (a read); one is signed
        only when the log has grown since. With `catalog_leaf` (the leaf the catalog row
        implies) a verified leaf that says something else raises CatalogMismatchError,
        which carries the proof: the signed leaf, not the catalog, is what is true.
        """
        with self._readers() as s:
            leaf = self._registration(s, asset_id)
            size = self.store.size(s)
            note = self._kept_note(s, size)
            result = None if note is None else self._inclusion(s, asset_id, leaf, size, note)
        if result is None:
            with self._sessions.begin() as s:
                leaf = self._registration(s, asset_id)
                size = self.store.size(s)
                result = self._inclusion(s, asset_id, leaf, size, self._sign(s, size)[0])
        try:
            result.verify(self.public_key)
        except IntegrityError as exc:
            raise IntegrityError(
                f"the ledger's proof for asset {asset_id} does not verify: {exc.message}",
                hint="run `assetloom ledger audit`",
            ) from exc
        if catalog_leaf is not None and catalog_leaf != leaf.data:
            raise CatalogMismatchError(
                f"the catalog disagrees with the signed ledger leaf of asset {asset_id}: "
                + "; ".join(leaf_differences(leaf.data, catalog_leaf)),
                result,
            )
        return result

    def consistency(self, old_size: int, new_size: int | None = None) -> ConsistencyProof:
        """Proof that the log at `old_size` is a prefix of the log at `new_size` (default: now)."""
        with self._sessions() as s:
            current = self.store.size(s)
            self._guard(s, current)
            new = current if new_size is None else new_size
            if not 0 < old_size <= new <= current:
                raise BadInputError(
                    f"consistency needs 0 < old size <= new size <= {current}, "
                    f"got {old_size} and {new}",
                    hint="every tree extends the empty one, so size 0 proves nothing",
                )
            old_root, new_root = self.store.root(s, old_size), self.store.root(s, new)
            for size, root in ((old_size, old_root), (new, new_root)):
                kept = self.store.checkpoint_at(s, size)
                if kept is not None and kept.root_hash != root:
                    raise IntegrityError(
                        f"the log no longer matches the checkpoint signed at size {size}",
                        hint="run `assetloom ledger audit`",
                    )
            proof = self.store.consistency_proof(s, old_size, new)
        result = ConsistencyProof(
            old_size, new, old_root.hex(), new_root.hex(), [h.hex() for h in proof]
        )
        result.verify()
        return result

    def audit(self, recompute_leaf: RecomputeLeaf | None = None) -> AuditResult:
        """Recheck the whole log, its kept checkpoints and their signatures.

        `recompute_leaf(record)` returns the leaf bytes the catalog implies for that record
        (e.g. via `leaves.register_leaf_for(asset)`), or None when it has nothing to compare.
        """
        with self._sessions() as s:
            report = self.store.audit(s, recompute_leaf)
            for cp in self.store.checkpoints(s):
                try:
                    open_note(cp.note, self.key.verifier)
                except SignatureError as exc:
                    report.add(
                        None,
                        f"checkpoint at size {cp.tree_size} does not verify with this "
                        f"library's key {self.public_key}: {exc.message}",
                    )
        first = report.problems[0].message if report.problems else "ok"
        return AuditResult(
            report.ok,
            report.tree_size,
            report.leaves_checked,
            report.checkpoints_checked,
            report.first_bad_index,
            first,
            report.problems,
        )

    def export(self, out_dir: Path, asset_ids: Iterable[str] = ()) -> ExportResult:
        """Write a bundle a third party checks with Python and `cryptography` alone.

        Always checkpoint, public_key, verify.py and README.txt. Without `asset_ids`, the
        whole log (leaves.jsonl, {"index", "leaf"} per line) for an auditor. With them, only
        what proves those assets: proofs/<asset_id>.json (the `ledger proof` shape) against
        the same checkpoint, and no other leaf, since every leaf names an asset's hash and
        registration time and a proof for one asset must not publish the whole catalog.
        """
        wanted = list(dict.fromkeys(asset_ids))
        if out_dir.exists() and any(out_dir.iterdir()):
            raise BadInputError(f"{out_dir} is not empty", hint="export into a new folder")
        out_dir.mkdir(parents=True, exist_ok=True)
        leaves = 0
        with self._sessions.begin() as s:
            size = self.store.size(s)
            note, _ = self._sign(s, size)
            proofs = [self._inclusion(s, a, self._registration(s, a), size, note) for a in wanted]
            if not wanted:
                with (out_dir / "leaves.jsonl").open("w") as f:
                    for rec in self.store.iter_leaves(s, end=size):
                        line = {"index": rec.index, "leaf": _leaf_text(rec)}
                        f.write(json.dumps(line, separators=(",", ":")) + "\n")
                        leaves += 1
        (out_dir / "checkpoint").write_text(note)
        (out_dir / "public_key").write_text(self.public_key + "\n")
        if proofs:
            (out_dir / "proofs").mkdir()
        for proof in proofs:
            proof.verify(self.public_key)
            (out_dir / "proofs" / f"{proof.asset_id}.json").write_text(
                json.dumps(proof.to_dict(), indent=2) + "\n"
            )
        verifier = resources.files("assetloom.provenance").joinpath("standalone_verify.py")
        (out_dir / "verify.py").write_text(verifier.read_text())
        readme = _README_PROOFS if wanted else _README_LOG
        (out_dir / "README.txt").write_text(readme.format(origin=self.origin, size=size))
        files = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*") if p.is_file())
        return ExportResult(str(out_dir), size, leaves, len(proofs), files)

    # --- helpers -------------------------------------------------------------------------

    def _sign(self, s: Session, size: int) -> tuple[str, bytes]:
        """Sign and keep (size, root) unless that contradicts the newest kept checkpoint."""
        self._guard(s, size)
        root = self.store.root(s, size)
        note = self.key.sign(Checkpoint(self.origin, size, root).body())
        self.store.save_checkpoint(s, note)
        return note, root

    def _kept_note(self, s: Session, size: int) -> str | None:
        """The checkpoint already signed for `size`, if the log still matches it."""
        kept = self.store.checkpoint_at(s, size)
        if kept is None:
            return None
        self._guard(s, size)
        return kept.note

    def _guard(self, s: Session, size: int) -> None:
        """Raise if the log of `size` leaves cannot extend the newest signed checkpoint."""
        latest = self.store.latest_checkpoint(s)
        if latest is None:
            return
        if latest.tree_size > size:
            raise IntegrityError(
                f"the log was truncated: a checkpoint was signed at size {latest.tree_size} "
                f"but the log now holds {size} leaves",
                hint="run `assetloom ledger audit`",
            )
        if self.store.root(s, latest.tree_size) != latest.root_hash:
            raise IntegrityError(
                f"the log no longer matches the checkpoint signed at size "
                f"{latest.tree_size}: history was rewritten",
                hint="run `assetloom ledger audit`",
            )

    def _registration(self, s: Session, asset_id: str) -> LeafRecord:
        """The asset's newest registration leaf, checked to really name that asset."""
        leaf = self.store.latest_leaf(s, asset_id, REGISTER)
        if leaf is None:
            raise AssetNotFoundError(f"asset {asset_id} has no registration in the ledger")
        if leaf_key(leaf.data) != (REGISTER, asset_id):
            raise IntegrityError(
                f"ledger leaf {leaf.index} is indexed under asset {asset_id} but is not its "
                "registration",
                hint="run `assetloom ledger audit`",
            )
        return leaf

    def _inclusion(
        self, s: Session, asset_id: str, leaf: LeafRecord, size: int, note: str
    ) -> InclusionProof:
        path = self.store.inclusion_proof(s, leaf.index, size)
        return InclusionProof(
            asset_id=asset_id,
            leaf_index=leaf.index,
            tree_size=size,
            leaf=_leaf_text(leaf),
            leaf_hash=merkle.leaf_hash(leaf.data).hex(),
            inclusion_proof=[h.hex() for h in path],
            checkpoint=note,
            public_key=self.public_key,
        )


def _leaf_text(rec: LeafRecord) -> str:
    try:
        return rec.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"ledger leaf {rec.index} is not UTF-8 JSON") from exc


_README_LOG = """\
AssetLoom provenance ledger export: log {origin}, {size} leaves.

  checkpoint     the signed tree head (C2SP tlog-checkpoint in a signed note)
  public_key     the log's Ed25519 verifier key (<name>+<key id>+<base64 key>)
  leaves.jsonl   every leaf, {{"index": i, "leaf": "<canonical JSON>"}} per line
  verify.py      a verifier needing only Python 3.9+ and the `cryptography` package

Check the whole log:        python verify.py .
Check one asset in it:      python verify.py . --asset ASSET_ID

Compare the key ID that verify.py prints with the key the registrant published elsewhere,
or pass it with --public-key: a bundle cannot vouch for its own key.
"""

_README_PROOFS = """\
AssetLoom registration proofs from log {origin} at tree size {size}.

  checkpoint     the signed tree head (C2SP tlog-checkpoint in a signed note)
  public_key     the log's Ed25519 verifier key (<name>+<key id>+<base64 key>)
  proofs/        one inclusion proof per asset (the `assetloom ledger proof --json` shape):
                 its registration leaf, the audit path and the checkpoint it leads to
  verify.py      a verifier needing only Python 3.9+ and the `cryptography` package

Only these assets' leaves are here, not the rest of the log.

Check every proof:          python verify.py .
Check one asset:            python verify.py . --asset ASSET_ID
Check a lone proof file:    python verify.py --proof proofs/ASSET_ID.json

Compare the key ID that verify.py prints with the key the registrant published elsewhere,
or pass it with --public-key: a bundle cannot vouch for its own key.
"""

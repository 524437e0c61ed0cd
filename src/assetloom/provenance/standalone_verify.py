#!/usr/bin/env python3
"""Check an AssetLoom ledger export with nothing but Python 3.9+ and `cryptography`.

It deliberately does not import AssetLoom: the few lines of hashing below (RFC 9162 leaf and
node hashes, the tree root, the inclusion-proof check of RFC 9162 section 2.1.3.2) and the
signed-note parsing are duplicated on purpose, so a third party can read and trust this one
file instead of a whole application.

    python verify.py DIR                      signature, then the root from every leaf
                                              (or, in a proofs-only bundle, every proof)
    python verify.py DIR --asset ASSET_ID     ... and that asset's registration proof
    python verify.py --proof FILE.json        a lone proof (`assetloom ledger proof --json`)
    --public-key KEY                          the key the registrant published (recommended)

Exit status 0 when everything verifies, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Failure(Exception):
    pass


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def tree_root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    while len(hashes) > 1:
        paired = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
        hashes = paired + hashes[len(paired) * 2 :]
    return hashes[0]


def audit_path(index: int, hashes: list[bytes]) -> list[bytes]:
    """RFC 9162 PATH(m, D[n]), bottom-up."""
    if len(hashes) <= 1:
        return []
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    if index < k:
        return [*audit_path(index, hashes[:k]), tree_root(hashes[k:])]
    return [*audit_path(index - k, hashes[k:]), tree_root(hashes[:k])]


def check_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> None:
    """RFC 9162 section 2.1.3.2, step by step."""
    if index >= size:
        raise Failure(f"leaf index {index} is not below the tree size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Failure("inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise Failure("inclusion proof is too short")
    if r != root:
        raise Failure("inclusion proof does not lead to the checkpoint's root hash")


def parse_public_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    """A note verifier key: <name>+<hex key id>+base64(0x01 || 32-byte Ed25519 key)."""
    name, key_id, blob = text.strip().split("+", 2)
    raw = base64.b64decode(blob)
    if len(raw) != 33 or raw[0] != 1:
        raise Failure("public key is not an Ed25519 note verifier key")
    want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if want.hex() != key_id:
        raise Failure("public key ID does not match its name and key")
    return name, want, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, public_key: str) -> tuple[str, int, bytes]:
    """Verify the signed note; return (origin, tree size, root hash)."""
    name, key_id, key = parse_public_key(public_key)
    text, sep, sigs = note.rstrip("\n").rpartition("\n\n")
    if not sep:
        raise Failure("checkpoint has no signature lines")
    text += "\n"
    signed = False
    for line in sigs.split("\n"):
        sig_name, _, blob = line.removeprefix("\u2014 ").partition(" ")
        raw = base64.b64decode(blob)
        if sig_name == name and raw[:4] == key_id:
            try:
                key.verify(raw[4:], text.encode())
            except InvalidSignature as exc:
                raise Failure(f"checkpoint signature by {name} is invalid") from exc
            signed = True
    if not signed:
        raise Failure(f"checkpoint is not signed by {name}+{key_id.hex()}")
    origin, size, root = text.split("\n")[:3]
    return origin, int(size), base64.b64decode(root)


def check_proof_file(path: Path, public_key: str | None) -> None:
    proof = json.loads(path.read_text())
    origin, size, root = open_checkpoint(proof["checkpoint"], public_key or proof["public_key"])
    if size != proof["tree_size"]:
        raise Failure(f"proof is for tree size {proof['tree_size']}, checkpoint for {size}")
    leaf = leaf_hash(proof["leaf"].encode())
    if leaf.hex() != proof["leaf_hash"]:
        raise Failure("leaf does not hash to the stated leaf hash")
    path_hashes = [bytes.fromhex(h) for h in proof["inclusion_proof"]]
    check_inclusion(leaf, proof["leaf_index"], size, path_hashes, root)
    print(f"OK   {proof['asset_id']}: leaf {proof['leaf_index']} of {size} in {origin}")
    print(f"     {proof['leaf']}")


def check_bundle(folder: Path, asset_id: str | None, public_key: str | None) -> None:
    key_text = public_key or (folder / "public_key").read_text()
    origin, size, root = open_checkpoint((folder / "checkpoint").read_text(), key_text)
    print(f"OK   checkpoint signed by {key_text.strip()}")
    if public_key is None:
        print("     (key taken from the bundle: compare it with the one the registrant published)")
    if not (folder / "leaves.jsonl").is_file():
        check_proofs_only(folder, asset_id, public_key, size)
        return
    leaves: list[bytes] = []
    found: tuple[int, str] | None = None
    with (folder / "leaves.jsonl").open() as f:
        for n, line in enumerate(f):
            item = json.loads(line)
            if item["index"] != n:
                raise Failure(f"leaves.jsonl line {n + 1} holds index {item['index']}, not {n}")
            leaves.append(leaf_hash(item["leaf"].encode()))
            payload = json.loads(item["leaf"])
            if payload.get("asset_id") == asset_id and payload.get("type") == "register":
                found = (n, item["leaf"])
    if len(leaves) != size:
        raise Failure(f"leaves.jsonl holds {len(leaves)} leaves, the checkpoint {size}")
    if tree_root(leaves) != root:
        raise Failure("the leaves do not hash to the checkpoint's root: the log was altered")
    print(f"OK   {size} leaves hash to the signed root {root.hex()} of {origin}")
    if asset_id is not None:
        if found is None:
            raise Failure(f"no registration leaf for asset {asset_id}")
        index, text = found
        check_inclusion(leaves[index], index, size, audit_path(index, leaves), root)
        print(f"OK   {asset_id}: registration leaf {index} is in the signed tree")
        print(f"     {text}")
        lone = folder / "proofs" / f"{asset_id}.json"
        if lone.is_file():
            check_proof_file(lone, public_key)


def check_proofs_only(
    folder: Path, asset_id: str | None, public_key: str | None, size: int
) -> None:
    """A bundle made for chosen assets: no log, one proof each against the bundle's head."""
    wanted = sorted((folder / "proofs").glob("*.json"))
    if asset_id is not None:
        wanted = [p for p in wanted if p.stem == asset_id]
        if not wanted:
            raise Failure(f"no proof for asset {asset_id} in this bundle")
    if not wanted:
        raise Failure("the bundle holds neither leaves.jsonl nor any proof")
    head = (folder / "checkpoint").read_text()
    for path in wanted:
        if json.loads(path.read_text()).get("checkpoint") != head:
            raise Failure(f"{path.name} is not a proof against this bundle's checkpoint")
        check_proof_file(path, public_key)
    print(f"OK   {len(wanted)} proof(s) lead to the signed tree of size {size}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, help="the export folder")
    parser.add_argument("--asset", help="also check this asset's registration")
    parser.add_argument("--proof", type=Path, help="check one proof JSON file on its own")
    parser.add_argument("--public-key", help="the verifier key the registrant published")
    args = parser.parse_args(argv)
    if args.folder is None and args.proof is None:
        parser.error("give an export folder, --proof FILE, or both")
    try:
        if args.folder is not None:
            check_bundle(args.folder, args.asset, args.public_key)
        if args.proof is not None:
            check_proof_file(args.proof, args.public_key)
    except (Failure, ValueError, KeyError, OSError) as exc:
        print(f"FAIL {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

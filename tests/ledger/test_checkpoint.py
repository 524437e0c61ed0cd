"""C2SP checkpoints, signed notes, verifier keys and the key file."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assetloom.core.checkpoint import Checkpoint, NoteFormatError, SignedNote, VerifierKey
from assetloom.provenance.signing import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    LedgerKey,
    LedgerKeyError,
    SignatureError,
    open_note,
)

# golang.org/x/mod/sumdb/note's documented example: an external anchor for the wire format.
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSN"
    "XgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def test_go_sumdb_note_vector() -> None:
    key = VerifierKey.parse(GO_VKEY)
    assert str(key) == GO_VKEY
    assert key.key_id.hex() == "c74f20a3"
    assert open_note(GO_NOTE, key) == GO_TEXT
    signer = LedgerKey.from_signer_string(GO_SKEY)
    assert signer.signer_string() == GO_SKEY
    assert signer.sign(GO_TEXT) == GO_NOTE  # Ed25519 is deterministic


def test_checkpoint_round_trip() -> None:
    cp = Checkpoint("example.com/log", 20852163, bytes(range(32)))
    text = cp.body()
    assert text == f"example.com/log\n20852163\n{base64.b64encode(bytes(range(32))).decode()}\n"
    assert Checkpoint.parse(text) == cp
    key = LedgerKey.generate("example.com/log")
    note = key.sign(text)
    parsed = SignedNote.parse(note)
    assert parsed.text == text and str(parsed) == note
    assert Checkpoint.parse(open_note(note, key.verifier)) == cp
    assert Checkpoint.parse("o\n0\n" + base64.b64encode(bytes(32)).decode() + "\next\n").extensions


@pytest.mark.parametrize(
    "text",
    ["o\n1\n", "o\n01\nAAAA\n", "o\n-1\nAAAA\n", "o\n1\nAAAA\n", "o\n1\n!!\n", "o\n1\n\nx\n", "o"],
)
def test_malformed_checkpoints(text: str) -> None:
    with pytest.raises(NoteFormatError):
        Checkpoint.parse(text)


def test_signature_checks() -> None:
    key, other = LedgerKey.generate("example.com/log"), LedgerKey.generate("example.com/log")
    note = key.sign("example.com/log\n1\n" + base64.b64encode(bytes(32)).decode() + "\n")
    with pytest.raises(SignatureError, match="not signed by"):
        open_note(note, other.verifier)  # same name, other key: ignored, so unsigned
    forged = note.replace("\n1\n", "\n2\n")
    with pytest.raises(SignatureError, match="does not verify"):
        open_note(forged, key.verifier)
    cosigned = note + other.sign(SignedNote.parse(note).text).split("\n\n")[1]
    assert open_note(cosigned, key.verifier) == open_note(cosigned, other.verifier)
    for bad in ["", "no blank line\n", "text\n\nnot a signature\n", "t\n\n— name !!!\n"]:
        with pytest.raises(NoteFormatError):
            open_note(bad, key.verifier)


def test_verifier_key_checks() -> None:
    good = str(LedgerKey.generate("a.example/b").verifier)
    name, key_id, blob = good.split("+", 2)
    for bad in [f"{name}+{key_id}", f"{name}+00000000+{blob}", f"with space+{key_id}+{blob}"]:
        with pytest.raises(NoteFormatError):
            VerifierKey.parse(bad)
    with pytest.raises(NoteFormatError):
        LedgerKey.generate("bad+name")


def test_key_files(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    key = LedgerKey.create(keys, "example.com/log")
    private = keys / PRIVATE_KEY_FILE
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert (keys / PUBLIC_KEY_FILE).read_text().strip() == str(key.verifier)
    loaded = LedgerKey.load(keys)
    assert loaded.verifier == key.verifier
    with pytest.raises(LedgerKeyError, match="already exists"):
        LedgerKey.create(keys, "example.com/log")
    private.chmod(0o644)
    with pytest.raises(LedgerKeyError, match="readable by others"):
        LedgerKey.load(keys)
    with pytest.raises(LedgerKeyError, match="no ledger signing key"):
        LedgerKey.load(tmp_path / "nowhere")


def test_foreign_key_file_rejected(tmp_path: Path) -> None:
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    blob = base64.b64encode(b"\x01" + seed).decode()
    for text in ["-----BEGIN PRIVATE KEY-----", f"PRIVATE+KEY+n+00000000+{blob}"]:
        with pytest.raises(LedgerKeyError):
            LedgerKey.from_signer_string(text)

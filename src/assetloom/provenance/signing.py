"""The ledger's Ed25519 signing key: created once at `init`, kept in keys/ with mode 0600.

The private key file uses the sumdb/note signer-key format
("PRIVATE+KEY+<name>+<hex id>+base64(0x01 || seed)") and the public one the verifier-key
format, so the key can be used with golang.org/x/mod/sumdb/note and transparency-dev tools.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from assetloom.core.checkpoint import (
    ED25519,
    NoteSignature,
    SignedNote,
    VerifierKey,
    check_key_name,
)
from assetloom.errors import AssetLoomError, BadInputError, IntegrityError

PRIVATE_KEY_FILE = "ledger.key"
PUBLIC_KEY_FILE = "ledger.pub"
_PRIVATE_PREFIX = "PRIVATE+KEY+"


class LedgerKeyError(AssetLoomError):
    """The signing key is missing, unreadable or too widely readable."""

    code = "ledger_key"
    exit_code = 5


class SignatureError(IntegrityError):
    """A signed note is not signed by the expected key, or its signature is wrong."""

    code = "bad_signature"


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class LedgerKey:
    """An Ed25519 note signer: a key name (the log origin) and the private key."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = check_key_name(name)
        self._private = private_key
        self.verifier = VerifierKey(name, ED25519, _raw_public(private_key.public_key()))

    @classmethod
    def generate(cls, name: str) -> LedgerKey:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_signer_string(cls, text: str) -> LedgerKey:
        """Parse "PRIVATE+KEY+<name>+<hex id>+base64(0x01 || 32-byte seed)"."""
        if not text.startswith(_PRIVATE_PREFIX):
            raise LedgerKeyError("ledger key file is not a note signer key (PRIVATE+KEY+...)")
        name, _, rest = text[len(_PRIVATE_PREFIX) :].strip().partition("+")
        hex_id, _, blob = rest.partition("+")
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LedgerKeyError("ledger key file holds invalid base64") from exc
        if len(raw) != 33 or raw[0] != ED25519:
            raise LedgerKeyError("ledger key file does not hold an Ed25519 key")
        key = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if key.verifier.key_id.hex() != hex_id:
            raise LedgerKeyError(f"ledger key file: ID {hex_id} does not match the key")
        return key

    def signer_string(self) -> str:
        seed = self._private.private_bytes_raw()
        blob = base64.b64encode(bytes([ED25519]) + seed).decode()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.verifier.key_id.hex()}+{blob}"

    def sign(self, text: str) -> str:
        """The signed note: `text` (ending in a newline), a blank line, our signature line."""
        if not text.endswith("\n"):
            raise BadInputError("note text must end with a newline")
        sig = self._private.sign(text.encode())
        return str(SignedNote(text, (NoteSignature(self.name, self.verifier.key_id, sig),)))

    # --- files ---------------------------------------------------------------------------

    @classmethod
    def create(cls, keys_dir: Path, name: str) -> LedgerKey:
        """Generate a key and write it to `keys_dir` (0700) as ledger.key (0600) + ledger.pub."""
        key = cls.generate(name)
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = keys_dir / PRIVATE_KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise LedgerKeyError(
                f"a ledger key already exists at {path}", hint="refusing to overwrite it"
            ) from exc
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(key.signer_string() + "\n")
            f.flush()
            os.fsync(f.fileno())
        (keys_dir / PUBLIC_KEY_FILE).write_text(str(key.verifier) + "\n")
        return key

    @classmethod
    def load(cls, keys_dir: Path) -> LedgerKey:
        """Read ledger.key, refusing a file that others than its owner may read."""
        path = keys_dir / PRIVATE_KEY_FILE
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except FileNotFoundError as exc:
            raise LedgerKeyError(
                f"no ledger signing key at {path}", hint="was the library created with init?"
            ) from exc
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise LedgerKeyError(
                f"ledger key {path} is readable by others (mode {stat.S_IMODE(mode):o})",
                hint=f"chmod 600 {path}",
            )
        return cls.from_signer_string(text)


def open_note(note: str, key: VerifierKey) -> str:
    """Return the text of `note` if `key` signed it; raise SignatureError otherwise.

    Signatures by other keys are ignored (signed-note rules); a bad signature by `key` fails.
    """
    if key.key_type != ED25519:
        raise SignatureError(f"verifier key {key.name!r} is not an Ed25519 key")
    parsed = SignedNote.parse(note)
    public = Ed25519PublicKey.from_public_bytes(key.public_key)
    ours = [s for s in parsed.signatures if s.name == key.name and s.key_id == key.key_id]
    if not ours:
        raise SignatureError(f"note is not signed by {key.name}+{key.key_id.hex()}")
    for sig in ours:
        try:
            public.verify(sig.signature, parsed.text.encode())
        except InvalidSignature as exc:
            raise SignatureError(f"signature by {key.name} does not verify") from exc
    return parsed.text

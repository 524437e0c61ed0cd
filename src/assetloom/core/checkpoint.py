"""C2SP tlog-checkpoint bodies and signed-note envelopes, as text (no cryptography here).

A checkpoint body is three lines: origin, tree size, base64 root hash (c2sp.org/tlog-checkpoint).
A signed note is that text, a blank line, then one line per signature:
"— <key name> base64(4-byte key ID || signature)" (c2sp.org/signed-note). A verifier key is
"<name>+<8 hex key ID>+base64(type byte || public key)", as in golang.org/x/mod/sumdb/note,
so tools of that ecosystem read our checkpoints and keys unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from assetloom.errors import BadInputError

ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # em dash, space
_NAME_FORBIDDEN = re.compile(r"[\s+]")
_SIZE = re.compile(r"0|[1-9][0-9]*")


class NoteFormatError(BadInputError):
    """Text that is not a well-formed checkpoint, signed note or verifier key."""

    code = "bad_note"


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteFormatError(f"{what} is not valid base64: {text!r}") from exc


def check_key_name(name: str) -> str:
    """Return `name` if it is a valid note key name (non-empty, no spaces, no '+')."""
    if not name or _NAME_FORBIDDEN.search(name):
        raise NoteFormatError(f"key name {name!r} must be non-empty without spaces or '+'")
    return name


def key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """The 4-byte key ID: SHA-256(name || 0x0A || type || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()[:4]


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key as a note verifier key string: name+hexid+base64(type||key)."""

    name: str
    key_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.key_type, self.public_key)

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([self.key_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse and check a verifier key string (its ID must match name and key)."""
        parts = text.strip().split("+")
        # The base64 part may itself contain '+': name and ID are the first two fields.
        if len(parts) < 3:
            raise NoteFormatError(f"verifier key {text!r} is not <name>+<id>+<key>")
        name, hex_id, blob = parts[0], parts[1], "+".join(parts[2:])
        check_key_name(name)
        raw = _b64decode(blob, "verifier key")
        if len(raw) < 2 or not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteFormatError(f"verifier key {text!r} is malformed")
        key = cls(name, raw[0], raw[1:])
        if key.key_type == ED25519 and len(key.public_key) != 32:
            raise NoteFormatError(f"Ed25519 verifier key {name!r} must hold 32 bytes")
        if key.key_id.hex() != hex_id:
            raise NoteFormatError(f"verifier key {name!r}: ID {hex_id} does not match the key")
        return key


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line of a signed note."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        blob = base64.b64encode(self.key_id + self.signature).decode()
        return f"{SIGNATURE_PREFIX}{self.name} {blob}\n"


@dataclass(frozen=True, slots=True)
class SignedNote:
    """Note text (ending in a newline) and its signatures."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    @classmethod
    def parse(cls, note: str) -> SignedNote:
        """Split a signed note into text and signatures; checks the format, not signatures."""
        if any(ord(c) < 0x20 and c != "\n" for c in note):
            raise NoteFormatError("signed note contains control characters")
        if not note.endswith("\n"):
            raise NoteFormatError("signed note must end with a newline")
        head, sep, tail = note[:-1].rpartition("\n\n")
        if not sep:
            raise NoteFormatError("signed note has no blank line before its signatures")
        sigs = []
        for line in tail.split("\n"):
            if not line.startswith(SIGNATURE_PREFIX):
                raise NoteFormatError(f"malformed signature line {line!r}")
            name, space, blob = line[len(SIGNATURE_PREFIX) :].partition(" ")
            raw = _b64decode(blob, "signature")
            if not space or len(raw) < 5:
                raise NoteFormatError(f"malformed signature line {line!r}")
            sigs.append(NoteSignature(check_key_name(name), raw[:4], raw[4:]))
        return cls(head + "\n", tuple(sigs))


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head: origin, size and root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text to sign, final newline included."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body (the note text, not the signed envelope)."""
        if not text.endswith("\n"):
            raise NoteFormatError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise NoteFormatError("checkpoint needs origin, size and root hash lines")
        origin, size, root_b64, *ext = lines
        if not _SIZE.fullmatch(size):
            raise NoteFormatError(f"checkpoint tree size {size!r} is not a decimal number")
        root_hash = _b64decode(root_b64, "checkpoint root hash")
        if len(root_hash) != 32:
            raise NoteFormatError(f"checkpoint root hash has {len(root_hash)} bytes, not 32")
        return cls(origin, int(size), root_hash, tuple(ext))

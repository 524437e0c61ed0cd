"""The library's C2PA chain: what C2PA validators demand of it, and how it is kept."""

from __future__ import annotations

import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from assetloom.app.library import Library
from assetloom.provenance import credentials
from assetloom.provenance.credentials import (
    C2PA_DIR,
    CHAIN_FILE,
    DOCUMENT_SIGNING,
    KEY_FILE,
    ROOT_FILE,
    C2paCredentialsError,
)


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType:
    return cert.extensions.get_extension_for_class(kind).value


def test_init_makes_a_chain_validators_accept(tmp_path: Path) -> None:
    with Library.create(tmp_path / "lib") as lib:
        creds = credentials.load(lib.root / "keys")
        origin = lib.settings.ledger_origin
    root, (signer, mid) = creds.root, creds.chain
    now = dt.datetime.now(dt.UTC)

    # Root -> intermediate -> signer, each signed by its issuer and linked by key ids.
    signer.verify_directly_issued_by(mid)
    mid.verify_directly_issued_by(root)
    root.verify_directly_issued_by(root)
    for cert, issuer in ((root, root), (mid, root), (signer, mid)):
        ski = _ext(issuer, x509.SubjectKeyIdentifier)
        aki = _ext(cert, x509.AuthorityKeyIdentifier)
        assert aki.key_identifier == ski.digest
        assert _ext(cert, x509.SubjectKeyIdentifier).digest == (
            x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest
        )
        assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc
        assert (
            cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
            == origin
        )
    assert signer.not_valid_after_utc - now > dt.timedelta(days=19 * 365)

    assert _ext(root, x509.BasicConstraints) == x509.BasicConstraints(ca=True, path_length=1)
    assert _ext(mid, x509.BasicConstraints) == x509.BasicConstraints(ca=True, path_length=0)
    assert _ext(signer, x509.BasicConstraints) == x509.BasicConstraints(ca=False, path_length=None)
    usage = _ext(signer, x509.KeyUsage)
    assert usage.digital_signature and not usage.key_cert_sign
    assert _ext(mid, x509.KeyUsage).key_cert_sign
    assert set(_ext(signer, x509.ExtendedKeyUsage)) == {
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        DOCUMENT_SIGNING,
    }
    key = serialization.load_pem_private_key(creds.key_pem.encode(), password=None)
    assert key.public_key() == signer.public_key()


def test_chain_files_are_private_and_no_ca_key_is_kept(tmp_path: Path) -> None:
    with Library.create(tmp_path / "lib") as lib:
        folder = lib.root / "keys" / C2PA_DIR
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted([ROOT_FILE, CHAIN_FILE, KEY_FILE])
    for p in folder.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    # One private key on disk: the signer's. The CA keys signed once, at init.
    texts = [p.read_text() for p in folder.iterdir()]
    assert sum(t.count("PRIVATE KEY-----") for t in texts) == 2  # BEGIN and END of one key


def test_a_library_without_a_chain_gets_one_on_first_need(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    first = credentials.ensure(keys, "assetloom.local/old")
    assert credentials.ensure(keys, "assetloom.local/old") == first  # kept, not remade
    with pytest.raises(FileExistsError):
        credentials.create(keys, "assetloom.local/old")
    assert credentials.load(keys) == first
    assert not [p for p in keys.iterdir() if p.name.startswith(".c2pa-")]  # no staging left


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    credentials.create(keys, "lib")
    os.chmod(keys / C2PA_DIR / KEY_FILE, 0o644)
    with pytest.raises(C2paCredentialsError, match="readable by others") as exc:
        credentials.load(keys)
    assert exc.value.hint == f"chmod 600 {keys / C2PA_DIR / KEY_FILE}"


def test_a_damaged_chain_is_a_clear_error(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    credentials.create(keys, "lib")
    other = credentials.issue("another library")
    (keys / C2PA_DIR / KEY_FILE).write_text(other.key_pem)
    with pytest.raises(C2paCredentialsError, match="does not fit its key"):
        credentials.load(keys)
    (keys / C2PA_DIR / KEY_FILE).unlink()
    with pytest.raises(C2paCredentialsError, match="lacks"):
        credentials.load(keys)

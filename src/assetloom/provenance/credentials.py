"""The library's C2PA signing chain: a root CA, an intermediate and a signing certificate.

C2PA validators refuse a self-signed signer and one without the document-signing key
purposes, so `init` makes a real chain (ECDSA P-256, ES256 in the manifests): root ->
intermediate -> end entity with KeyUsage digitalSignature, EKU emailProtection and
documentSigning (1.3.6.1.5.5.7.3.36), SKI and AKI on every certificate. Verifiers who add
the exported root (`assetloom ledger export-root`) to their trust list see our outputs as
`Trusted`; everyone else still sees a `Valid` signature by an unknown signer.

Files, in `keys/c2pa/` (0700; every file 0600, as the ledger key): `root.pem` (the root
certificate), `chain.pem` (signer, then intermediate) and `signer.key`. The two CA keys sign
once, here, and are never written: nothing kept on disk can issue another certificate under
the root. There is no time-stamping authority offline, so validators judge the signer
certificate at the time they validate: it lives as long as the intermediate (20 years), or
every older output would turn `Invalid` the day it expired. A library made before C2PA gets
its chain on first need (`ensure`); two processes racing to make it keep one (the folder is
renamed into place, and the loser reads the winner's).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from assetloom.errors import AssetLoomError

C2PA_DIR = "c2pa"
ROOT_FILE, CHAIN_FILE, KEY_FILE = "root.pem", "chain.pem", "signer.key"
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
ROOT_YEARS, CHAIN_YEARS = 25, 20
_BACKDATE = dt.timedelta(minutes=5)
"""Clock skew between the signing host and a validator must not make a new chain invalid."""


class C2paCredentialsError(AssetLoomError):
    """The signing chain is missing, damaged or readable by others."""

    code = "c2pa_credentials"
    exit_code = 5


@dataclass(frozen=True)
class Credentials:
    """What signing needs (`chain_pem`, `key_pem`) and what verifiers trust (`root_pem`)."""

    root_pem: str
    chain_pem: str
    key_pem: str

    @property
    def root(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.root_pem.encode())

    @property
    def chain(self) -> list[x509.Certificate]:
        """Signer first, then the intermediate."""
        return x509.load_pem_x509_certificates(self.chain_pem.encode())

    def root_fingerprint(self) -> str:
        """SHA-256 of the root's DER, hex: what a verifier compares out of band."""
        return hashlib.sha256(self.root.public_bytes(serialization.Encoding.DER)).hexdigest()


def ensure(keys_dir: Path, name: str) -> Credentials:
    """The library's chain, made now if it has none (`name`: the library's ledger origin)."""
    if not (keys_dir / C2PA_DIR).exists():
        try:
            return create(keys_dir, name)
        except FileExistsError:
            pass  # another process made it meanwhile: use theirs
    return load(keys_dir)


def create(keys_dir: Path, name: str, *, now: dt.datetime | None = None) -> Credentials:
    """Make the chain and write it to `keys_dir/c2pa/`; FileExistsError if one is there."""
    creds = issue(name, now=now)
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = keys_dir / C2PA_DIR
    if target.exists():
        raise FileExistsError(target)
    staging = Path(tempfile.mkdtemp(prefix=".c2pa-", dir=keys_dir))  # 0700
    try:
        for file, text in (
            (ROOT_FILE, creds.root_pem),
            (CHAIN_FILE, creds.chain_pem),
            (KEY_FILE, creds.key_pem),
        ):
            _write_private(staging / file, text)
        os.rename(staging, target)  # atomic; fails if a racing process renamed first
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if target.exists():
            raise FileExistsError(target) from exc
        raise
    return creds


def load(keys_dir: Path) -> Credentials:
    """Read the chain, refusing a signing key others than its owner may read."""
    folder = keys_dir / C2PA_DIR
    texts: dict[str, str] = {}
    for file in (ROOT_FILE, CHAIN_FILE, KEY_FILE):
        path = folder / file
        try:
            mode = path.stat().st_mode
            texts[file] = path.read_text(encoding="ascii")
        except FileNotFoundError as exc:
            raise C2paCredentialsError(
                f"the C2PA signing chain lacks {path}",
                hint=f"move {folder} aside; a new chain is made on next use "
                "(verifiers must then trust the new root)",
            ) from exc
        if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise C2paCredentialsError(
                f"{path} is readable by others (mode {stat.S_IMODE(mode):o})",
                hint=f"chmod 600 {path}",
            )
    creds = Credentials(texts[ROOT_FILE], texts[CHAIN_FILE], texts[KEY_FILE])
    _check(creds, folder)
    return creds


def issue(name: str, *, now: dt.datetime | None = None) -> Credentials:
    """A fresh chain in memory; the CA keys go out of scope with this call."""
    now = (now or dt.datetime.now(dt.UTC)) - _BACKDATE
    root_key = ec.generate_private_key(ec.SECP256R1())
    mid_key = ec.generate_private_key(ec.SECP256R1())
    signer_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(name, "C2PA root")
    mid_name = _name(name, "C2PA intermediate")
    root = _certificate(
        root_name, root_key.public_key(), root_name, root_key, ca_depth=1, now=now, years=ROOT_YEARS
    )
    mid = _certificate(
        mid_name, mid_key.public_key(), root_name, root_key, ca_depth=0, now=now, years=CHAIN_YEARS
    )
    signer = _certificate(
        _name(name, "C2PA signer"),
        signer_key.public_key(),
        mid_name,
        mid_key,
        ca_depth=None,
        now=now,
        years=CHAIN_YEARS,
    )
    return Credentials(
        root_pem=_pem(root),
        chain_pem=_pem(signer) + _pem(mid),
        key_pem=signer_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii"),
    )


def _name(library: str, role: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "AssetLoom"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, library[:64] or "library"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"AssetLoom {role}"),
        ]
    )


def _certificate(
    subject: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca_depth: int | None,
    now: dt.datetime,
    years: int,
) -> x509.Certificate:
    """`ca_depth`: the path length a CA may issue below it; None for the end entity."""
    ca = ca_depth is not None
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(_years_after(now, years))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=ca_depth), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _years_after(when: dt.datetime, years: int) -> dt.datetime:
    try:
        return when.replace(year=when.year + years)
    except ValueError:  # 29 February
        return when.replace(year=when.year + years, day=28)


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _check(creds: Credentials, folder: Path) -> None:
    """The files parse, the key is the signer's, and each certificate is its issuer's."""
    try:
        root, chain = creds.root, creds.chain
        key = serialization.load_pem_private_key(creds.key_pem.encode(), password=None)
    except ValueError as exc:
        raise C2paCredentialsError(f"the C2PA signing chain in {folder} is damaged: {exc}") from exc
    if len(chain) != 2 or key.public_key() != chain[0].public_key():
        raise C2paCredentialsError(
            f"the C2PA signing chain in {folder} does not fit its key",
            hint=f"move {folder} aside; a new chain is made on next use",
        )
    try:
        chain[0].verify_directly_issued_by(chain[1])
        chain[1].verify_directly_issued_by(root)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise C2paCredentialsError(
            f"the C2PA certificates in {folder} do not chain to its root: {exc}"
        ) from exc

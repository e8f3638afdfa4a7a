"""A signed manifest: the tables bound to the run that made them, by an Ed25519 key the team holds.

Every digest in TABLES can be recomputed by whoever can write the folder, and the live link checks cannot
be recomputed at all. ``audit run --sign-key KEY`` therefore signs TABLES/manifest.json (every table's
sha256, the seed list, suites, policy and limits) into TABLES/manifest.sig, and ``audit publish --trust-key
PUB`` refuses tables whose manifest that key did not sign. Publish's own validation then checks every table
against the signed digests, so an edited row of any table, ``link_checks`` included, is refused even with
all its digests recomputed. The key pair is PEM (``openssl genpkey -algorithm ed25519``).
"""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key

from audit.errors import ConfigError, PublishRefused
from audit.fsio import atomic_write_text

SIGNATURE = "manifest.sig"
_CONTEXT = b"news-audit manifest v1\n"  # a signature made for this purpose only


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    """The team's private key (read before the run starts, so a bad key costs no extraction)."""
    key = _read_key(path, private=True)
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path}: a public key; --sign-key needs the private one.")
    return key


def sign_manifest(tables_dir: Path, key: Ed25519PrivateKey) -> None:
    """Write TABLES/manifest.sig: the Ed25519 signature of manifest.json's bytes, base64."""
    signed = key.sign(_CONTEXT + (tables_dir / "manifest.json").read_bytes())
    atomic_write_text(tables_dir / SIGNATURE, base64.b64encode(signed).decode("ascii") + "\n")


def check_signature(tables_dir: Path, public_key_path: Path) -> None:
    """Refuse (exit 1) unless TABLES/manifest.sig is the trusted key's signature of manifest.json now."""
    key = _read_key(public_key_path, private=False)
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{public_key_path}: a private key; --trust-key takes the public one.")
    fix = "Re-run the audit with --sign-key (the team's key), then publish."
    try:
        signature = base64.b64decode(
            (tables_dir / SIGNATURE).read_text(encoding="ascii").strip(), validate=True
        )
        key.verify(signature, _CONTEXT + (tables_dir / "manifest.json").read_bytes())
    except FileNotFoundError:
        raise PublishRefused(
            f"refused: {tables_dir / SIGNATURE}: the manifest is not signed. {fix}"
        ) from None
    except (OSError, ValueError, InvalidSignature):
        raise PublishRefused(
            f"refused: {tables_dir / 'manifest.json'} is not signed by the key in {public_key_path}: "
            f"the tables were changed after the run, or made by someone else. {fix}"
        ) from None


def _read_key(path: Path, *, private: bool) -> Ed25519PrivateKey | Ed25519PublicKey:
    what = "private" if private else "public"
    try:
        data = path.read_bytes()
        key = load_pem_private_key(data, password=None) if private else load_pem_public_key(data)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} key ({exc.strerror or exc}).") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError(
            f"{path}: not an unencrypted PEM {what} key ({exc}). "
            "Make one with `openssl genpkey -algorithm ed25519`."
        ) from None
    if not isinstance(key, Ed25519PrivateKey | Ed25519PublicKey):
        raise ConfigError(f"{path}: not an Ed25519 key. Make one with `openssl genpkey -algorithm ed25519`.")
    return key

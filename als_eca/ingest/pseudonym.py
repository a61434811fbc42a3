"""Keyed pseudonyms for PMS patients: HMAC-SHA256 over the export's USUBJID.

The key comes from `ALS_ECA_PSEUDONYM_KEY`, else from a key file outside the repository
(`$XDG_CONFIG_HOME/als-eca/pseudonym.key`, default `~/.config/...`), created with a random key on first use and
readable by its owner only. Without the key a pseudonym cannot be linked back to a patient; with the same key the
same patient gets the same pseudonym in every export, so cumulative deliveries stay joinable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

PREFIX = "PMS-"
HEX_CHARS = 20  # 80 bits: collision-free for any realistic registry size


def key_file() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "als-eca" / "pseudonym.key"


def pseudonym_key() -> bytes:
    """The HMAC key: the environment variable, else the key file (created on first use)."""
    from_env = os.environ.get("ALS_ECA_PSEUDONYM_KEY")
    if from_env:
        return from_env.encode()
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting together cannot each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"pseudonym key file {path} is empty; delete it or set ALS_ECA_PSEUDONYM_KEY")
    return key.encode()


def pseudonymise(values: list[str], key: bytes) -> list[str]:
    """`PMS-` + the first 20 hex digits of HMAC-SHA256(key, value stripped of blanks)."""
    return [PREFIX + hmac.new(key, v.strip().encode(), hashlib.sha256).hexdigest()[:HEX_CHARS] for v in values]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA256 pads (RFC 2104), so the hash can run inside DuckDB, streamed and
    vectorised: HMAC(k, m) = SHA256(opad || SHA256(ipad || m)). The pads are query parameters, never stored."""
    block = hashlib.sha256(key).digest() if len(key) > 64 else key
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def pseudonym_sql(text_expr: str) -> str:
    """SQL for the pseudonym of `text_expr`, with the pads bound as `$hmac_ipad` / `$hmac_opad`; equal to
    `pseudonymise` (tested)."""
    inner = f"unhex(sha256($hmac_ipad || encode(trim({text_expr}))))"
    return f"('{PREFIX}' || left(sha256($hmac_opad || {inner}), {HEX_CHARS}))"


def pseudonym_lookup_sql(text_expr: str, known: list[str], key: bytes) -> tuple[str, dict]:
    """SQL (and its parameters) for the pseudonym of `text_expr`: known patients (the export's dm.csv) through an
    inline ENUM - a hash lookup inside DuckDB that keeps row order, unlike a join - and the SQL HMAC for any other
    value. The ENUM lives only in the statement, never in the catalog. Equal to `pseudonymise` (tested)."""
    ipad, opad = hmac_pads(key)
    params = {"hmac_ipad": ipad, "hmac_opad": opad}
    keys = sorted({k.strip() for k in known if k and k.strip()})
    if not keys:
        return pseudonym_sql(text_expr), params
    enum = "ENUM(" + ", ".join("'" + k.replace("'", "''") + "'" for k in keys) + ")"
    params["pms_pseudonyms"] = pseudonymise(keys, key)
    lookup = f"list_extract($pms_pseudonyms, enum_code(try_cast(trim({text_expr}) AS {enum}))::BIGINT + 1)"
    return f"coalesce({lookup}, {pseudonym_sql(text_expr)})", params

"""Password hashing with scrypt from the standard library, so no native dependency is needed.

A hash is one self-describing string, `scrypt$n=16384,r=8,p=1$<salt>$<key>` (base64), so the cost
can rise later without breaking stored hashes (`needs_rehash` says when to re-hash at sign-in).
The cost, n=2**14, r=8, p=1, is Django's scrypt default: about 60 ms and 16 MiB per hash.
A later issue may swap in argon2 (argon2-cffi); its `$argon2id$...` hashes differ by prefix."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

SCHEME = "scrypt"
SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's work factors: memory and time grow with `n * r` (128 * n * r bytes)."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    def __str__(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"


DEFAULT_COST = ScryptCost()


def hash_password(password: str, *, cost: ScryptCost = DEFAULT_COST) -> str:
    """A salted hash of `password`, safe to store."""
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, cost)
    return f"{SCHEME}${cost}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the `stored` hash; False for a malformed or foreign hash."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, cost, len(key)), key)


def needs_rehash(stored: str, *, cost: ScryptCost = DEFAULT_COST) -> bool:
    """Whether `stored` was made with another scheme or cost than today's."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != cost


def generate_password(length: int = 12) -> str:
    """A random password that is easy to read out: no look-alike characters (0/O, 1/l/I)."""
    alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _derive(password: str, salt: bytes, cost: ScryptCost, length: int = KEY_BYTES) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=256 * cost.n * cost.r + 1024 * 1024,
        dklen=length,
    )


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != SCHEME:
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[1].split(","))
        cost = ScryptCost(n=int(params["n"]), r=int(params["r"]), p=int(params["p"]))
        salt, key = _unb64(parts[2]), _unb64(parts[3])
    except (ValueError, KeyError):
        return None
    if cost.n < 2 or cost.n & (cost.n - 1) or cost.r < 1 or cost.p < 1 or not key:
        return None
    return cost, salt, key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)

"""Password hashing: argon2id (argon2-cffi), the memory-hard winner of the Password Hashing
Competition, with RFC 9106's low-memory parameters (64 MiB, 3 passes, 4 lanes) by default.

Hashes are self-describing strings: `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`. Databases made
before argon2 hold scrypt hashes, `scrypt$n=16384,r=8,p=1$<salt>$<key>` (base64); they still
verify, and `needs_rehash` says yes for them (and for any cost other than today's), so sign-in
replaces them with an argon2 hash of the password just checked. scrypt hashes can still be made
(with a `ScryptCost`): cheap ones keep test set-up fast."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SCRYPT_SCHEME = "scrypt"
ARGON2_PREFIX = "$argon2"
SALT_BYTES = 16
KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class Argon2Cost:
    """argon2id's work factors: passes over `memory_kib` KiB of memory in `parallelism` lanes."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(
            time_cost=self.time_cost,
            memory_cost=self.memory_kib,
            parallelism=self.parallelism,
            hash_len=KEY_BYTES,
            salt_len=SALT_BYTES,
        )


@dataclass(frozen=True, slots=True)
class ScryptCost:
    """scrypt's work factors: memory and time grow with `n * r` (128 * n * r bytes)."""

    n: int = 2**14
    r: int = 8
    p: int = 1

    def __str__(self) -> str:
        return f"n={self.n},r={self.r},p={self.p}"


PasswordCost = Argon2Cost | ScryptCost
DEFAULT_COST: PasswordCost = Argon2Cost()


def hash_password(password: str, *, cost: PasswordCost = DEFAULT_COST) -> str:
    """A salted hash of `password`, safe to store. Slow on purpose: call it in a thread from
    async code."""
    if isinstance(cost, Argon2Cost):
        return cost.hasher().hash(password)
    salt = os.urandom(SALT_BYTES)
    key = _derive(password, salt, cost)
    return f"{SCRYPT_SCHEME}${cost}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches the `stored` hash (argon2 or scrypt); False for a malformed or
    foreign hash."""
    if stored.startswith(ARGON2_PREFIX):
        try:
            # The hash carries its own type and parameters; any hasher verifies it.
            return Argon2Cost().hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    parsed = _parse_scrypt(stored)
    if parsed is None:
        return False
    cost, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, cost, len(key)), key)


def needs_rehash(stored: str, *, cost: PasswordCost = DEFAULT_COST) -> bool:
    """Whether `stored` was made with another scheme or cost than `cost` (today's by default)."""
    if isinstance(cost, Argon2Cost):
        if not stored.startswith(ARGON2_PREFIX):
            return True
        try:
            return cost.hasher().check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True
    parsed = _parse_scrypt(stored)
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


def _parse_scrypt(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != SCRYPT_SCHEME:
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

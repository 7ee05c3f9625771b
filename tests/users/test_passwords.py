"""Password hashes: salted, self-describing, verified in constant time, and never the password."""

from __future__ import annotations

import pytest

from hotline.users.passwords import (
    DEFAULT_COST,
    ScryptCost,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)

CHEAP = ScryptCost(n=2**8)


def test_a_hash_verifies_its_password_only() -> None:
    stored = hash_password("correct horse", cost=CHEAP)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)
    assert not verify_password("", stored)


def test_the_default_cost_is_recorded_in_the_hash() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    assert "s3cret" not in stored
    assert verify_password("s3cret", stored)


def test_each_hash_has_its_own_salt() -> None:
    assert hash_password("same", cost=CHEAP) != hash_password("same", cost=CHEAP)


def test_non_ascii_passwords_work() -> None:
    stored = hash_password("пароль-Ёж", cost=CHEAP)
    assert verify_password("пароль-Ёж", stored)
    assert not verify_password("пароль-Еж", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text",
        "scrypt$n=16384,r=8,p=1$onlysalt",
        "scrypt$n=3,r=8,p=1$c2FsdA$a2V5",
        "scrypt$n=16384,r=8$c2FsdA$a2V5",
        "scrypt$n=16384,r=8,p=1$not base64!$a2V5",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5",
    ],
)
def test_a_malformed_or_foreign_hash_never_verifies(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_a_cheaper_hash_needs_rehashing() -> None:
    assert needs_rehash(hash_password("x", cost=CHEAP))
    assert not needs_rehash(hash_password("x", cost=DEFAULT_COST))
    assert needs_rehash("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$a2V5")


def test_generated_passwords_are_random_and_unambiguous() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 12 for p in passwords)
    assert not set("".join(passwords)) & set("0O1lI")

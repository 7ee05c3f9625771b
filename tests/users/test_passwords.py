"""Password hashes: argon2id by default, salted, self-describing, never the password; scrypt hashes
of older databases still verify and ask to be re-hashed."""

from __future__ import annotations

import pytest

from hotline.users.passwords import (
    DEFAULT_COST,
    Argon2Cost,
    ScryptCost,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)

CHEAP = ScryptCost(n=2**8)
CHEAP_ARGON2 = Argon2Cost(time_cost=1, memory_kib=64, parallelism=1)


@pytest.mark.parametrize("cost", [CHEAP, CHEAP_ARGON2], ids=["scrypt", "argon2"])
def test_a_hash_verifies_its_password_only(cost: ScryptCost | Argon2Cost) -> None:
    stored = hash_password("correct horse", cost=cost)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horse ", stored)
    assert not verify_password("", stored)


def test_the_default_is_argon2id_with_its_cost_recorded_in_the_hash() -> None:
    stored = hash_password("s3cret")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "s3cret" not in stored
    assert verify_password("s3cret", stored)


@pytest.mark.parametrize("cost", [CHEAP, CHEAP_ARGON2], ids=["scrypt", "argon2"])
def test_each_hash_has_its_own_salt(cost: ScryptCost | Argon2Cost) -> None:
    assert hash_password("same", cost=cost) != hash_password("same", cost=cost)


@pytest.mark.parametrize("cost", [CHEAP, CHEAP_ARGON2], ids=["scrypt", "argon2"])
def test_non_ascii_passwords_work(cost: ScryptCost | Argon2Cost) -> None:
    stored = hash_password("пароль-Ёж", cost=cost)
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
        "$argon2id$v=19$m=65536,t=3$c2FsdA$a2V5",
        "$argon2id$broken",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    ],
)
def test_a_malformed_or_foreign_hash_never_verifies(stored: str) -> None:
    assert not verify_password("anything", stored)


def test_scrypt_and_cheaper_argon2_hashes_need_rehashing() -> None:
    assert needs_rehash(hash_password("x", cost=ScryptCost()))
    assert needs_rehash(hash_password("x", cost=CHEAP_ARGON2))
    assert not needs_rehash(hash_password("x", cost=DEFAULT_COST))
    assert needs_rehash("$argon2id$broken")


def test_a_scrypt_hash_of_the_old_default_cost_still_verifies() -> None:
    stored = hash_password("old password", cost=ScryptCost())
    assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    assert verify_password("old password", stored)
    assert not verify_password("other password", stored)


def test_generated_passwords_are_random_and_unambiguous() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 12 for p in passwords)
    assert not set("".join(passwords)) & set("0O1lI")

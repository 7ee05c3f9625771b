"""Phone numbers, streets and addresses get one spelling each, so duplicates and districts are
found however a number or an address was typed."""

from __future__ import annotations

import pytest

from hotline.requests.keys import (
    address_key,
    house_key,
    masked_phone,
    normalize_phone,
    normalize_postcode,
    street_key,
)


@pytest.mark.parametrize(
    "typed", ["+7 (495) 000-11-22", "8 495 000 11 22", "84950001122", "495 000-11-22"]
)
def test_one_russian_number_in_every_spelling_has_one_key(typed: str) -> None:
    assert normalize_phone(typed) == "74950001122"


def test_a_number_without_digits_has_no_key() -> None:
    assert normalize_phone("anonymous") is None


@pytest.mark.parametrize(
    "typed", ["ул. Тверская", "Тверская улица", "тверская ул", "  ТВЕРСКАЯ ", "улица Тверская"]
)
def test_a_street_with_or_without_its_type_word_is_one_street(typed: str) -> None:
    assert street_key(typed) == "тверская"


def test_a_square_is_not_the_street_of_the_same_name() -> None:
    assert street_key("Пушкинская площадь") == "пушкинская площадь"
    assert street_key("пл. Пушкинская") == "пушкинская площадь"
    assert street_key("Пушкинская ул.") == "пушкинская"


def test_yo_and_ye_are_one_letter() -> None:
    assert street_key("Озёрная") == street_key("Озерная")


def test_house_designators_are_abbreviated() -> None:
    assert house_key("д. 5, корп. 2, стр. 1") == "5к2с1"
    assert house_key("дом 12А") == "12а"


def test_an_address_key_needs_a_street_and_a_house() -> None:
    assert address_key("ул. Тверская", "д. 5", "кв. 12") == "тверская|5|12"
    assert address_key("Тверская улица", "5", "12") == "тверская|5|12"
    assert address_key("Тверская", None) is None
    assert address_key(None, "5") is None


def test_postcodes_lose_spaces() -> None:
    assert normalize_postcode(" 125 009 ") == "125009"
    assert normalize_postcode("  ") is None


def test_a_masked_number_shows_only_its_last_two_digits() -> None:
    assert masked_phone("+7 495 000-11-22") == "***-**-22"
    assert masked_phone(None) == "***"

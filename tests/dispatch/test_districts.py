"""An address's district: by the longest matching postcode prefix, else by its street; none for an
address outside every district."""

from __future__ import annotations

from hotline.dispatch.districts import DistrictMap, DistrictSpec

MAP = DistrictMap(
    [
        DistrictSpec("centre", postcodes=("125",), streets=("Тверская",)),
        DistrictSpec("north", postcodes=("127", "125009"), streets=("пр-т Мира",)),
    ]
)


def test_the_longest_postcode_prefix_wins() -> None:
    assert MAP.match(postcode="125 047") == "centre"
    assert MAP.match(postcode="125009") == "north"


def test_a_postcode_decides_over_the_street() -> None:
    assert MAP.match(postcode="127006", street="Тверская") == "north"


def test_without_a_matching_postcode_the_street_decides() -> None:
    assert MAP.match(postcode="999999", street="ул. Тверская") == "centre"
    assert MAP.match(street="Мира проспект") == "north"


def test_an_address_outside_every_district_has_none() -> None:
    assert MAP.match(postcode="101000", street="Мира улица") is None
    assert MAP.match() is None

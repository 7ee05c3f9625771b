"""Which district an address belongs to: by postcode prefix (the longest that matches), else by
street name. Kept simple on purpose (no polygons, no geocoder): a district lists postcode prefixes
and street names, and an address that matches none is left without a district, to be assigned by
hand. Pure: built once from the configured districts, then asked per request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.requests.keys import normalize_postcode, street_key


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    """A district as the matcher sees it: postcode prefixes and street names, as configured."""

    id: str
    postcodes: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()


class DistrictMap:
    """Postcode prefixes and street keys to district ids. A postcode decides over a street: a long
    street crosses districts, a postcode does not."""

    def __init__(self, districts: Iterable[DistrictSpec]) -> None:
        self._prefixes: dict[str, str] = {}
        self._streets: dict[str, str] = {}
        for district in districts:
            for prefix in district.postcodes:
                key = normalize_postcode(prefix)
                if key is not None:
                    self._prefixes.setdefault(key, district.id)
            for street in district.streets:
                name = street_key(street)
                if name is not None:
                    self._streets.setdefault(name, district.id)
        self._longest = max((len(p) for p in self._prefixes), default=0)

    def match(self, *, postcode: str | None = None, street: str | None = None) -> str | None:
        """The district of an address, or None when it lies outside every district."""
        code = normalize_postcode(postcode)
        if code is not None:
            for length in range(min(len(code), self._longest), 0, -1):
                found = self._prefixes.get(code[:length])
                if found is not None:
                    return found
        name = street_key(street)
        if name is not None:
            return self._streets.get(name)
        return None

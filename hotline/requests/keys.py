"""One spelling per phone number, postcode, street and address, so that the same person or the same
door is recognised however an agent or a caller typed it: duplicate detection compares these keys,
and districts are matched on them.

Pure functions, no I/O. The rules follow the reference deployment (a Russian city): "8 495..." and
"+7 495..." are one number; "ул. Тверская", "Тверская улица" and "tverskaya street" name one street
(the street type "улица" is implied when none is written), while "Пушкинская площадь" stays apart
from "Пушкинская улица"."""

from __future__ import annotations

import re

# Street types and their abbreviations -> one canonical word. `None`: the implied type (a bare
# name is a street), dropped from the key.
_STREET_TYPES: dict[str, str | None] = {
    "ул": None,
    "улица": None,
    "street": None,
    "st": None,
    "str": None,
    "ulitsa": None,
    "ul": None,
    "пр": "проспект",
    "пр-т": "проспект",
    "просп": "проспект",
    "проспект": "проспект",
    "prospekt": "проспект",
    "avenue": "проспект",
    "ave": "проспект",
    "пер": "переулок",
    "переулок": "переулок",
    "pereulok": "переулок",
    "lane": "переулок",
    "ш": "шоссе",
    "шоссе": "шоссе",
    "shosse": "шоссе",
    "highway": "шоссе",
    "б-р": "бульвар",
    "бул": "бульвар",
    "бульвар": "бульвар",
    "bulvar": "бульвар",
    "boulevard": "бульвар",
    "пл": "площадь",
    "площадь": "площадь",
    "ploshchad": "площадь",
    "square": "площадь",
    "наб": "набережная",
    "набережная": "набережная",
    "naberezhnaya": "набережная",
    "embankment": "набережная",
    "проезд": "проезд",
    "pr-d": "проезд",
    "proezd": "проезд",
    "туп": "тупик",
    "тупик": "тупик",
}

# House designators: "д. 5 корп. 2 стр. 1" -> "5к2с1".
_HOUSE_WORDS: dict[str, str] = {
    "д": "",
    "дом": "",
    "house": "",
    "корп": "к",
    "корпус": "к",
    "к": "к",
    "building": "к",
    "стр": "с",
    "строение": "с",
    "с": "с",
    "вл": "вл",
    "владение": "вл",
}

_WORD = re.compile(r"[\w-]+")


def normalize_phone(number: str | None) -> str | None:
    """'+7 (495) 000-11-22', '8 495 000 11 22' -> '74950001122'; a Russian ten-digit number
    without its trunk prefix gets the country code. None when no digits are left."""
    if number is None:
        return None
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    elif len(digits) == 10 and digits[0] in "3489":
        digits = "7" + digits
    return digits or None


def normalize_postcode(postcode: str | None) -> str | None:
    """' 125 009 ' -> '125009'; letters upper-cased (for postcodes elsewhere)."""
    if postcode is None:
        return None
    text = re.sub(r"[\s-]", "", postcode).upper()
    return text or None


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold().replace("ё", "е"))


def street_key(street: str | None) -> str | None:
    """The street's name words in order, with its type (if any but a plain street) at the end:
    'ул. Тверская' and 'Тверская улица' -> 'тверская'; 'пр-т Мира' -> 'мира проспект'."""
    if street is None:
        return None
    names: list[str] = []
    kinds: list[str] = []
    for word in _words(street):
        if word in _STREET_TYPES:
            kind = _STREET_TYPES[word]
            if kind is not None:
                kinds.append(kind)
        else:
            names.append(word)
    if not names:  # only a type word: keep it rather than lose the street
        names = kinds
        kinds = []
    key = " ".join(names + sorted(set(kinds)))
    return key or None


def house_key(house: str | None) -> str | None:
    """'д. 5, корп. 2' -> '5к2'; 'дом 12А' -> '12а'."""
    if house is None:
        return None
    parts = [_HOUSE_WORDS.get(word, word) for word in _words(house)]
    key = "".join(parts)
    return key or None


def flat_key(flat: str | None) -> str | None:
    """'кв. 12' -> '12'."""
    if flat is None:
        return None
    words = [w for w in _words(flat) if w not in ("кв", "квартира", "apt", "flat", "apartment")]
    return "".join(words) or None


def address_key(street: str | None, house: str | None, flat: str | None = None) -> str | None:
    """The key of a door: street, house and flat. None without a street and a house (such an
    address cannot be told apart from others)."""
    street_part, house_part = street_key(street), house_key(house)
    if street_part is None or house_part is None:
        return None
    return f"{street_part}|{house_part}|{flat_key(flat) or ''}"


def masked_phone(number: str | None) -> str:
    """What a field worker may see of a caller's number: its last two digits only. They call the
    citizen through the platform, never directly."""
    digits = re.sub(r"\D", "", number or "")
    return f"***-**-{digits[-2:]}" if len(digits) >= 4 else "***"

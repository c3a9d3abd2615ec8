"""Identity numbers: a resident ID (GB 11643-1999) must carry a real birth date and the right
ISO 7064 MOD 11-2 check character; other documents only a plausible shape."""

from __future__ import annotations

import datetime as dt

from reference.seeding.identity import id_check_char


def check_id_number(id_type: str, number: str) -> str:
    """The number normalised (upper-case X), or ValueError saying what is wrong."""
    number = number.upper()
    if id_type != "resident_id":
        return number
    if (
        len(number) != 18
        or not number[:17].isdigit()
        or not (number[17].isdigit() or number[17] == "X")
    ):
        raise ValueError("a resident ID number has 17 digits and a check digit or X")
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(f"birth date {number[6:14]} in the ID number is not a date") from None
    # The refusal does not name the right check digit: that would complete any made-up number.
    if number[17] != id_check_char(number[:17]):
        raise ValueError("the check digit does not match the first 17 digits")
    return number

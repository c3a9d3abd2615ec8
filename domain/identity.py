"""The resident ID number's check character (GB 11643-1999, ISO 7064 MOD 11-2): a national rule
that the reference platform checks and seeds with, and that the load tests follow when they
make up a registrant's ID number."""

from __future__ import annotations

# ISO 7064 MOD 11-2 weights 2^(17-i) mod 11 for the 17 leading digits, and the check characters.
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK_CHARS = "10X98765432"


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the 17 leading digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"need 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]

from __future__ import annotations

import pytest

from reference.validation import check_id_number


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "440524188001010014"])
def test_valid_resident_ids(number):
    assert check_id_number("resident_id", number) == number.upper()


@pytest.mark.parametrize(
    "number, message",
    [
        ("110105194912310021", "check digit does not match"),
        ("110105194902300021", "not a date"),
        ("1101051949123100", "17 digits"),
        ("X10105194912310021", "17 digits"),
    ],
)
def test_invalid_resident_ids(number, message):
    with pytest.raises(ValueError, match=message):
        check_id_number("resident_id", number)


def test_a_wrong_check_digit_is_refused_without_naming_the_right_one():
    for wrong in "0123456789":  # the right one is X
        with pytest.raises(ValueError) as refusal:
            check_id_number("resident_id", "11010519491231002" + wrong)
        assert "X" not in str(refusal.value) and "expected" not in str(refusal.value)


def test_other_documents_are_not_check_digit_tested():
    assert check_id_number("passport", "e1234567") == "E1234567"

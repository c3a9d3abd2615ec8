"""yanxiu run on a platform scenario says who takes part in two campaigns and what they were
credited across."""

from yanxiu.commands.run_platform import in_both


def test_a_line_per_pair_of_campaigns_with_teachers_in_both():
    each = {"winter": {"in_both": {"exempt": 13_785.0}, "shared_study_hours": {"exempt": 22_646.0}},
            "exempt": {"in_both": {"winter": 13_785.0}, "shared_study_hours": {"winter": 11_525.0}},
            "students": {"in_both": {}, "shared_study_hours": {}}}
    assert in_both(each) == ["  13,785 of them take part in both exempt and winter (counted in each): study "
                             "credited across 11,525 h into winter, 22,646 h into exempt"]


def test_none_without_overlaps():
    assert in_both({"winter": {"shared_study_hours": {"exempt": 0.0}}, "exempt": {}}) == []

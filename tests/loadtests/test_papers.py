"""loadtests.papers: a full-marks paper is the answers file's, any other has exactly one wrong."""

from __future__ import annotations

import numpy as np

from loadtests.papers import answers

PAPER = {"questions": [{"id": 1, "choices": ["a", "b", "c"]}, {"id": "q2", "choices": ["a", "b"]},
                       {"id": 3}]}
KEY = {"1": 2, "q2": 0, "3": 1}


def test_full_marks_answers_every_question_from_the_key():
    assert answers(PAPER, KEY, True, np.random.default_rng(0)) == {"1": 2, "q2": 0, "3": 1}


def test_otherwise_exactly_one_answer_is_wrong_and_still_a_choice():
    for seed in range(20):
        got = answers(PAPER, KEY, False, np.random.default_rng(seed))
        wrong = [q for q in got if got[q] != KEY[q]]
        assert len(wrong) == 1
        assert got["1"] in (0, 1, 2) and got["q2"] in (0, 1) and got["3"] in (0, 1)  # no choices: two


def test_an_empty_paper_has_no_answers():
    assert answers({}, KEY, False, np.random.default_rng(0)) == {}

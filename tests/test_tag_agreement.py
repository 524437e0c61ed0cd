"""The head/ImageNet agreement rule for tags (tagging/agreement.py), on hand-made score rows."""

from __future__ import annotations

import numpy as np

from assetloom.tagging.agreement import VETOED, AgreementRule, Roles, combine

RULE = AgreementRule(agree=0.05, alone=0.6, people=0.3, domain=0.6, outside=0.9)
# Columns: "cat" (veto + alone), "person" (people, gated), "beach" (gated), "shirt" (mapped but
# not vetoed: alone + gated), "puppy" (veto, never alone), "seaside" (a user tag: no role).
ROLES = Roles(
    veto=np.array([1, 0, 0, 0, 1, 0], bool),
    alone=np.array([1, 0, 0, 1, 0, 0], bool),
    people=np.array([0, 1, 0, 0, 0, 0], bool),
    gated=np.array([0, 1, 1, 1, 0, 0], bool),
)
CAT, PERSON, BEACH, SHIRT, PUPPY, USER = range(6)


def scores(
    head: float, column: int, support: float = 0.0, person: float = 1.0, familiar: float = 1.0
) -> float:
    h = np.full((1, 6), 0.1, np.float32)
    h[0, column] = head
    s = np.full((1, 6), np.nan, np.float32)
    s[0, [CAT, SHIRT, PUPPY]] = support
    out = combine(h, s, np.array([person]), np.array([familiar]), ROLES, RULE)
    return float(out[0, column])


def test_veto_tag_needs_the_classifier_beside_the_head() -> None:
    assert scores(0.8, CAT, support=0.05) == np.float32(0.8)  # both agree: the head's score
    assert scores(0.8, CAT, support=0.04) == np.float32(VETOED)  # a panda it does not see
    assert scores(0.8, PUPPY, support=0.04) == np.float32(VETOED)


def test_classifier_alone_assigns_where_allowed() -> None:
    assert scores(0.1, CAT, support=0.6) == np.float32(0.5)  # exactly at `alone`
    assert scores(0.1, CAT, support=1.0) == np.float32(1.0)
    assert scores(0.7, CAT, support=0.7) == np.float32(0.7)  # the better reading: 0.7 > 0.625
    assert abs(scores(0.1, SHIRT, support=0.8) - 0.75) < 1e-6
    assert scores(0.1, PUPPY, support=1.0) == np.float32(0.1)  # a dog's age is not in its classes


def test_people_tag_needs_person_support_however_high_the_head() -> None:
    assert scores(0.99, PERSON, person=0.29) == np.float32(VETOED)
    assert scores(0.6, PERSON, person=0.3) == np.float32(0.6)
    assert scores(0.4, PERSON, person=0.9) == np.float32(0.4)  # the head still decides


def test_gated_tags_outside_the_domain_need_a_high_score() -> None:
    assert scores(0.6, BEACH, familiar=0.6) == np.float32(0.6)
    assert scores(0.6, BEACH, familiar=0.59) == np.float32(VETOED)  # "grass" on a gravel texture
    assert scores(0.95, BEACH, familiar=0.0) == np.float32(0.95)
    assert scores(0.6, SHIRT, familiar=0.3) == np.float32(VETOED)
    assert abs(scores(0.6, SHIRT, support=0.7, familiar=0.3) - 0.625) < 1e-6
    assert scores(0.8, CAT, support=0.5, familiar=0.0) == np.float32(0.8)  # veto tags: no gate


def test_user_tags_are_left_to_the_head() -> None:
    assert scores(0.7, USER, person=0.0, familiar=0.0) == np.float32(0.7)


def test_refusals_keep_their_order_and_shapes_hold() -> None:
    high = scores(0.85, BEACH, familiar=0.0)
    low = scores(0.45, BEACH, familiar=0.0)
    assert high == np.float32(VETOED) and low == np.float32(0.45) and low < high
    head = np.full((4, 6), 0.8, np.float32)
    support = np.full((4, 6), np.nan, np.float32)  # no classes: no agreement, nothing alone
    out = combine(head, support, np.ones(4), np.ones(4), ROLES, RULE)
    assert out.shape == (4, 6) and out.dtype == np.float32
    assert (out[:, CAT] == np.float32(VETOED)).all() and (out[:, BEACH] == np.float32(0.8)).all()

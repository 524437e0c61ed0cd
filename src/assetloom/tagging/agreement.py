"""When the alignment head and the backbone's ImageNet classifier must agree on a tag.

The head (trained on 6,000 Flickr8k photos, mostly people and dogs) is confidently wrong outside
that domain: on a cat photo, a chessboard or a typed page it scores "person" higher than on a
real portrait. The backbone's own ImageNet classifier has seen 1,000 object and animal classes,
so each tag falls in one of three kinds:

- OBJECT: the tag maps onto ImageNet classes (tagging/imagenet_tags.json, from WordNet). Its
  *support* is the classifier's probability summed over those classes. Where the head fires,
  the tag also needs support `agree` (a *veto* tag: animals, vehicles, food, ...), and support
  `alone` assigns it without the head (the classifier names it clearly where the head does
  not). Tags whose ImageNet classes cover the concept poorly (shirts, tables, beaches: dev
  shows the classifier silent where captions name them) are not vetoed, and tags it cannot see
  (a puppy's age, a pet) are never assigned on its word alone.
- PEOPLE: ImageNet has no person class, so people tags (person, man, girl, ...) need *person
  support*: the classifier's probabilities weighted by how often each class goes with a person
  in captioned photos (learned on Flickr8k train). A head score alone does not do: off-domain it
  is highest exactly where it is wrong.
- HEAD: scenes, actions, colours and styles stay with the head, within its domain. How close
  a picture is to the head's training photos (*familiarity*: its backbone features' mean cosine
  to the 3 nearest of 256 cluster centres of the Flickr8k train photos) separates the two
  cleanly: dev photos 0.60 or more in 95 % of cases, the labelled set outside Flickr8k 0.45 at
  the median. Outside the domain (below `domain`) people and head tags need a head score of
  `outside` instead of 0.5. User tags are left to the head at the usual 0.5.

Pure arithmetic on score matrices; the numbers come from tools/calibrate_imagenet_tags.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VETOED = 0.49
"""The most a tag the rule refuses may score: below the 0.5 that means assigned."""


@dataclass(frozen=True)
class AgreementRule:
    """Thresholds on the classifier's side, all probabilities in 0..1."""

    agree: float
    """Support a veto tag needs beside the head's own threshold."""
    alone: float
    """Support at which a tag is assigned on the classifier's word alone."""
    people: float
    """Person support a people tag needs beside the head's own threshold."""
    domain: float = 0.0
    """Familiarity under which a picture is outside the head's domain."""
    outside: float = 0.5
    """Head score a gated tag needs outside the domain."""


@dataclass(frozen=True, eq=False)
class Roles:
    """Per tag (all (tags,) bool): how the rule treats it. A tag in none is left to the head."""

    veto: np.ndarray
    """Needs support `agree` beside the head."""
    alone: np.ndarray
    """May be assigned by support `alone`."""
    people: np.ndarray
    """Needs person support beside the head."""
    gated: np.ndarray
    """Built-in tags the head decides only within its domain (all but veto tags)."""


def combine(
    head: np.ndarray,
    support: np.ndarray,
    person: np.ndarray,
    domain: np.ndarray,
    roles: Roles,
    rule: AgreementRule,
) -> np.ndarray:
    """(n, tags) scores where >= 0.5 means assigned, from the head's scores (n, tags; 0.5 its
    threshold), object support (n, tags; NaN where a tag has no classes), person support and
    familiarity (n,).

    The head's score stands where the rule lets the head decide; a tag the classifier names
    alone scores 0.5 at `alone` rising to 1 at certainty (or the head's, if higher); a refused
    tag keeps its head score capped at VETOED, so what was refused still ranks.
    """
    head = np.asarray(head, np.float32)
    support = np.nan_to_num(np.asarray(support, np.float32), nan=0.0)
    person = np.asarray(person, np.float32).reshape(-1, 1)
    inside = np.asarray(domain, np.float32).reshape(-1, 1) >= rule.domain
    fired = head >= 0.5
    allowed = np.ones_like(fired)
    allowed &= ~roles.veto | (support >= rule.agree)
    allowed &= ~roles.people | (person >= rule.people)
    allowed &= ~roles.gated | inside | (head >= rule.outside)
    from_head = np.where(fired & allowed, head, 0.0)
    by_classifier = np.where(
        roles.alone & (support >= rule.alone),
        0.5 + 0.5 * (support - rule.alone) / max(1.0 - rule.alone, 1e-6),
        0.0,
    )
    best = np.maximum(from_head, by_classifier)
    return np.where(best >= 0.5, best, np.minimum(head, VETOED)).astype(np.float32)

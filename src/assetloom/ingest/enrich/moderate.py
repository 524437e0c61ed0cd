"""Moderation at ingest: an NSFW score per asset (the highest over a video's key frames or a
document's pages) in `metadata["moderation"]`, and the policy's verdict when the score
reaches the threshold.

The verdict is decided here, where the policy is known (`Options`), and recorded with the
score: "flagged" (the asset stays visible, listed for review) or "quarantined" (hidden from
lists, searches and similar until an admin approves it). The catalog keeps the review state
from it (`assets.review`, see app/review.py).
"""

from __future__ import annotations

from assetloom.ingest.enrich.base import register
from assetloom.ingest.enrich.ocr import pictures
from assetloom.ingest.records import ModelInputs, Options, Prepared

KEY = "moderation"
VERDICTS = {"flag": "flagged", "quarantine": "quarantined"}
"""Policy -> the verdict an asset at or over the threshold gets."""


class Moderate:
    name = "moderation"
    order = 20

    def wanted(self, opts: Options) -> bool:
        return opts.embed and opts.moderation in VERDICTS

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, [image for _, image in pictures(inputs)]) for rec, inputs in items]
        todo = [(rec, images) for rec, images in todo if images]
        if not todo:
            return
        from assetloom.models.registry import get_moderator

        moderator = get_moderator()
        scores = moderator.score([image for _, images in todo for image in images])
        at = 0
        for rec, images in todo:
            score = max(scores[at : at + len(images)])
            at += len(images)
            doc: dict[str, object] = {"nsfw": round(score, 4), "model": moderator.name}
            if score >= opts.moderation_threshold:
                doc["verdict"] = VERDICTS[opts.moderation]
            rec.metadata[KEY] = doc


register(Moderate())

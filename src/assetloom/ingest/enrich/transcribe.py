"""Speech recognition at ingest: what recordings and videos say becomes searchable text.

For each file whose extractor found a sound track (`ModelInputs.speech`) the transcript goes
onto the record as passages of 15-30 s (each embedded as a segment vector by the embed step,
order 50, and named with its moment in search hits), as keyword text, and as a summary in
`metadata["transcript"]`. Music and silence get `"speech": false` and no passages.
"""

from __future__ import annotations

from pathlib import Path

from assetloom.core.assets import Segment
from assetloom.ingest.enrich.base import register
from assetloom.ingest.records import ModelInputs, Options, Prepared
from assetloom.models.base import TranscriptSegment, join_text

PASSAGE_MIN_S = 15.0
"""A passage closes once it is this long: long enough to carry a topic for the text encoder
(e5 reads ~100 words well; speech runs ~2.5 words a second)."""
PASSAGE_MAX_S = 30.0
"""...and never grows past this, so a hit's moment stays close to the words that matched."""
PASSAGE_GAP_S = 10.0
"""A pause this long starts a new passage: what follows is likely about something else."""


class Transcribe:
    name = "transcribe"
    order = 10

    def wanted(self, opts: Options) -> bool:
        return opts.embed and opts.asr.strip().lower() != "off"

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, inputs.speech) for rec, inputs in items if inputs.speech is not None]
        if not todo:
            return
        from assetloom.models.registry import get_transcriber

        asr = get_transcriber(opts.asr, Path(opts.model_cache))
        for rec, audio in todo:
            transcript = asr.transcribe(audio.samples, audio.rate)
            rec.metadata["transcript"] = {
                "language": transcript.language,
                "speech": transcript.speech,
                "seconds_transcribed": round(transcript.seconds_transcribed, 2),
                "model": asr.name,
            }
            if not transcript.speech:
                continue
            rec.passages.extend(passages(list(transcript.segments), transcript.language))
            text = transcript.text
            # Keep what the extractor found (a recording's title, a video's tags) searchable too.
            rec.text_content = f"{rec.text_content}\n{text}" if rec.text_content else text


def passages(segments: list[TranscriptSegment], language: str | None) -> list[Segment]:
    """Consecutive recogniser segments merged into passages (see the PASSAGE_* rules); each
    passage spans its first segment's start to its last one's end."""
    out: list[Segment] = []
    group: list[TranscriptSegment] = []

    def close() -> None:
        if group:
            text = join_text([s.text for s in group], language)
            out.append(
                Segment("transcript", round(group[0].start, 2), round(group[-1].end, 2), text=text)
            )
            group.clear()

    for seg in segments:
        if group and (
            group[-1].end - group[0].start >= PASSAGE_MIN_S
            or seg.end - group[0].start > PASSAGE_MAX_S
            or seg.start - group[-1].end >= PASSAGE_GAP_S
        ):
            close()
        group.append(seg)
    close()
    return out


register(Transcribe())

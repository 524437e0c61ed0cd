"""`assetloom align train`: fine-tune the image alignment head on the library's captioned images."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from assetloom.cli.common import JsonOpt, emit_json, err, open_library, out, run

if TYPE_CHECKING:
    from assetloom.app.align import AlignProgress

align_app = typer.Typer(
    help="Adapt image search to your own captioned images.", no_args_is_help=True
)

_STAGES = {
    "captions": "Embedding captions",
    "reading": "Reading images",
    "training": "Training",
    "embedding": "Re-embedding",
}


@contextmanager
def _stage_bars(enabled: bool) -> Iterator[AlignProgress | None]:
    """One Rich bar per stage on a terminal's stderr; a no-op callback otherwise."""
    if not enabled or not err.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bars:
        tasks: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(_STAGES.get(stage, stage), total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


@align_app.command("train")
def train(
    holdout: float = typer.Option(
        0.2, "--holdout", min=0.01, max=0.9, help="Share of captioned images held back to measure."
    ),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Training passes (20)."),
    seed: int = typer.Option(0, "--seed", help="Picks the held-back images and the training run."),
    as_json: bool = JsonOpt,
) -> None:
    """Fine-tune the image encoder's alignment head on your captioned images (titles,
    descriptions, keywords, sidecar <name>.txt/.caption files), report recall before and
    after on a held-back part, then switch the library to it and re-embed."""

    def body() -> None:
        from rich.table import Table

        from assetloom.app.align import align_train

        with open_library() as lib, _stage_bars(not as_json) as progress:
            report = align_train(lib, holdout=holdout, epochs=epochs, seed=seed, progress=progress)
        if as_json:
            emit_json(report.to_json())
            return
        table = Table("held back", "R@1", "R@5", "R@10", "MRR")
        for direction in ("text_to_image", "image_to_text"):
            for when, metrics in (("before", report.before), ("after", report.after)):
                m = metrics[direction]
                table.add_row(
                    f"{direction.replace('_', ' ')}, {when}",
                    *(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR")),
                )
        out.print(table)
        out.print(
            f"{report.images} captioned images ({report.uncaptioned} without a caption skipped): "
            f"trained on {report.train}, measured on {report.heldout}"
        )
        out.print(f"new head {report.head}; {report.reembedded} assets re-embedded")

    run(as_json, body)

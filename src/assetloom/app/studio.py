"""The creation studio: a brief (or an asset and an instruction) -> a plan -> outputs through
pluggable generators -> checked against the library -> registered with their lineage.

Every output goes through the same `add` as a user's file (fingerprints, vectors, tags, a
ledger leaf), with its creation row (recipe, quality) and lineage edges in the same
transaction, so nothing is half-registered. Each output is made on its own: one that fails
(an unreachable backend, garbage back, bad input) is reported with its reason and the others
are still made.

A run holds a lease (`store/jobs.py`) for its project while it works, so a project still
"running" whose lease is dead was left by a process that died: `settle_interrupted` marks it
"interrupted", and its stored request can be run again. A caller may cancel a run between
outputs (`cancelled`); the outputs are registered together at the end, so a cancelled run
registers none (the brief and style reference, registered first as inputs, stay).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assetloom.app.search import SearchQuery
from assetloom.blobs.files import local_files
from assetloom.core.assets import Asset, MediaType, Tier
from assetloom.create.generators.base import Generated, Parent
from assetloom.create.generators.registry import get_generator, parse_backends
from assetloom.create.plan import FORMATS, Plan, make_plan
from assetloom.create.quality import technical, text_quality
from assetloom.errors import AssetLoomError, BadInputError, ProjectNotFoundError
from assetloom.store.studio import Edge, lease_key

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.store.base import UnitOfWork

DEFAULT_BACKENDS = {
    "text": "text=template",
    "image": "image=compose",
    "speech": "",
    "music": "music=midi",
    "video": "video=shorts",
}
EXTENSIONS = {
    "text/plain; charset=utf-8": ".txt",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "audio/wav": ".wav",
    "audio/midi": ".mid",
    "audio/x-wav": ".wav",
    "video/mp4": ".mp4",
}
Progress = Callable[[str], None]
MODEL_BACKENDS = frozenset({"diffusers", "comfyui", "openai"})
"""Image backends whose pictures a model made from scratch (C2PA: trainedAlgorithmicMedia);
the others compose library pictures (compositeWithTrainedAlgorithmicMedia)."""


class StudioCancelledError(AssetLoomError):
    """The caller cancelled the run between outputs: none of its outputs is registered."""

    code = "cancelled"


@dataclass
class Output:
    """One made (or failed) output, before and after registration."""

    kind: str
    label: str
    generated: Generated | None = None
    error: str | None = None
    backend: str = ""
    asset_id: str | None = None
    quality: dict[str, Any] = field(default_factory=dict)
    parents: list[Parent] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        if self.generated is None:
            return {
                "kind": self.kind,
                "label": self.label,
                "backend": self.backend,
                "error": self.error,
            }
        return {
            "asset_id": self.asset_id,
            "kind": self.kind,
            "label": self.label,
            "media_type": self.generated.media_type,
            "backend": self.backend,
            "recipe": self.generated.recipe.as_dict(),
            "quality": self.quality,
        }


@dataclass
class Request:
    brief: str
    style_ref: Path | None = None
    language: str | None = None
    outputs: list[str] | None = None
    formats: list[str] | None = None
    backends: Sequence[str] = ()
    seed: int | None = None
    source_asset: str | None = None
    instruction: str | None = None
    project_id: str | None = None
    """Chosen by the caller (a job runner keys its job by it); a fresh one when None."""

    def to_json(self) -> dict[str, Any]:
        """What running it again takes; stored with the project."""
        return {
            "brief": self.brief,
            "style_ref": str(self.style_ref) if self.style_ref else None,
            "language": self.language,
            "outputs": self.outputs,
            "formats": self.formats,
            "backends": list(self.backends),
            "seed": self.seed,
            "source_asset": self.source_asset,
            "instruction": self.instruction,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Request:
        style = doc.get("style_ref")
        return cls(
            doc["brief"],
            style_ref=Path(style) if style else None,
            language=doc.get("language"),
            outputs=doc.get("outputs"),
            formats=doc.get("formats"),
            backends=list(doc.get("backends") or ()),
            seed=doc.get("seed"),
            source_asset=doc.get("source_asset"),
            instruction=doc.get("instruction"),
        )


class Studio:
    def __init__(
        self,
        lib: Library,
        progress: Progress | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.lib = lib
        self.progress = progress or (lambda _step: None)
        self.cancelled = cancelled or (lambda: False)

    # ------------------------------------------------------------------ entry points
    def check(self, req: Request) -> tuple[Plan, dict[str, str]]:
        """The plan and backends of a request, or the bad input a run would refuse, before
        anything is made or registered (a job queue refuses it up front)."""
        plan = make_plan(
            req.brief,
            language=req.language,
            outputs=req.outputs,
            formats=req.formats,
            instruction=req.instruction,
        )
        backends = {
            **DEFAULT_BACKENDS,
            **{k: str(v) for k, v in parse_backends(req.backends).items()},
        }
        if req.style_ref is not None:
            _check_image(req.style_ref, "--style-ref")
        return plan, backends

    def create(self, req: Request) -> dict[str, Any]:
        plan, backends = self.check(req)
        self._stop_if_cancelled()
        project_id = req.project_id or uuid.uuid4().hex
        with self.lib.ports.guard.jobs.leased("studio", lease_key(project_id)):
            try:
                return self._run(req, plan, backends, project_id)
            except Exception as exc:  # the project says how it ended, then the caller hears
                self._ended(req, plan, project_id, exc)
                raise

    def _run(
        self, req: Request, plan: Plan, backends: Mapping[str, str], project_id: str
    ) -> dict[str, Any]:
        kind = "repurpose" if req.source_asset else "create"
        with self.lib.catalog.unit_of_work() as uow:
            self.lib.studio.start_project(
                uow.session,
                project_id,
                kind,
                req.brief,
                plan.language,
                _now(),
                request=req.to_json(),
            )
        with tempfile.TemporaryDirectory(prefix="assetloom-studio-") as tmp:
            work = Path(tmp)
            self.progress("registering the brief and references")
            inputs = self._inputs(work, project_id, plan, req)
            outputs = self._make(plan, backends, inputs, req.seed)
            self._stop_if_cancelled()
            self.progress("watermarking and signing the outputs")
            self._mark_and_sign(outputs)
            self._stop_if_cancelled()
            self.progress("checking the outputs against the library")
            report = self._check(work, outputs, inputs)
            self._stop_if_cancelled()
            self.progress("registering the outputs")
            self._register(work, project_id, outputs, inputs)
        state = "done" if all(o.error is None for o in outputs) else "partial"
        if all(o.error is not None for o in outputs):
            state = "failed"
        report["quality"] = {o.label: o.quality for o in outputs if o.generated is not None}
        report["errors"] = [o.to_json() for o in outputs if o.error is not None]
        stored = {**report, "request": req.to_json()}
        with self.lib.catalog.unit_of_work() as uow:
            self.lib.studio.finish_project(
                uow.session, project_id, plan=plan.to_json(), report=stored, state=state, now=_now()
            )
        return {
            "project_id": project_id,
            "brief": req.brief,
            "brief_asset_id": inputs.brief_id,
            "state": state,
            "plan": plan.to_json(),
            "inputs": inputs.to_json(),
            "outputs": [o.to_json() for o in outputs],
            "report": report,
        }

    def repurpose(self, asset_id: str, instruction: str, req: Request) -> dict[str, Any]:
        return self.create(self.repurposing(asset_id, instruction, req))

    def repurposing(self, asset_id: str, instruction: str, req: Request) -> Request:
        """`req` made into the request that re-purposes the asset (refused when it cannot)."""
        asset = self.lib.get(asset_id)
        if asset.media_type is not MediaType.IMAGE:
            raise BadInputError(
                f"asset {asset.asset_id[:12]} is {asset.media_type.value}; "
                "repurpose takes an image",
                hint="pick an image asset (assetloom list --type image)",
            )
        if not instruction.strip():
            raise BadInputError(
                "the instruction is empty", hint='e.g. "put the product in a rainforest"'
            )
        title = str(asset.metadata.get("title") or Path(asset.original_name).stem.replace("_", " "))
        req.brief = req.brief or f"{title}. {instruction}"
        req.source_asset, req.instruction = asset.asset_id, instruction
        req.outputs = req.outputs or ["text", "image"]
        return req

    def _ended(self, req: Request, plan: Plan, project_id: str, exc: Exception) -> None:
        """Record a run that raised as cancelled or failed (best effort: the catalog may be
        what failed; a project left running is marked interrupted later)."""
        error = exc.message if isinstance(exc, AssetLoomError) else type(exc).__name__
        state = "cancelled" if isinstance(exc, StudioCancelledError) else "failed"
        report = {"request": req.to_json(), "error": error}
        with contextlib.suppress(Exception), self.lib.catalog.unit_of_work() as uow:
            self.lib.studio.finish_project(
                uow.session, project_id, plan=plan.to_json(), report=report, state=state, now=_now()
            )

    def _stop_if_cancelled(self) -> None:
        if self.cancelled():
            raise StudioCancelledError(
                "the studio run was cancelled; none of its outputs was registered"
            )

    # ------------------------------------------------------------------ steps
    def _inputs(self, work: Path, project_id: str, plan: Plan, req: Request) -> Inputs:
        brief_file = work / f"brief-{project_id[:8]}.txt"
        brief_file.write_text(req.brief.strip() + "\n", encoding="utf-8")
        files = [brief_file]
        labels = {brief_file: f"studio brief (project {project_id})"}
        if req.style_ref is not None:
            files.append(req.style_ref)
        report = self.lib.add(files, sources=labels)
        ids = {Path(f.file).name: f.asset_id for f in report.added + report.present}
        inputs = Inputs(brief_id=ids[brief_file.name], brief_text=req.brief.strip())
        if req.style_ref is not None:
            inputs.style_id = ids.get(req.style_ref.name)
        if req.source_asset:
            inputs.source_id = inputs.subject_id = req.source_asset
        elif "image" in plan.outputs or "video" in plan.outputs:
            inputs.subject_id = self._find(
                plan.prompts.get("image", {}).get("search") or plan.visual_subject, inputs
            )
        if plan.scene:
            inputs.background_id = self._find(plan.scene, inputs)
        wanted = {r: i for r, i in inputs.roles().items() if i and r != "brief"}
        assets = self.lib.get_many(wanted.values())
        with local_files(self.lib.blobs, [a.sha256 for a in assets.values()]) as paths:
            for role, asset_id in wanted.items():
                a = assets.get(asset_id)
                if a is not None and a.sha256 in paths:
                    inputs.images[role] = paths[a.sha256].read_bytes()
        return inputs

    def _find(self, text: str, inputs: Inputs) -> str | None:
        """The library picture that best matches `text`, other than those already chosen."""
        if not text:
            return None
        taken = set(inputs.roles().values())
        try:
            hits = self.lib.search(SearchQuery(text=text, media_type=MediaType.IMAGE, limit=5))
        except AssetLoomError:
            return None
        return next(
            (
                h.asset.asset_id
                for h in hits
                if h.asset.asset_id not in taken and not _made_by_studio(h.asset)
            ),
            None,
        )

    def _make(
        self, plan: Plan, backends: Mapping[str, str], inputs: Inputs, seed: int | None
    ) -> list[Output]:
        outputs: list[Output] = []
        copy_text = ""
        if "text" in plan.outputs:
            out = self._one(
                "text",
                "copy",
                backends["text"],
                inputs.parents(("brief",)),
                lambda g, p: g.generate(
                    plan.prompts["text"]["prompt"], language=plan.language, seed=seed, parents=p
                ),
            )
            if out.generated is not None:
                copy_text = out.generated.data.decode("utf-8")
                out.quality = text_quality(copy_text, plan.language)
            outputs.append(out)
        headline = copy_text.strip().splitlines()[0] if copy_text.strip() else plan.key_message
        if "image" in plan.outputs:
            parents = inputs.parents(("brief", "subject", "background", "style"))
            refs = {
                r: data
                for r, data in inputs.images.items()
                if r in ("subject", "background", "style")
            }
            if inputs.source_id and "subject" in refs:
                refs["source"] = refs["subject"]  # img2img / ControlNet start from it
            negative = plan.prompts["image"].get("negative", "")
            for fmt in plan.formats:
                w, h = FORMATS[fmt]
                out = self._one(
                    "image",
                    f"image {fmt}",
                    backends["image"],
                    parents,
                    lambda g, p, w=w, h=h: g.generate(
                        plan.prompts["image"]["prompt"],
                        width=w,
                        height=h,
                        seed=seed,
                        parents=p,
                        references=refs,
                        overlay=headline,
                        **_negative(g, negative),
                    ),
                )
                if out.generated is not None:
                    out.quality = self._image_quality(
                        out.generated, plan.brief, inputs.images.get("style")
                    )
                outputs.append(out)
        made = {o.label: o for o in outputs if o.generated is not None}
        script = _script(copy_text) or plan.key_message
        speech = music = None
        if "speech" in plan.outputs or "video" in plan.outputs:
            backend = backends["speech"] or (
                "speech=espeak" if plan.language == "zh" else "speech=piper"
            )
            copy = made.get("copy")
            parents = inputs.parents(("brief",)) + (
                [Parent(copy.asset_id, "script")] if copy and copy.asset_id else []
            )
            speech = self._one(
                "speech",
                "voice-over",
                backend,
                parents,
                lambda g, p: g.generate(script, language=plan.language, seed=seed, parents=p),
            )
            outputs.append(speech)
        if "music" in plan.outputs or "video" in plan.outputs:
            spoken = _seconds(speech)
            length = min(max(spoken + 2.0, 8.0), 60.0) if spoken else 15.0
            music = self._one(
                "music",
                "music bed",
                backends["music"],
                inputs.parents(("brief",)),
                lambda g, p: g.generate(
                    plan.prompts.get("music", {}).get("tone", plan.tone),
                    duration_s=length,
                    seed=seed,
                    parents=p,
                ),
            )
            outputs.append(music)
        if "video" in plan.outputs:
            pictures = [o for o in outputs if o.kind == "image" and o.generated is not None]
            shapes = {"9:16": (720, 1280), "16:9": (1280, 720)}
            wanted = [f for f in plan.formats if f in shapes] or list(shapes)
            for fmt, (w, h) in ((f, shapes[f]) for f in wanted):
                own = [o for o in pictures if o.label.endswith(fmt)] or pictures
                parents = [Parent(o.asset_id, "image") for o in own if o.asset_id]
                for o, role in ((speech, "voice-over"), (music, "music")):
                    kept = o is not None and o.kind in plan.outputs  # else made for this only
                    if kept and o is not None and o.generated is not None and o.asset_id:
                        parents.append(Parent(o.asset_id, role))
                images = [o.generated.data for o in own if o.generated] or list(
                    inputs.images.get(r) for r in ("subject", "background") if inputs.images.get(r)
                )
                outputs.append(
                    self._one(
                        "video",
                        f"video {fmt}",
                        backends["video"],
                        parents,
                        lambda g, p, w=w, h=h, images=images: g.generate(
                            plan.key_message,
                            width=w,
                            height=h,
                            seed=seed,
                            parents=p,
                            images=images,
                            voice_over=speech.generated.data
                            if speech and speech.generated
                            else None,
                            music=music.generated.data if music and music.generated else None,
                            cues=list(getattr(speech.generated, "sentences", ()))
                            if speech and speech.generated
                            else [],
                            bpm=getattr(getattr(music.generated, "plan", None), "bpm", None)
                            if music and music.generated
                            else None,
                        ),
                    )
                )
        if "speech" not in plan.outputs and speech is not None:
            outputs.remove(speech)  # made for the video only: not an output of its own
        if "music" not in plan.outputs and music is not None:
            outputs.remove(music)
        return outputs

    def _mark_and_sign(self, outputs: list[Output]) -> None:
        """Images carry their asset id as an invisible watermark; images and videos carry a
        C2PA manifest signed by the library naming what they were made from (parents that
        are outputs of this run are named by their final bytes, so they come first)."""
        from PIL import Image

        from assetloom.app.provenance import sign_output, watermark_output
        from assetloom.provenance.c2pa import (
            COMPOSITE,
            SIGNED_TYPES,
            TRAINED,
            Ingredient,
            ManifestSpec,
        )

        made = {o.asset_id: o for o in outputs if o.generated is not None and o.asset_id}
        library = self.lib.get_many(
            p.asset_id for o in made.values() for p in o.parents if p.asset_id not in made
        )
        for out in made.values():
            assert out.generated is not None and out.asset_id
            data, marks = out.generated.data, {"watermark": False, "c2pa": False}
            if out.kind == "image":
                try:
                    with Image.open(io.BytesIO(data)) as im:
                        marked = watermark_output(self.lib, im.convert("RGB"), out.asset_id)
                    buf = io.BytesIO()
                    marked.save(buf, "PNG", optimize=True)
                    data, marks["watermark"] = buf.getvalue(), True
                except AssetLoomError as exc:
                    marks["watermark_error"] = exc.message
            if out.generated.media_type in SIGNED_TYPES:
                ingredients = []
                for p in out.parents:
                    if p.asset_id in made and made[p.asset_id].generated is not None:
                        parent = made[p.asset_id]
                        assert parent.generated is not None
                        ingredients.append(
                            Ingredient(
                                p.asset_id,
                                p.role,
                                parent.label,
                                hashlib.sha256(parent.generated.data).hexdigest(),
                                parent.generated.media_type,
                            )
                        )
                    elif p.asset_id in library:
                        a = library[p.asset_id]
                        ingredients.append(
                            Ingredient(p.asset_id, p.role, a.original_name, a.sha256, a.mime)
                        )
                recipe = out.generated.recipe
                spec = ManifestSpec(
                    title=out.label,
                    source_type=TRAINED if recipe.backend in MODEL_BACKENDS else COMPOSITE,
                    backend=recipe.backend,
                    model=recipe.model,
                    asset_id=out.asset_id,
                    ingredients=ingredients,
                    recipe_digest=recipe.digest(),
                )
                try:
                    data = sign_output(self.lib, data, out.generated.media_type, spec)
                    marks["c2pa"] = True
                except AssetLoomError as exc:
                    marks["c2pa_error"] = exc.message
            out.generated = replace(out.generated, data=data)
            out.quality["provenance"] = marks

    def _image_quality(
        self, made: Generated, brief: str, style: bytes | None = None
    ) -> dict[str, Any]:
        """Technical figures, the text-contrast the layout reached, and how well the picture
        matches the brief: cosine of brief and image in the shared zh/en space, and that cosine
        calibrated on Flickr8k dev into p(match) (core/alignment_score); with a style reference,
        the Gram-matrix style distance to it (models/style)."""
        from PIL import Image

        im = Image.open(io.BytesIO(made.data))
        quality: dict[str, Any] = technical(im)
        if "text_contrast" in made.recipe.parameters:
            quality["text_contrast"] = made.recipe.parameters["text_contrast"]
        if self.lib.settings.understanding:
            from assetloom.app.search import encode_query
            from assetloom.core.alignment_score import calibrated

            query = encode_query(self.lib.text_encoder(), brief)
            vector = self.lib.image_encoder().encode([im.convert("RGB")])[0]
            cosine = float(np.dot(query, vector) / (np.linalg.norm(vector) * np.linalg.norm(query)))
            quality["alignment_cosine"] = round(cosine, 4)
            quality["alignment"] = round(calibrated(cosine), 3)
            if style:
                from assetloom.models.style import style_distance

                d = style_distance(made.data, style, self.lib.settings.model_cache)
                quality["style_distance"] = round(d, 4)
        return quality

    def _one(
        self,
        kind: str,
        label: str,
        backend: str,
        parents: list[Parent],
        call: Callable[[Any, list[Parent]], Generated],
    ) -> Output:
        self._stop_if_cancelled()
        self.progress(f"making the {label}")
        out = Output(kind, label, backend=backend, parents=parents)
        try:
            generator = get_generator(backend, kind)
            out.backend = f"{kind}={generator.backend}"
            out.generated = call(generator, parents)
        except AssetLoomError as exc:
            out.error = exc.message
        except Exception as exc:  # a backend's own failure: reported, the others still made
            out.error = f"the {backend} backend failed: {type(exc).__name__}: {exc}"
        if out.generated is not None and not out.generated.data:
            out.generated, out.error = None, f"the {backend} backend returned nothing"
        if out.generated is not None:
            out.asset_id = uuid.uuid4().hex  # known before it is stored: later outputs name it
        return out

    def _check(self, work: Path, outputs: list[Output], inputs: Inputs) -> dict[str, Any]:
        """Each made picture/recording against the library before it is registered: a near
        copy of an asset that is not one of its own parents is flagged."""
        files: dict[Path, Output] = {}
        for i, out in enumerate(outputs):
            if out.generated is None or out.kind == "text":
                continue
            path = work / f"check-{i}{_extension(out.generated.media_type)}"
            path.write_bytes(out.generated.data)
            files[path] = out
        copyright: list[dict[str, Any]] = []
        if files:
            own = set(inputs.roles().values())
            for path, result in zip(files, self.lib.verify(list(files)), strict=True):
                for m in result.matches:
                    if m.tier in (Tier.EXACT, Tier.NEAR_IDENTICAL) and m.asset_id not in own:
                        copyright.append(
                            {
                                "output": files[path].label,
                                "asset_id": m.asset_id,
                                "original_name": m.original_name,
                                "tier": m.tier.value,
                                "distance": m.distance,
                            }
                        )
        return {"copyright": copyright}

    def _register(self, work: Path, project_id: str, outputs: list[Output], inputs: Inputs) -> None:
        made = [o for o in outputs if o.generated is not None]
        if not made:
            return
        files: dict[Path, Output] = {}
        for i, out in enumerate(made):
            assert out.generated is not None
            stem = f"{project_id[:8]}-{i:02}-{out.label.replace(' ', '-').replace(':', 'x')}"
            path = work / f"{stem}{_extension(out.generated.media_type)}"
            path.write_bytes(out.generated.data)
            files[path] = out
        labels = {
            p: f"created by the studio (project {project_id}): {o.label}" for p, o in files.items()
        }
        by_id = {o.asset_id: o for o in files.values()}
        copy_id = next((o.asset_id for o in made if o.kind == "text"), None)

        def record(uow: UnitOfWork, added: list[Asset]) -> None:
            for asset in added:
                out = by_id.get(asset.asset_id)
                if out is None or out.generated is None:
                    continue
                self.lib.studio.add_creation(
                    uow.session,
                    asset.asset_id,
                    project_id,
                    kind=out.kind,
                    backend=out.backend,
                    recipe=out.generated.recipe.as_dict(),
                    quality=out.quality,
                )
                edges = [Edge(asset.asset_id, p.asset_id, p.role, project_id) for p in out.parents]
                if out.kind in ("image", "video") and copy_id and copy_id != asset.asset_id:
                    edges.append(Edge(asset.asset_id, copy_id, "copy", project_id))
                self.lib.studio.add_edges(uow.session, edges)

        report = self.lib.add(
            list(files),
            sources=labels,
            ids={p: o.asset_id for p, o in files.items() if o.asset_id},
            on_commit=record,
        )
        for outcome in report.present:  # the same bytes were already an asset: point at it
            out = files.get(Path(outcome.file))
            if out is not None:
                out.asset_id = outcome.asset_id
        for skipped in report.skipped:
            out = files.get(Path(skipped.file))
            if out is not None:
                out.asset_id, out.error = None, f"not registered: {skipped.reason}"


@dataclass
class Inputs:
    brief_id: str
    brief_text: str
    style_id: str | None = None
    subject_id: str | None = None
    background_id: str | None = None
    source_id: str | None = None
    """The asset being re-purposed (it is also the subject)."""
    images: dict[str, bytes] = field(default_factory=dict)

    def roles(self) -> dict[str, str]:
        pairs = {
            "brief": self.brief_id,
            "style": self.style_id,
            "subject": self.subject_id,
            "background": self.background_id,
        }
        return {role: asset_id for role, asset_id in pairs.items() if asset_id}

    def parents(self, roles: Sequence[str]) -> list[Parent]:
        """The inputs playing these roles; a re-purposed asset is named as the "source"."""
        mine = self.roles()
        return [
            Parent(mine[r], "source" if r == "subject" and self.source_id else r)
            for r in roles
            if r in mine
        ]

    def to_json(self) -> dict[str, Any]:
        return self.roles()


def lineage(lib: Library, asset_id: str) -> dict[str, Any]:
    """The derivation graph of an asset, up (its sources) and down (what was made from it)."""
    asset = lib.get(asset_id)
    graph = lib.studio.lineage(asset.asset_id)
    names: dict[str, str] = graph["names"]

    def edge(e: Edge) -> dict[str, Any]:
        return {
            "child_id": e.child_id,
            "child_name": names.get(e.child_id),
            "parent_id": e.parent_id,
            "parent_name": names.get(e.parent_id),
            "role": e.role,
            "project_id": e.project_id,
        }

    return {
        "asset_id": asset.asset_id,
        "original_name": asset.original_name,
        "creation": lib.studio.creation(asset.asset_id),
        "up": [edge(e) for e in graph["up"]],
        "down": [edge(e) for e in graph["down"]],
        "truncated": graph["truncated"],
    }


def project(lib: Library, project_id: str) -> dict[str, Any]:
    """A project as stored: its request, plan, report, state and outputs (recipe, quality)."""
    doc = lib.studio.project(project_id)
    if doc is None:
        raise ProjectNotFoundError(f"no studio project {project_id}")
    return doc


def settle_interrupted(lib: Library) -> list[str]:
    """Mark the projects whose run died (its lease is dead) "interrupted"; their ids."""
    with lib.catalog.unit_of_work() as uow:
        return lib.studio.mark_interrupted(uow.session, now=_now(), host=lib.ports.guard.jobs.host)


def stored_request(lib: Library, project_id: str) -> Request:
    """The request an interrupted, cancelled or failed project was started with, to run again."""
    doc = project(lib, project_id)
    stored = doc["report"].get("request")
    if doc["state"] not in ("interrupted", "cancelled", "failed") or not stored:
        raise BadInputError(
            f"project {project_id} is {doc['state']}; only an interrupted, cancelled or "
            "failed run can be run again",
            hint="start a new one with the same brief",
        )
    return Request.from_json(stored)


def _negative(generator: object, negative: str) -> dict[str, str]:
    """The plan's negative prompt, for the backends that take one (models; compose sets no
    pixels it would need to avoid)."""
    import inspect

    params = inspect.signature(generator.generate).parameters  # type: ignore[attr-defined]
    return {"negative": negative} if negative and "negative" in params else {}


def _made_by_studio(asset: Asset) -> bool:
    """Studio outputs and briefs: never the subject or scene of a new campaign."""
    return (asset.source or "").startswith(("created by the studio", "studio brief"))


def _script(copy_text: str) -> str:
    """What the voice-over says: the copy without its hashtags."""
    lines = [ln.strip() for ln in copy_text.strip().splitlines() if ln.strip()]
    return "\n".join(ln for ln in lines if not ln.startswith("#"))


def _seconds(out: Output | None) -> float:
    sentences = getattr(out.generated, "sentences", ()) if out and out.generated else ()
    return float(sentences[-1].end) if sentences else 0.0


def _check_image(path: Path, what: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except FileNotFoundError as exc:
        raise BadInputError(f"{what} {path}: no such file") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadInputError(
            f"{what} {path}: not an image ({exc})", hint="give a JPEG, PNG or WebP picture"
        ) from exc


def _extension(media_type: str) -> str:
    return EXTENSIONS.get(media_type, ".bin")


def _now() -> datetime:
    return datetime.now(UTC)

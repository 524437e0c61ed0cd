"""RapidOCR 1.4.4: PaddleOCR's PP-OCRv4 detector, direction classifier and zh/en recogniser
as ONNX graphs shipped inside the wheel, run on ONNX Runtime.

Most photos hold no text, and the full pipeline upscales every picture to 736 px on its short
side before detecting (0.3-0.6 s a picture on one core). So a gate runs first: the same
detector on the picture scaled to at most `GATE_SIDE` px, whose answer "no text box" skips the
rest. The pipeline itself is RapidOCR's own steps, called one by one so that each line's crop
is at hand to put back the spaces the recogniser drops (`spacing`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from assetloom.models import timing
from assetloom.models.base import OcrLine
from assetloom.models.errors import ModelNotInstalledError
from assetloom.models.ocr.spacing import restore_spaces

NAME = "rapidocr-ppocrv4"
GATE_SIDE = 512
"""The gate's detector sees the picture scaled to this long side (never up): text under about
10 px there is missed (bench/ocr.py). RapidOCR's own limit_type "max" never shrinks below 960
px, so the copy is made here."""
LINE_HEIGHT = 0.3
"""A gate box counts as text if it is at least as wide as high and no higher than this share
of the picture: what the detector finds in textures of photos without text is mostly large
blobs (a sky, a lawn), lines of text are neither."""
MIN_SCORE = 0.6
"""Lines the recogniser is less sure of are dropped: on photos without text, what it reads
in textures (leaves, railings) scores below this."""
MIN_SIDE = 32
"""Pictures smaller than this on either side hold no readable line."""
OCR_GATE, OCR_READ = "ocr_gate", "ocr_read"
"""Tasks reported to `timing` observers: every picture passes the gate, few are read."""


class RapidOcrEngine:
    """One picture at a time (lines are batched inside); thread-safe like its sessions."""

    name = NAME

    def __init__(self, threads: int | None = None) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
            from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
            from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
            from rapidocr_onnxruntime.utils import read_yaml, update_model_path
        except ImportError as exc:
            raise ModelNotInstalledError(
                f"OCR needs the rapidocr-onnxruntime package ({exc})",
                hint="run scripts/setup.sh (it installs requirements/media.txt), "
                "or set ocr = 'off' in assetloom.toml",
            ) from exc
        n = threads if threads else -1
        self._ocr: Any = RapidOCR(
            intra_op_num_threads=n, inter_op_num_threads=1 if threads else -1, print_verbose=False
        )
        det = dict(update_model_path(read_yaml(DEFAULT_CFG_PATH))["Det"])
        det.update(
            limit_type="max",
            limit_side_len=GATE_SIDE,
            intra_op_num_threads=n,
            inter_op_num_threads=1 if threads else -1,
        )
        self._gate: Any = TextDetector(det)

    def has_text(self, image: Image.Image) -> bool:
        """The gate: whether the detector finds a line-shaped text box in a copy of the picture
        at most `GATE_SIDE` px (never scaled up)."""
        return self._gate_open(_bgr(image))

    def recognise(self, image: Image.Image) -> list[OcrLine]:
        """The picture's lines, top to bottom; [] without reading when the gate finds none."""
        bgr = _bgr(image)
        if not self._gate_open(bgr):
            return []
        return timing.timed(self.name, OCR_READ, 1, lambda: self._read(bgr))

    def _gate_open(self, bgr: np.ndarray) -> bool:
        if min(bgr.shape[:2]) < MIN_SIDE:
            return False
        return timing.timed(self.name, OCR_GATE, 1, lambda: self._gate_passes(bgr))

    def _gate_passes(self, bgr: np.ndarray) -> bool:
        import cv2

        h, w = bgr.shape[:2]
        scale = GATE_SIDE / max(h, w)
        if scale < 1:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        boxes, _ = self._gate(bgr)
        if boxes is None:
            return False
        for box in boxes:
            width = float(np.linalg.norm(box[0] - box[1]))
            height = float(np.linalg.norm(box[0] - box[3]))
            if width >= height and height <= LINE_HEIGHT * bgr.shape[0]:
                return True
        return False

    def _read(self, bgr: np.ndarray) -> list[OcrLine]:
        ocr = self._ocr
        raw_h, raw_w = bgr.shape[:2]
        img, ratio_h, ratio_w = ocr.preprocess(bgr)
        record: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, record = ocr.maybe_add_letterbox(img, record)
        boxes, _ = ocr.auto_text_det(img)
        if boxes is None:
            return []
        crops = ocr.get_crop_img_list(img, boxes)
        crops, _, _ = ocr.text_cls(crops)
        read, _ = ocr.text_rec(crops, True)
        points = ocr._get_origin_points(boxes, record, raw_h, raw_w)
        lines = []
        for crop, box, (text, score, info) in zip(crops, points, read, strict=True):
            if float(score) < MIN_SCORE or not text.strip():
                continue
            cols, chars = _columns(info)
            if "".join(chars) == text and cols:
                scale = crop.shape[1] / float(info[0])
                text = restore_spaces(text, [(c + 0.5) * scale for c in cols], crop)
            corners = tuple((round(float(x), 1), round(float(y), 1)) for x, y in box)
            lines.append(OcrLine(" ".join(text.split()), corners, round(float(score), 4)))
        return lines


def _columns(info: list[Any]) -> tuple[list[int], list[str]]:
    """Each recognised character's CTC column and the characters, in reading order."""
    _, words, cols, *_ = info
    return [c for w in cols for c in w], [ch for w in words for ch in w]


def _bgr(image: Image.Image) -> np.ndarray:
    rgb = np.asarray(image.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])

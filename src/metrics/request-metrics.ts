import type { Registry } from 'prom-client';

type Labels = { method: string; route: string; status_code: string };

interface Series {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last one is above every bound (+Inf). */
  perBucket: number[];
}

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/**
 * The per-request counter and latency histogram (tfa_http_requests_total,
 * tfa_http_request_duration_seconds), kept in one map keyed by a plain string
 * and handed to prom-client's registry as two metrics that it formats like its
 * own. prom-client's Counter and Histogram hash their label objects on every
 * inc/observe: two hashes per request, ~7 % of a `GET /me` (BENCHMARKS.md).
 */
export class RequestMetrics {
  private readonly series = new Map<string, Series>();

  constructor(private readonly bounds: readonly number[]) {}

  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = {
        labels: { method, route, status_code: String(status) },
        count: 0,
        sum: 0,
        perBucket: new Array<number>(this.bounds.length + 1).fill(0),
      };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]!) i++;
    s.perBucket[i]!++;
  }

  /** Registers both metrics, with prom-client's names for their lines (…_bucket, …_sum, …_count). */
  register(
    registry: Registry,
    names: { counter: string; histogram: string },
    help: { counter: string; histogram: string },
  ) {
    const reset = () => this.series.clear();
    registry.registerMetric(
      metric(names.counter, help.counter, 'counter', reset, () =>
        [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.count })),
      ),
    );
    registry.registerMetric(
      metric(names.histogram, help.histogram, 'histogram', reset, () => {
        const out: Sample[] = [];
        for (const s of this.series.values()) {
          let cumulative = 0;
          this.bounds.forEach((le, i) => {
            cumulative += s.perBucket[i]!;
            out.push({ labels: { ...s.labels, le }, value: cumulative, metricName: `${names.histogram}_bucket` });
          });
          out.push({ labels: { ...s.labels, le: '+Inf' }, value: s.count, metricName: `${names.histogram}_bucket` });
          out.push({ labels: { ...s.labels }, value: s.sum, metricName: `${names.histogram}_sum` });
          out.push({ labels: { ...s.labels }, value: s.count, metricName: `${names.histogram}_count` });
        }
        return out;
      }),
    );
  }
}

/** What prom-client's registry reads of a metric: its name, type, reset and values. */
function metric(name: string, help: string, type: 'counter' | 'histogram', reset: () => void, values: () => Sample[]) {
  const get = () => Promise.resolve({ name, help, type, values: values(), aggregator: 'sum' as const });
  // The registry's typings want a full prom-client Metric; it only calls these members.
  return { name, help, type, reset, get, getForPromString: get } as unknown as Parameters<
    Registry['registerMetric']
  >[0];
}

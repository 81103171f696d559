/**
 * Closed-loop load: N clients, each running its flow again and again until the
 * deadline. Latencies are kept whole (a few hundred thousand numbers at most)
 * and sorted once for the percentiles.
 */

export interface Summary {
  count: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[], seconds: number): Summary {
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : NaN);
  return {
    count: s.length,
    perSecond: s.length / seconds,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: s.length ? s[s.length - 1]! : NaN,
  };
}

export class Recorder {
  measuring = false;
  requests = 0;
  readonly latencies = new Map<string, number[]>();
  readonly errors = new Map<string, number>();

  ok(kind: string, ms: number): void {
    if (!this.measuring) return;
    let list = this.latencies.get(kind);
    if (!list) this.latencies.set(kind, (list = []));
    list.push(ms);
  }

  request(): void {
    if (this.measuring) this.requests++;
  }

  error(what: string): void {
    if (!this.measuring) return;
    this.errors.set(what, (this.errors.get(what) ?? 0) + 1);
  }

  errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }
}

export interface LoopOptions {
  clients: number;
  warmupSeconds: number;
  seconds: number;
  /** Called at the start and the end of the measured window (round-trip counters, RSS). */
  onMeasureStart?: () => Promise<void>;
  onMeasureEnd?: () => Promise<void>;
  iteration: (client: number, rec: Recorder) => Promise<void>;
}

/** Runs the clients; returns the recorder and the measured wall time in seconds. */
export async function runLoop(opts: LoopOptions): Promise<{ rec: Recorder; seconds: number }> {
  const rec = new Recorder();
  let stopped = false;
  let started = 0;
  let ended = 0;
  const clients = Array.from({ length: opts.clients }, async (_, i) => {
    while (!stopped) {
      try {
        await opts.iteration(i, rec);
      } catch (err) {
        rec.error(err instanceof Error ? err.message : String(err));
      }
    }
  });
  const timeline = (async () => {
    await new Promise((r) => setTimeout(r, opts.warmupSeconds * 1000));
    await opts.onMeasureStart?.();
    rec.measuring = true;
    started = performance.now();
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    rec.measuring = false;
    ended = performance.now();
    await opts.onMeasureEnd?.();
    stopped = true;
  })();
  await timeline;
  await Promise.all(clients);
  return { rec, seconds: (ended - started) / 1000 };
}

/**
 * Calls made while the event loop handles one round of I/O, run together at
 * the end of that round (setImmediate), as the session lookups are
 * (session-store.ts): `many` gets the round's inputs in the order they came and
 * answers one output per input, in that order. A round smaller than `from`
 * runs `one` for each input instead, side by side; a round that reaches `max`
 * goes out at once. A failure of `many` fails every call of its round.
 */
export class RoundBatcher<I, O> {
  private waiting: Array<{ input: I; resolve(o: O): void; reject(err: unknown): void }> = [];
  private scheduled = false;

  constructor(
    private readonly opts: {
      from: number;
      max: number;
      one(input: I): Promise<O>;
      many(inputs: I[]): Promise<O[]>;
    },
  ) {}

  run(input: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (this.waiting.length >= this.opts.max) return this.flush();
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const round = this.waiting;
    if (round.length === 0) return;
    this.waiting = [];
    this.scheduled = false;
    if (round.length < this.opts.from) {
      for (const w of round) this.opts.one(w.input).then(w.resolve, w.reject);
      return;
    }
    this.opts.many(round.map((w) => w.input)).then(
      (outputs) => round.forEach((w, i) => w.resolve(outputs[i]!)),
      (err: unknown) => {
        for (const w of round) w.reject(err);
      },
    );
  }
}

/**
 * One RoundBatcher per database and setting (e.g. the attempt cap): the
 * rounds of different databases or settings never mix. `make` runs on first use.
 */
export class RoundBatchers<K, I, O> {
  private readonly byDb = new WeakMap<object, Map<K, RoundBatcher<I, O>>>();

  for(db: object, key: K, make: () => RoundBatcher<I, O>): RoundBatcher<I, O> {
    let perKey = this.byDb.get(db);
    if (!perKey) this.byDb.set(db, (perKey = new Map()));
    let batcher = perKey.get(key);
    if (!batcher) perKey.set(key, (batcher = make()));
    return batcher;
  }
}

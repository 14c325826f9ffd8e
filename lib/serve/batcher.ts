/**
 * Triton's dynamic batcher, per its documentation: requests queue in arrival order; when a model instance is free,
 * a batch of the largest preferred size that whole queued requests make is sent; failing that, the largest batch up to
 * max_batch_size once it is full or the oldest request has waited max_queue_delay. Without dynamic batching each
 * request runs alone. Requests batch together only when their non-batch dimensions agree.
 */
import { TrtnError } from '../errors.js';
import type { Feeds, TensorData } from '../engine/types.js';
import { concatRows, sliceRows } from '../engine/feeds.js';

/** Runs one batch: an engine instance's infer(). */
export type BatchRunner = (feeds: Feeds) => Promise<Record<string, TensorData>>;

export interface BatcherOptions {
  /** max_batch_size; 0: the model does not batch (requests run alone). */
  maxBatchSize: number;
  /** dynamic_batching present. */
  dynamic: boolean;
  preferredBatchSizes: readonly number[];
  maxQueueDelayMicroseconds: number;
}

interface Pending {
  feeds: Feeds;
  rows: number;
  /** Non-batch dims of every input, as a key: only equal keys batch together. */
  key: string;
  enqueued: number;
  resolve: (out: Record<string, TensorData>) => void;
  reject: (err: unknown) => void;
}

export interface BatcherStats {
  batches: number;
  requests: number;
  /** Count of batches by size (rows). */
  sizes: Record<number, number>;
}

export class DynamicBatcher {
  readonly #free: BatchRunner[];
  readonly #options: BatcherOptions;
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly stats: BatcherStats = { batches: 0, requests: 0, sizes: {} };

  /** One runner per model instance; at most that many batches run at once. */
  constructor(runners: readonly BatchRunner[], options: BatcherOptions) {
    this.#free = [...runners];
    this.#options = options;
  }

  /** Queue a request (feeds with `rows` in the batch dimension, or 1 when the model does not batch). */
  submit(feeds: Feeds, rows: number): Promise<Record<string, TensorData>> {
    return new Promise((resolve, reject) => {
      const key = Object.keys(feeds).sort().map((k) => `${k}:${feeds[k]!.dims.slice(1).join('x')}`).join(';');
      this.#queue.push({ feeds, rows, key, enqueued: performance.now(), resolve, reject });
      this.#pump();
    });
  }

  /** Requests waiting for an instance. */
  get queued(): number {
    return this.#queue.length;
  }

  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#free.length > 0 && this.#queue.length > 0) {
      const take = this.#form();
      if (take === 0) return;
      const batch = this.#queue.splice(0, take);
      void this.#run(this.#free.pop()!, batch);
    }
  }

  /** How many queued requests to send now; 0 to wait (a timer is set for the oldest's deadline). */
  #form(): number {
    const o = this.#options;
    if (!o.dynamic || o.maxBatchSize === 0) return 1;
    const head = this.#queue[0]!;
    let rows = 0;
    let n = 0;
    let best = 0; // longest prefix whose rows are a preferred size, taking the largest preferred size
    let bestSize = 0;
    for (const p of this.#queue) {
      if (p.key !== head.key || rows + p.rows > o.maxBatchSize) break;
      rows += p.rows;
      n++;
      if (o.preferredBatchSizes.includes(rows) && rows > bestSize) {
        best = n;
        bestSize = rows;
      }
    }
    if (n === 0) return 1; // a single request larger than max_batch_size cannot reach here (rejected at decode)
    if (best > 0) return best;
    const blocked = n < this.#queue.length; // the next request cannot join this batch
    if (rows === o.maxBatchSize || blocked) return n;
    const waited = (performance.now() - head.enqueued) * 1000;
    if (waited >= o.maxQueueDelayMicroseconds) return n;
    this.#timer = setTimeout(() => this.#pump(), Math.max(0, (o.maxQueueDelayMicroseconds - waited) / 1000));
    return 0;
  }

  async #run(runner: BatchRunner, batch: Pending[]): Promise<void> {
    const rows = batch.reduce((a, p) => a + p.rows, 0);
    this.stats.batches++;
    this.stats.requests += batch.length;
    this.stats.sizes[rows] = (this.stats.sizes[rows] ?? 0) + 1;
    try {
      let feeds: Feeds;
      if (batch.length === 1) feeds = batch[0]!.feeds;
      else {
        feeds = {};
        for (const name of Object.keys(batch[0]!.feeds)) feeds[name] = concatRows(batch.map((p) => p.feeds[name]!));
      }
      const out = await runner(feeds);
      if (batch.length === 1) batch[0]!.resolve(out);
      else {
        const odd = Object.entries(out).find(([, t]) => t.dims[0] !== rows);
        if (odd) throw new TrtnError('ERR_INFERENCE', `output '${odd[0]}' has ${String(odd[1].dims[0])} rows for a batch of ${rows}: the model's outputs are not batch-major, so batched requests cannot be split`, { tensor: odd[0] });
        let start = 0;
        for (const p of batch) {
          const mine: Record<string, TensorData> = {};
          for (const [name, t] of Object.entries(out)) mine[name] = sliceRows(t, start, start + p.rows);
          start += p.rows;
          p.resolve(mine);
        }
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.#free.push(runner);
      this.#pump();
    }
  }

  /** Reject every queued request (the server is closing). */
  drain(err: unknown): void {
    clearTimeout(this.#timer);
    for (const p of this.#queue.splice(0)) p.reject(err);
  }
}

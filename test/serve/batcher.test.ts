import { describe, expect, it } from 'vitest';
import { DynamicBatcher, type BatchRunner } from '../../lib/serve/batcher.js';
import type { Feeds, TensorData } from '../../lib/engine/types.js';

// A fake engine instance: y = 2x + row index within the batch, so a wrong split or order shows in the values.
function doubling(batches: number[][], gate?: Promise<void>): BatchRunner {
  return async (feeds: Feeds) => {
    const x = feeds.x!;
    batches.push([x.dims[0]!]);
    await gate;
    const y = new Float32Array(x.data.length);
    for (let i = 0; i < y.length; i++) y[i] = 2 * (x.data[i] as number);
    return { y: { data: y, dims: x.dims, dtype: 'float32' } };
  };
}

const feed = (rows: number, start: number, width = 2): Feeds => ({
  x: { data: Float32Array.from({ length: rows * width }, (_, i) => start + i), dims: [rows, width], dtype: 'float32' },
});
const values = (t: TensorData | undefined): number[] => Array.from(t!.data as Float32Array);

describe('DynamicBatcher', () => {
  it('forms the largest preferred size from whole queued requests and splits results back in order', async () => {
    const seen: number[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    // One instance, busy with the first request while six more queue behind it.
    const b = new DynamicBatcher([doubling(seen, gate)], { maxBatchSize: 8, dynamic: true, preferredBatchSizes: [2, 4], maxQueueDelayMicroseconds: 50_000 });
    const first = b.submit(feed(2, 0), 2);
    const rest = [1, 1, 2, 1, 1, 1].map((rows, i) => b.submit(feed(rows, 100 * (i + 1)), rows));
    open();
    const out = await Promise.all([first, ...rest]);
    // The first request is a preferred size alone and runs at once; behind it the queue is 1,1,2,1,1,1: the largest
    // preferred prefix is 4 (1+1+2), then 2 (1+1), then the last 1 goes alone once the queue delay has passed.
    expect(seen).toEqual([[2], [4], [2], [1]]);
    expect(values(out[1]!.y)).toEqual([200, 202]);
    expect(values(out[3]!.y)).toEqual([600, 602, 604, 606]);
    expect(out[3]!.y!.dims).toEqual([2, 2]);
    expect(b.stats.requests).toBe(7);
  }, 10_000);

  it('without preferred sizes sends as large a batch as max_batch_size allows once delay 0 has passed', async () => {
    const seen: number[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const b = new DynamicBatcher([doubling(seen, gate)], { maxBatchSize: 3, dynamic: true, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 });
    const all = [b.submit(feed(1, 0), 1), ...[1, 1, 1, 1, 1].map((r, i) => b.submit(feed(r, 10 * i), r))];
    open();
    await Promise.all(all);
    expect(seen).toEqual([[1], [3], [2]]);
  });

  it('never batches requests whose non-batch dims differ, nor when dynamic batching is off', async () => {
    const seen: number[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const b = new DynamicBatcher([doubling(seen, gate)], { maxBatchSize: 8, dynamic: true, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 });
    const all = [b.submit(feed(1, 0), 1), b.submit(feed(1, 0, 3), 1), b.submit(feed(1, 0), 1), b.submit(feed(1, 0), 1)];
    open();
    const out = await Promise.all(all);
    expect(seen).toEqual([[1], [1], [2]]);
    expect(out[1]!.y!.dims).toEqual([1, 3]);

    const alone: number[][] = [];
    const off = new DynamicBatcher([doubling(alone)], { maxBatchSize: 8, dynamic: false, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 });
    await Promise.all([1, 2, 1].map((r) => off.submit(feed(r, 0), r)));
    expect(alone).toEqual([[1], [2], [1]]);
  });

  it('runs one batch per instance at a time and rejects every request of a failed batch', async () => {
    let running = 0;
    let peak = 0;
    const slow: BatchRunner = async (feeds) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if ((feeds.x!.data[0] as number) < 0) throw new Error('engine failed');
      return { y: feeds.x! };
    };
    const b = new DynamicBatcher([slow, slow], { maxBatchSize: 0, dynamic: false, preferredBatchSizes: [], maxQueueDelayMicroseconds: 0 });
    const results = await Promise.allSettled([feed(1, 0), feed(1, -5), feed(1, 1), feed(1, 2)].map((f) => b.submit(f, 1)));
    expect(peak).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });

  it('refuses to split outputs that are not batch-major', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const pooled: BatchRunner = async () => {
      await gate;
      return { s: { data: new Float32Array([1]), dims: [1], dtype: 'float32' } };
    };
    const b = new DynamicBatcher([pooled], { maxBatchSize: 4, dynamic: true, preferredBatchSizes: [2], maxQueueDelayMicroseconds: 0 });
    const first = b.submit(feed(1, 0), 1);
    const pair = [b.submit(feed(1, 0), 1), b.submit(feed(1, 0), 1)];
    open();
    await first;
    for (const r of await Promise.allSettled(pair)) expect(r.status === 'rejected' && String(r.reason)).toMatch(/not batch-major/);
  });
});

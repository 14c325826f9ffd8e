import { describe, expect, it } from 'vitest';
import { ItemDataset, subset, type ItemStore } from '../../lib/data/dataset.js';
import { synthetic } from '../../lib/data/synthetic.js';
import { fashionMnist } from '../../lib/data/fashion-mnist.js';
import { collect, rejection, thrown } from './helpers.js';

/** Ten 1x1x2 items whose values are (i, i + 0.5), labels i % 3 (so rows can be traced). */
function numbered(count = 10, extra: Partial<ItemStore> = {}): ItemDataset {
  return new ItemDataset({
    name: 'numbered',
    store: { format: { channels: 1, height: 1, width: 2, layout: 'CHW', dtype: 'float32' }, length: count, get: (i) => Float32Array.from([i, i + 0.5]), ...extra },
    labels: Int32Array.from({ length: count }, (_, i) => i % 3),
  });
}

const ids = (batches: { feeds: Record<string, { data: ArrayLike<number> }> }[]) =>
  batches.map((b) => Array.from(b.feeds.input!.data).filter((_, k) => k % 2 === 0));

describe('batching', () => {
  it('batches in order with a short last batch; dims and labels follow', async () => {
    const batches = await collect(numbered().batches({ batchSize: 4 }));
    expect(ids(batches)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches[2]!.feeds.input!.dims).toEqual([2, 1, 1, 2]);
    expect(Array.from(batches[2]!.labels!)).toEqual([2, 0]);
  });

  it('dropLast drops the partial batch; padLast repeats its last item and keeps real labels', async () => {
    expect(ids(await collect(numbered().batches({ batchSize: 4, dropLast: true })))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    const padded = await collect(numbered().batches({ batchSize: 4, padLast: true }));
    expect(ids(padded)[2]).toEqual([8, 9, 9, 9]);
    expect(padded[2]!.feeds.input!.dims).toEqual([4, 1, 1, 2]);
    expect(Array.from(padded[2]!.labels!)).toEqual([2, 0]);
    expect(thrown(() => numbered().batches({ dropLast: true, padLast: true })).code).toBe('ERR_INVALID_ARG');
  });

  it('limit stops after that many items; inputName names the feed', async () => {
    const batches = await collect(numbered().batches({ batchSize: 4, limit: 6, inputName: 'x' }));
    expect(batches.map((b) => b.feeds.x!.dims[0])).toEqual([4, 2]);
    expect(await collect(numbered().batches({ limit: 0 }))).toEqual([]);
  });

  it('shuffle is a permutation, the same for the same seed and different for another', async () => {
    const order = async (seed: number) => ids(await collect(numbered(10).batches({ batchSize: 10, shuffle: true, seed })))[0]!;
    const a = await order(1);
    expect(await order(1)).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(a).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await order(2)).not.toEqual(a);
    // labels travel with their items
    const [b] = await collect(numbered(10).batches({ batchSize: 10, shuffle: true, seed: 1 }));
    expect(Array.from(b!.labels!)).toEqual(a.map((i) => i % 3));
  });

  it('bad options are ERR_INVALID_ARG', () => {
    for (const bad of [{ batchSize: 0 }, { batchSize: 1.5 }, { limit: -1 }, { prefetch: -2 }, { seed: 0.5 }, { inputName: '' }]) {
      expect(thrown(() => numbered().batches(bad as never)).code).toBe('ERR_INVALID_ARG');
    }
  });
});

describe('prefetch', () => {
  /** A store that counts reads, to see how far the producer runs ahead. */
  function counting(count: number) {
    const state = { reads: 0 };
    const ds = new ItemDataset({
      name: 'counting',
      store: {
        format: { channels: 1, height: 1, width: 1, layout: 'CHW', dtype: 'float32' },
        length: count,
        get: (i) => {
          state.reads++;
          return Float32Array.of(i);
        },
      },
    });
    return { ds, state };
  }

  it('keeps order and never builds more than `prefetch` batches ahead of a slow consumer', async () => {
    for (const depth of [1, 3]) {
      const { ds, state } = counting(40);
      const seen: number[] = [];
      let consumed = 0;
      let maxAhead = 0;
      for await (const batch of ds.batches({ batchSize: 2, prefetch: depth })) {
        consumed++;
        await new Promise((r) => setTimeout(r, 5)); // slow consumer: the producer has time to run ahead
        maxAhead = Math.max(maxAhead, state.reads / 2 - consumed);
        seen.push(...Array.from(batch.feeds.input!.data));
      }
      expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(maxAhead).toBe(depth); // it did run ahead, and never further
    }
  });

  it('an abort signal stops the iteration with ERR_ABORTED and the producer stops reading', async () => {
    const { ds, state } = counting(1000);
    const controller = new AbortController();
    let got = 0;
    const err = await rejection(
      (async () => {
        for await (const _ of ds.batches({ batchSize: 2, prefetch: 2, signal: controller.signal })) {
          if (++got === 3) controller.abort();
          await new Promise((r) => setTimeout(r, 1));
        }
      })(),
    );
    expect(err.code).toBe('ERR_ABORTED');
    const readsAtAbort = state.reads;
    await new Promise((r) => setTimeout(r, 20));
    expect(state.reads).toBe(readsAtAbort);
    expect(readsAtAbort).toBeLessThanOrEqual((3 + 2 + 1) * 2);
  });

  it('a producer error reaches the consumer after the good batches, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (const prefetch of [0, 2]) {
        const ds = numbered(10, {
          get: (i) => {
            if (i === 5) throw new Error('disk on fire');
            return Float32Array.from([i, i + 0.5]);
          },
        });
        const got: number[][] = [];
        const err = await rejection(
          (async () => {
            for await (const b of ds.batches({ batchSize: 2, prefetch })) got.push(...ids([b]));
          })(),
        );
        expect(err.code).toBe('ERR_DATA');
        expect(err.message).toMatch(/numbered: batch 2 could not be loaded: disk on fire/);
        expect(err.details.batch).toBe(2);
        expect(got).toEqual([[0, 1], [2, 3]]);
      }
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an asynchronous store loads ahead in parallel, keeps order and refills skipped items', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const ds = numbered(12, {
      get: undefined,
      concurrency: 3,
      load: async (i) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, (i * 7) % 5)); // finish out of order
        inFlight--;
        return i === 4 ? null : Float32Array.from([i, i + 0.5]);
      },
    });
    const batches = await collect(ds.batches({ batchSize: 4 }));
    expect(ids(batches)).toEqual([[0, 1, 2, 3], [5, 6, 7, 8], [9, 10, 11]]);
    expect(Array.from(batches[1]!.labels!)).toEqual([2, 0, 1, 2]);
    expect(maxInFlight).toBe(3);
  });
});

describe('prefetch with an asynchronous store', () => {
  it('loads stay bounded by prefetch and concurrency for a slow consumer; abort with loads in flight rejects nothing unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let started = 0;
      const ds = numbered(10000, {
        get: undefined,
        concurrency: 4,
        load: async (i) => {
          started++;
          await new Promise((r) => setTimeout(r, 1));
          if (i > 60) throw new Error('late failure that nobody should see');
          return Float32Array.from([i, i + 0.5]);
        },
      });
      const controller = new AbortController();
      let consumed = 0;
      let worst = 0;
      const err = await rejection(
        (async () => {
          for await (const _ of ds.batches({ batchSize: 8, prefetch: 2, signal: controller.signal })) {
            consumed++;
            await new Promise((r) => setTimeout(r, 15));
            worst = Math.max(worst, started - (consumed + 2 + 1) * 8);
            if (consumed === 5) controller.abort();
          }
        })(),
      );
      expect(err.code).toBe('ERR_ABORTED');
      expect(worst).toBeLessThanOrEqual(4); // never more than `concurrency` loads beyond the allowed batches
      expect(started).toBeLessThan(64);
      await new Promise((r) => setTimeout(r, 30));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('subset', () => {
  it('stratified: an equal share per label, deterministic per seed', async () => {
    const ds = await fashionMnist({ split: 'test' });
    const calib = subset(ds, 500, { stratified: true, seed: 7 });
    expect(calib.length).toBe(500);
    const histogram = new Array(10).fill(0);
    for (const l of calib.labels!) histogram[l]++;
    expect(histogram).toEqual(new Array(10).fill(50));
    const again = subset(ds, 500, { seed: 7 });
    expect(Array.from(again.labels!)).toEqual(Array.from(calib.labels!));
    const [a] = await collect(calib.batches({ batchSize: 500 }));
    const [b] = await collect(again.batches({ batchSize: 500 }));
    expect(a!.feeds.input!.data).toEqual(b!.feeds.input!.data);
    const other = subset(ds, 500, { seed: 8 });
    const [c] = await collect(other.batches({ batchSize: 500 }));
    expect(c!.feeds.input!.data).not.toEqual(a!.feeds.input!.data);
  });

  it('remainders go to the lowest labels; a short class is filled from the others; a subset of a subset maps through', async () => {
    const ds = numbered(10); // labels 0,1,2,0,1,2,0,1,2,0: counts 4,3,3
    const histogram = (d: ItemDataset) => [0, 1, 2].map((k) => Array.from(d.labels!).filter((l) => l === k).length);
    expect(histogram(subset(ds, 5))).toEqual([2, 2, 1]);
    expect(histogram(subset(ds, 10))).toEqual([4, 3, 3]);
    const inner = subset(ds, 6, { seed: 3 });
    const innerIds = ids(await collect(inner.batches({ batchSize: 6 })))[0]!;
    const nested = subset(inner, 3, { seed: 3 });
    const nestedIds = ids(await collect(nested.batches({ batchSize: 3 })))[0]!;
    expect(nestedIds.every((i) => innerIds.includes(i))).toBe(true);
    expect(histogram(nested)).toEqual([1, 1, 1]);
    expect(thrown(() => subset(ds, 11)).code).toBe('ERR_INVALID_ARG');
  });

  it('without labels: a seeded random sample', async () => {
    const ds = synthetic({ shape: [1, 2, 2], count: 20, seed: 1 });
    const s = subset(ds, 5, { seed: 4 });
    expect(s.length).toBe(5);
    expect(s.labels).toBeUndefined();
    const [x] = await collect(s.batches({ batchSize: 5 }));
    const [y] = await collect(subset(ds, 5, { seed: 4 }).batches({ batchSize: 5 }));
    expect(x!.feeds.input!.data).toEqual(y!.feeds.input!.data);
  });
});

describe('synthetic', () => {
  it('is deterministic per (seed, index) whatever the order, uniform in [0,1), normal around 0 with std 1', async () => {
    const ds = synthetic({ shape: [3, 8, 8], count: 64, seed: 42 });
    const [plain] = await collect(ds.batches({ batchSize: 64 }));
    const [shuffled] = await collect(ds.batches({ batchSize: 64, shuffle: true, seed: 5 }));
    const x = plain!.feeds.input!.data as Float32Array;
    expect(x.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(x).size).toBeGreaterThan(x.length * 0.99);
    // every shuffled item equals one plain item exactly
    const rows = (a: Float32Array) => Array.from({ length: 64 }, (_, i) => a.subarray(i * 192, i * 192 + 192).join(','));
    expect(new Set(rows(shuffled!.feeds.input!.data as Float32Array))).toEqual(new Set(rows(x)));
    const normal = synthetic({ shape: [1, 100, 100], count: 4, seed: 1, distribution: 'normal' });
    const [n] = await collect(normal.batches({ batchSize: 4 }));
    const v = n!.feeds.input!.data as Float32Array;
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(Math.sqrt(variance) - 1)).toBeLessThan(0.03);
    expect(thrown(() => synthetic({ shape: [0, 2, 2] })).code).toBe('ERR_INVALID_ARG');
  });
});

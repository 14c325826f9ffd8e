import { describe, expect, it } from 'vitest';
import { toBatches, normalizeBatch } from '../../lib/data/source.js';
import { synthetic } from '../../lib/data/synthetic.js';
import type { Feeds } from '../../lib/data/types.js';
import { collect, rejection, thrown } from './helpers.js';

const feeds = (rows: number, start = 0): Feeds => ({
  input: { data: Float32Array.from({ length: rows * 2 }, (_, i) => start + i), dims: [rows, 2], dtype: 'float32' },
});

describe('toBatches', () => {
  it('a Dataset: batch size, input name and limit are applied', async () => {
    const batches = await collect(toBatches(synthetic({ shape: [1, 2, 2], count: 10 }), { batchSize: 4, inputName: 'images', limit: 9 }));
    expect(batches.map((b) => b.feeds.images!.dims)).toEqual([[4, 1, 2, 2], [4, 1, 2, 2], [1, 1, 2, 2]]);
  });

  it('arrays, generators and async generators of feeds or batches pass through validated', async () => {
    const fromArray = await collect(toBatches([feeds(2), feeds(2, 4)]));
    expect(fromArray.map((b) => Array.from(b.feeds.input!.data))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    function* gen() {
      yield { feeds: feeds(3), labels: Int32Array.from([1, 2, 3]) };
    }
    const [withLabels] = await collect(toBatches(gen()));
    expect(Array.from(withLabels!.labels!)).toEqual([1, 2, 3]);
    async function* agen() {
      yield feeds(1).input!; // a bare tensor is keyed by inputName
    }
    const [bare] = await collect(toBatches(agen(), { inputName: 'x' }));
    expect(Object.keys(bare!.feeds)).toEqual(['x']);
  });

  it('limit cuts a batch that crosses it, and stops pulling from the source', async () => {
    let pulled = 0;
    function* gen() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield { feeds: feeds(3, i * 6), labels: Int32Array.from([i, i, i]) };
      }
    }
    const batches = await collect(toBatches(gen(), { limit: 7 }));
    expect(batches.map((b) => b.feeds.input!.dims[0])).toEqual([3, 3, 1]);
    expect(Array.from(batches[2]!.feeds.input!.data)).toEqual([12, 13]);
    expect(Array.from(batches[2]!.labels!)).toEqual([2]);
    expect(pulled).toBe(3);
  });

  it('an item that is not feeds or a batch is ERR_DATA with its batch index', async () => {
    const cases: [unknown, RegExp][] = [
      [42, /batch 1 .*expected feeds/],
      [{ input: { data: [1, 2], dims: [2], dtype: 'float32' } }, /feed 'input': data is not a typed array/],
      [{ input: { data: new Float32Array(3), dims: [2, 2], dtype: 'float32' } }, /dims \[2, 2\] need 4 values but data has 3/],
      [{ input: { data: new Int32Array(2), dims: [2], dtype: 'float32' } }, /dtype float32 needs a Float32Array but data is a Int32Array/],
      [{ feeds: feeds(2), labels: [1, 2] }, /labels must be an Int32Array/],
      [{ a: feeds(2).input, b: feeds(3).input }, /feed 'b' has 3 rows but another feed has 2/],
      [{}, /no feeds/],
    ];
    for (const [bad, message] of cases) {
      const err = await rejection(collect(toBatches([feeds(1), bad as Feeds])));
      expect(err.code).toBe('ERR_DATA');
      expect(err.details.batch).toBe(1);
      expect(err.message).toMatch(message);
    }
  });

  it('a loader that throws is ERR_DATA with the batch index and the cause kept', async () => {
    const cause = new Error('network share vanished');
    async function* flaky() {
      yield feeds(1);
      yield feeds(1);
      throw cause;
    }
    const err = await rejection(collect(toBatches(flaky())));
    expect(err.code).toBe('ERR_DATA');
    expect(err.details.batch).toBe(2);
    expect(err.message).toMatch(/batch 2: network share vanished/);
    expect(err.cause).toBe(cause);
  });

  it('abort stops with ERR_ABORTED and closes the source', async () => {
    const controller = new AbortController();
    let closed = false;
    function* gen() {
      try {
        for (;;) yield feeds(1);
      } finally {
        closed = true;
      }
    }
    const err = await rejection(
      (async () => {
        let n = 0;
        for await (const _ of toBatches(gen(), { signal: controller.signal })) if (++n === 2) controller.abort();
      })(),
    );
    expect(err.code).toBe('ERR_ABORTED');
    expect(closed).toBe(true);
  });

  it('a source that is not iterable is ERR_INVALID_ARG', () => {
    expect(thrown(() => toBatches(42 as never)).code).toBe('ERR_INVALID_ARG');
    expect(thrown(() => toBatches({ foo: 1 } as never)).code).toBe('ERR_INVALID_ARG');
    expect(normalizeBatch(feeds(2), 0).feeds.input!.dims).toEqual([2, 2]);
  });
});

import { describe, it, expect } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Lifecycle } from '../../lib/engine/lifecycle.js';
import { TrtnError } from '../../lib/errors.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A resource owner in the shape the backends use: methods tracked, dispose deferred, Symbol.dispose mapped. */
class Holder {
  readonly life: Lifecycle;
  constructor(freed: string[], name = 'holder') {
    this.life = new Lifecycle(`test ${name}`, () => void freed.push(name));
    this.life.finalizeWith(this);
  }
  work<T>(p: Promise<T>): Promise<T> {
    return this.life.track('work', () => p);
  }
  dispose(): void {
    this.life.dispose();
  }
  [Symbol.dispose](): void {
    this.life.dispose();
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.life.disposeAsync();
  }
}

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('Lifecycle', () => {
  it('throws ERR_DISPOSED naming the object and method after dispose, and releases once', async () => {
    const freed: string[] = [];
    const h = new Holder(freed, 'a');
    await expect(h.work(Promise.resolve(1))).resolves.toBe(1);
    h.dispose();
    h.dispose();
    await h.life.released;
    expect(freed).toEqual(['a']);
    await expect(h.work(Promise.resolve(2))).rejects.toMatchObject({ code: 'ERR_DISPOSED', details: { operation: 'work' } });
    const err = await h.work(Promise.resolve(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrtnError);
    expect((err as Error).message).toContain('test a');
  });

  it('defers the release until every in-flight call has settled', async () => {
    const freed: string[] = [];
    const h = new Holder(freed, 'b');
    const first = deferred<number>();
    const second = deferred<number>();
    const p1 = h.work(first.promise);
    const p2 = h.work(second.promise);
    expect(h.life.inFlight).toBe(2);
    h.dispose();
    expect(h.life.disposed).toBe(true);
    first.resolve(1);
    await expect(p1).resolves.toBe(1);
    expect(freed).toEqual([]); // second call still uses the resource
    second.resolve(2);
    await expect(p2).resolves.toBe(2);
    await h.life.released;
    expect(freed).toEqual(['b']);
  });

  it('disposeAsync waits for in-flight calls and the release; a failing release rejects it', async () => {
    const order: string[] = [];
    const gate = deferred<void>();
    const life = new Lifecycle('slow', async () => {
      order.push('release');
    });
    const call = life.track('infer', async () => {
      await gate.promise;
      order.push('call');
    });
    const done = life.disposeAsync().then(() => order.push('disposed'));
    gate.resolve();
    await Promise.all([call, done]);
    expect(order).toEqual(['call', 'release', 'disposed']);

    const logged: string[] = [];
    const bad = new Lifecycle('broken', () => {
      throw new Error('device lost');
    }, { logger: (_s, m) => logged.push(m) });
    await expect(bad.disposeAsync()).rejects.toThrow('device lost');
    expect(logged[0]).toContain('releasing broken failed: device lost');
  });

  it('using / await using dispose at block end', async () => {
    const freed: string[] = [];
    {
      using h = new Holder(freed, 'sync');
      expect(h.life.disposed).toBe(false);
    }
    {
      await using h = new Holder(freed, 'async');
      await h.work(Promise.resolve(0));
    }
    expect(freed).toEqual(['sync', 'async']);
  });

  it('a finalizer releases an object the user forgot to dispose', async () => {
    const freed: string[] = [];
    (() => {
      new Holder(freed, 'forgotten');
    })();
    for (let i = 0; i < 20 && freed.length === 0; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(freed).toEqual(['forgotten']);
  });

  it('a disposed object is not released again by its finalizer', async () => {
    const freed: string[] = [];
    (() => {
      const h = new Holder(freed, 'once');
      h.dispose();
    })();
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(freed).toEqual(['once']);
  });
});

import { TrtnError } from '../errors.js';

/**
 * Run `next` ahead of the consumer with a bounded queue: a batch is started only while fewer than `depth`
 * finished batches wait unconsumed, so at most `depth` batches are held (plus the one being built).
 * A producer error reaches the consumer after the batches made before it; an abort or the consumer leaving
 * the loop stops the producer. depth 0 builds each batch on demand.
 */
export async function* prefetch<T>(
  next: () => Promise<T | null>,
  depth: number,
  signal: AbortSignal | undefined,
  abortError: () => TrtnError,
): AsyncGenerator<T, void, undefined> {
  if (depth === 0) {
    for (;;) {
      if (signal?.aborted) throw abortError();
      const value = await next();
      if (signal?.aborted) throw abortError();
      if (value === null) return;
      yield value;
    }
  }
  if (signal?.aborted) throw abortError();
  const queue: T[] = [];
  let produced = 0;
  let consumed = 0;
  let done = false;
  let failure: { error: unknown } | null = null;
  let stopped = false;
  let wakeConsumer: (() => void) | null = null;
  let wakeProducer: (() => void) | null = null;
  const notifyConsumer = () => {
    const wake = wakeConsumer;
    wakeConsumer = null;
    wake?.();
  };
  const notifyProducer = () => {
    const wake = wakeProducer;
    wakeProducer = null;
    wake?.();
  };
  const onAbort = () => {
    stopped = true;
    notifyProducer();
    notifyConsumer();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  const produce = async () => {
    while (!stopped) {
      if (produced - consumed >= depth) {
        await new Promise<void>((resolve) => (wakeProducer = resolve));
        continue;
      }
      const value = await next();
      if (value === null || stopped) return;
      queue.push(value);
      produced++;
      notifyConsumer();
    }
  };
  // Both outcomes are handled here, so a failing producer never becomes an unhandled rejection.
  void produce().then(
    () => {
      done = true;
      notifyConsumer();
    },
    (error: unknown) => {
      failure = { error };
      notifyConsumer();
    },
  );

  try {
    for (;;) {
      if (signal?.aborted) throw abortError();
      if (queue.length > 0) {
        const value = queue.shift()!;
        consumed++;
        notifyProducer();
        yield value;
        continue;
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (done) return;
      await new Promise<void>((resolve) => (wakeConsumer = resolve));
    }
  } finally {
    stopped = true;
    notifyProducer();
    signal?.removeEventListener('abort', onAbort);
  }
}

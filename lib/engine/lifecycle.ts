/**
 * Dispose / in-flight tracking shared by both backends, so an Engine (or any object holding native or worker
 * resources) behaves the same whichever runtime is behind it:
 * - a disposed object throws ERR_DISPOSED from every method;
 * - dispose() never frees what an in-flight call still uses: the release is deferred until the last one ends;
 * - Symbol.dispose / Symbol.asyncDispose (`using` / `await using`) map onto dispose() / disposeAsync();
 * - a finalizer releases what the user forgot to dispose (FinalizationRegistry; best effort, as GC decides when).
 */
import { TrtnError } from '../errors.js';
import type { Logger } from './types.js';

/** Frees the resources; must not reference the owner object (or the finalizer could never run). */
export type Release = () => void | Promise<void>;

export interface LifecycleOptions {
  /** Where a failure of a deferred or finalizer-run release is reported (it has no caller to throw to). */
  logger?: Logger;
}

// One registry per JS environment (module instance): a worker thread gets its own, nothing is process-wide.
const finalizers = new FinalizationRegistry<Lifecycle>((lifecycle) => lifecycle.finalize());

export class Lifecycle {
  readonly #what: string;
  readonly #release: Release;
  readonly #logger: Logger | undefined;
  #disposed = false;
  #inFlight = 0;
  #releasing: Promise<void> | undefined;
  #resolveReleased!: () => void;
  #rejectReleased!: (err: unknown) => void;
  /** Settles when the resources have been freed (or their release failed). */
  readonly released: Promise<void>;
  // A flag, not the owner: the registry's held value (this) must not keep the owner alive.
  #registered = false;

  /** `what` names the object in ERR_DISPOSED messages, e.g. "engine 'fmnist_cnn' (onnxruntime, int8)". */
  constructor(what: string, release: Release, options: LifecycleOptions = {}) {
    this.#what = what;
    this.#release = release;
    this.#logger = options.logger;
    this.released = new Promise<void>((resolve, reject) => {
      this.#resolveReleased = resolve;
      this.#rejectReleased = reject;
    });
    // Nobody may be awaiting `released`; an unobserved rejection must not crash the process.
    this.released.catch(() => undefined);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** Calls currently inside track(). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Throw ERR_DISPOSED when disposed; `operation` names the method called. */
  assertLive(operation: string): void {
    if (this.#disposed) {
      throw new TrtnError('ERR_DISPOSED', `${operation}() called on ${this.#what} after dispose()`, { operation });
    }
  }

  /**
   * Run `fn` as an in-flight call: checked live first, and counted so that a dispose() meanwhile defers the
   * release until `fn` settles.
   */
  async track<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.assertLive(operation);
    this.#inFlight++;
    try {
      return await fn();
    } finally {
      this.#inFlight--;
      if (this.#disposed && this.#inFlight === 0) void this.#startRelease();
    }
  }

  /**
   * Let a finalizer release the resources if `owner` is garbage-collected undisposed. Call once, from the owner's
   * constructor; the release closure must not reference `owner`.
   */
  finalizeWith(owner: object): void {
    finalizers.register(owner, this, this);
    this.#registered = true;
  }

  /** Mark disposed now; free at once when idle, else when the last in-flight call ends. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#registered) finalizers.unregister(this);
    this.#registered = false;
    if (this.#inFlight === 0) void this.#startRelease();
  }

  /** dispose(), then wait until the resources are actually freed (after in-flight calls end). */
  async disposeAsync(): Promise<void> {
    this.dispose();
    await this.released;
  }

  /** Called by the FinalizationRegistry: the owner is gone, so nothing can be in flight. */
  finalize(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    void this.#startRelease();
  }

  #startRelease(): Promise<void> {
    if (this.#releasing) return this.#releasing;
    this.#releasing = (async () => {
      try {
        await this.#release();
        this.#resolveReleased();
      } catch (err) {
        this.#logger?.('error', `releasing ${this.#what} failed: ${(err as Error)?.message ?? String(err)}`);
        this.#rejectReleased(err);
      }
    })();
    return this.#releasing;
  }
}

/**
 * The one Dataset implementation every built-in source shares: an item store (in memory or loaded per file)
 * plus a compiled transform pipeline. Batching, shuffling, limits, padding and prefetch live here once.
 */
import { TrtnError, asTrtnError } from '../errors.js';
import { invalid, is } from '../engine/options.js';
import type { DType, TensorData } from '../engine/types.js';
import { prefetch } from './prefetch.js';
import { createRandom, shuffleInPlace } from './random.js';
import { TransformPipeline, type ItemFormat, type TransformStep } from './transforms.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

export type RawItem = Uint8Array | Float32Array;

/** Where a dataset's items come from, before transforms. */
export interface ItemStore {
  readonly format: ItemFormat;
  readonly length: number;
  /** Zero-copy access for in-memory stores. */
  get?(index: number): RawItem;
  /** Items start..start+count-1 as one contiguous array, where the store holds them that way. */
  getRun?(start: number, count: number): RawItem;
  /** Asynchronous load (files); null means the item was skipped (a warning has been given). */
  load?(index: number): Promise<RawItem | null>;
  /** Loads kept in flight ahead of batch assembly, for stores with `load`. */
  readonly concurrency?: number;
}

export interface DatasetInit {
  name: string;
  store: ItemStore;
  transforms?: readonly TransformStep[];
  /** Labels per store item. */
  labels?: Int32Array;
  classes?: readonly string[];
  /** Store indices this dataset covers (a subset view); default all. */
  indices?: Int32Array;
}

export const DEFAULT_BATCH_SIZE = 32;

interface ResolvedBatchOptions {
  batchSize: number;
  shuffle: boolean;
  seed: number;
  dropLast: boolean;
  padLast: boolean;
  limit: number;
  prefetch: number;
  inputName: string;
  signal?: AbortSignal;
}

export function resolveBatchOptions(options: BatchOptions = {}, defaultPrefetch = 0): ResolvedBatchOptions {
  if (!is.object(options as unknown)) throw invalid('batch options', 'an object', options);
  const o: BatchOptions = options;
  if (o.batchSize !== undefined && !is.posInt(o.batchSize)) throw invalid('batchSize', 'a positive integer', o.batchSize);
  if (o.seed !== undefined && !Number.isInteger(o.seed)) throw invalid('seed', 'an integer', o.seed);
  if (o.limit !== undefined && !is.nonNegInt(o.limit)) throw invalid('limit', 'a non-negative integer', o.limit);
  if (o.prefetch !== undefined && !is.nonNegInt(o.prefetch)) throw invalid('prefetch', 'a non-negative integer', o.prefetch);
  if (o.inputName !== undefined && !is.string(o.inputName)) throw invalid('inputName', 'a non-empty string', o.inputName);
  if (o.dropLast && o.padLast) throw new TrtnError('ERR_INVALID_ARG', 'dropLast and padLast cannot both be set');
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw invalid('signal', 'an AbortSignal', o.signal);
  return {
    batchSize: o.batchSize ?? DEFAULT_BATCH_SIZE,
    shuffle: o.shuffle ?? false,
    seed: o.seed ?? 0,
    dropLast: o.dropLast ?? false,
    padLast: o.padLast ?? false,
    limit: o.limit ?? Infinity,
    prefetch: o.prefetch ?? defaultPrefetch,
    inputName: o.inputName ?? 'input',
    signal: o.signal,
  };
}

export function abortedError(what: string): TrtnError {
  return new TrtnError('ERR_ABORTED', `${what}: loading was aborted`);
}

export class ItemDataset implements Dataset {
  readonly kind = 'dataset' as const;
  readonly name: string;
  readonly length: number;
  readonly itemShape: readonly number[];
  readonly dtype: DType;
  readonly labels?: Int32Array;
  readonly classes?: readonly string[];
  readonly pipeline: TransformPipeline;
  readonly #store: ItemStore;
  readonly #storeLabels?: Int32Array;
  readonly #indices: Int32Array | null;

  constructor(init: DatasetInit) {
    this.name = init.name;
    this.#store = init.store;
    this.#indices = init.indices ?? null;
    this.pipeline = new TransformPipeline(init.store.format, init.transforms ?? []);
    this.itemShape = this.pipeline.itemShape;
    this.dtype = this.pipeline.tensorDType;
    this.length = this.#indices ? this.#indices.length : init.store.length;
    if (init.labels) {
      if (init.labels.length !== init.store.length) {
        throw new TrtnError('ERR_DATA', `${init.name}: ${init.labels.length} labels for ${init.store.length} items`, {
          labels: init.labels.length,
          items: init.store.length,
        });
      }
      this.#storeLabels = init.labels;
      this.labels = this.#indices ? this.#indices.map((i) => init.labels![i]!) : init.labels;
    }
    if (init.classes) this.classes = init.classes;
  }

  /** A dataset over positions of this one (0..length-1), e.g. a calibration subset. */
  select(positions: ArrayLike<number>, name = `${this.name} (subset of ${positions.length})`): ItemDataset {
    const indices = new Int32Array(positions.length);
    for (let i = 0; i < positions.length; i++) {
      const p = positions[i]!;
      if (!Number.isInteger(p) || p < 0 || p >= this.length) throw invalid('subset position', `an integer in 0..${this.length - 1}`, p);
      indices[i] = this.#indices ? this.#indices[p]! : p;
    }
    return new ItemDataset({ name, store: this.#store, transforms: this.pipeline.steps, labels: this.#storeLabels, classes: this.classes, indices });
  }

  /** The same items through other transforms. */
  withTransforms(transforms: readonly TransformStep[]): ItemDataset {
    return new ItemDataset({ name: this.name, store: this.#store, transforms, labels: this.#storeLabels, classes: this.classes, indices: this.#indices ?? undefined });
  }

  batches(options: BatchOptions = {}): AsyncIterable<Batch> {
    const o = resolveBatchOptions(options, this.#store.load ? 2 : 0);
    const next = this.#batchMaker(o);
    let batchIndex = 0;
    const guarded = async (): Promise<Batch | null> => {
      const k = batchIndex++;
      try {
        return await next();
      } catch (err) {
        throw asTrtnError(err, 'ERR_DATA', `${this.name}: batch ${k} could not be loaded`, { batch: k });
      }
    };
    return { [Symbol.asyncIterator]: () => prefetch(guarded, o.prefetch, o.signal, () => abortedError(this.name)) };
  }

  #order(o: ResolvedBatchOptions): Int32Array {
    const order = this.#indices ? Int32Array.from(this.#indices) : Int32Array.from({ length: this.length }, (_, i) => i);
    return o.shuffle ? shuffleInPlace(order, createRandom(o.seed)) : order;
  }

  /** A function that builds the next batch each call, or null at the end. */
  #batchMaker(o: ResolvedBatchOptions): () => Promise<Batch | null> {
    const store = this.#store;
    const pipeline = this.pipeline;
    const size = pipeline.itemSize;
    const labels = this.#storeLabels;
    const order = this.#order(o);
    const wanted = Math.min(o.limit, order.length);
    let cursor = 0;
    let delivered = 0;

    const finish = (data: Float32Array | Uint16Array | Uint8Array, count: number, batchLabels: Int32Array | undefined): Batch | null => {
      if (count === 0 || (count < o.batchSize && o.dropLast)) return null;
      let rows = count;
      if (count < o.batchSize) {
        if (o.padLast) {
          for (let j = count; j < o.batchSize; j++) data.copyWithin(j * size, (count - 1) * size, count * size);
          rows = o.batchSize;
        } else {
          data = data.slice(0, count * size);
        }
      }
      const tensor: TensorData = { data, dims: [rows, ...pipeline.itemShape], dtype: pipeline.tensorDType };
      const batch: Batch = { feeds: { [o.inputName]: tensor } };
      if (batchLabels) batch.labels = batchLabels.length === count ? batchLabels : batchLabels.slice(0, count);
      return batch;
    };

    if (store.get) {
      const get = store.get.bind(store);
      const getRun = store.getRun && pipeline.flatRuns ? store.getRun.bind(store) : null;
      return async () => {
        const count = Math.min(o.batchSize, wanted - delivered);
        if (count <= 0) return null;
        // Every slot is written below (items, then padding or a slice), so the buffer need not be zeroed.
        const data = pipeline.allocateUninitialized(o.batchSize);
        const batchLabels = labels ? new Int32Array(count) : undefined;
        for (let j = 0; j < count; ) {
          const index = order[cursor + j]!;
          // Consecutive items go through the hot loop as one flat run when the store and the pipeline allow it.
          let run = 1;
          if (getRun) while (j + run < count && order[cursor + j + run] === index + run) run++;
          if (run > 1) pipeline.applyRun(getRun!(index, run), run, data, j * size);
          else pipeline.apply(get(index), data, j * size);
          if (batchLabels) for (let r = 0; r < run; r++) batchLabels[j + r] = labels![index + r]!;
          j += run;
        }
        cursor += count;
        delivered += count;
        return finish(data, count, batchLabels);
      };
    }

    // Asynchronous store: keep `concurrency` loads in flight across batch boundaries; skipped items are
    // replaced by the next ones in order, so batches stay full.
    const load = store.load!.bind(store);
    const concurrency = Math.max(1, store.concurrency ?? 4);
    const pending: { index: number; item: Promise<RawItem | null> }[] = [];
    const refill = () => {
      while (pending.length < concurrency && cursor < order.length && delivered + pending.length < wanted + concurrency) {
        const index = order[cursor++]!;
        const item = load(index);
        item.catch(() => undefined); // a load abandoned after a stop must not become an unhandled rejection
        pending.push({ index, item });
      }
    };
    return async () => {
      if (delivered >= wanted) return null;
      const data = pipeline.allocate(o.batchSize);
      const batchLabels = labels ? new Int32Array(o.batchSize) : undefined;
      let count = 0;
      while (count < o.batchSize && delivered < wanted) {
        refill();
        const head = pending.shift();
        if (!head) break;
        const item = await head.item;
        // Let timers and I/O run between items: a consumer whose batch is already queued gets it at once
        // instead of waiting for this whole batch to be assembled in one turn of the event loop.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (item === null) continue;
        pipeline.apply(item, data, count * size);
        if (batchLabels) batchLabels[count] = labels![head.index]!;
        count++;
        delivered++;
      }
      refill();
      return finish(data, count, batchLabels);
    };
  }
}

/** Pick `n` items for calibration: an equal share per label where labels exist (seeded, deterministic). */
export function subset(dataset: Dataset, n: number, options: { stratified?: boolean; seed?: number } = {}): ItemDataset {
  if (!(dataset instanceof ItemDataset)) throw invalid('subset dataset', 'a dataset from this library', dataset?.name ?? dataset);
  if (!is.posInt(n) || n > dataset.length) throw invalid('subset size', `an integer in 1..${dataset.length} (the dataset length)`, n);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw invalid('seed', 'an integer', seed);
  const random = createRandom(seed);
  const labels = dataset.labels;
  const stratified = options.stratified ?? true;
  let chosen: number[];
  if (!stratified || !labels) {
    chosen = Array.from(shuffleInPlace(Int32Array.from({ length: dataset.length }, (_, i) => i), random).subarray(0, n));
  } else {
    const groups = new Map<number, number[]>();
    for (let i = 0; i < labels.length; i++) {
      const g = groups.get(labels[i]!);
      if (g) g.push(i);
      else groups.set(labels[i]!, [i]);
    }
    const keys = [...groups.keys()].sort((a, b) => a - b);
    const pools = keys.map((k) => shuffleInPlace(groups.get(k)!, random));
    // Equal shares; the remainder goes one each to the lowest labels; a short class's deficit goes round the others.
    const share = pools.map((_, i) => Math.floor(n / pools.length) + (i < n % pools.length ? 1 : 0));
    let deficit = 0;
    for (let i = 0; i < pools.length; i++) {
      if (share[i]! > pools[i]!.length) {
        deficit += share[i]! - pools[i]!.length;
        share[i] = pools[i]!.length;
      }
    }
    while (deficit > 0) {
      for (let i = 0; i < pools.length && deficit > 0; i++) {
        if (share[i]! < pools[i]!.length) {
          share[i]!++;
          deficit--;
        }
      }
    }
    chosen = pools.flatMap((pool, i) => pool.slice(0, share[i]));
  }
  chosen.sort((a, b) => a - b);
  return dataset.select(chosen, `${dataset.name} (${stratified && labels ? 'stratified ' : ''}subset of ${n}, seed ${seed})`);
}

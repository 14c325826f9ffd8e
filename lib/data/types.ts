import type { DType, Feeds, TensorData } from '../engine/types.js';

/** One batch from a loader: the model feeds (keyed by input name) and, for labelled data, the labels. */
export interface Batch {
  feeds: Feeds;
  labels?: Int32Array;
}

export interface BatchOptions {
  batchSize?: number;
  shuffle?: boolean;
  seed?: number;
  /** Drop a last partial batch. */
  dropLast?: boolean;
  /** Pad a last partial batch to batchSize by repeating its final item (labels are not padded). */
  padLast?: boolean;
  /** Stop after this many items. */
  limit?: number;
  /** Batches prepared ahead of the consumer (bounded queue with backpressure). 0 = none. */
  prefetch?: number;
  /** Key of the feed in each batch; default 'input'. Consumers pass the model's input name. */
  inputName?: string;
  signal?: AbortSignal;
}

/** A dataset is anything that can produce batches of NCHW (or NHWC) tensors. */
export interface Dataset {
  readonly kind: 'dataset';
  readonly name: string;
  readonly length: number;
  /** Shape of one item after transforms, e.g. [1, 28, 28]. */
  readonly itemShape: readonly number[];
  readonly dtype: DType;
  /** Labels per item, where the dataset has them. */
  readonly labels?: Int32Array;
  readonly classes?: readonly string[];
  batches(options?: BatchOptions): AsyncIterable<Batch>;
}

/** What calibration, evaluation and benchmarks accept: a Dataset or any async iterable of feeds or batches. */
export type DataSource = Dataset | AsyncIterable<Feeds | Batch> | Iterable<Feeds | Batch>;

export type { DType, Feeds, TensorData };

/**
 * The implicit-INT8 calibration feed as TensorRT needs it: every getBatch carries exactly the calibration shape
 * (the profile's opt with `calib.batchSize` rows for a dynamic batch, the fixed dims otherwise), for each network
 * input by its own name, as float32 for floating-point inputs (TensorRT's calibrator reads float whatever the
 * network's type). A loader hands batches of any size: they are re-batched here, the short rest is dropped with a
 * warning, and the first batch is checked before the build starts so a wrong loader fails at once, not after a build.
 */
import { TrtnError } from '../../errors.js';
import type { CalibOptions } from '../../engine/options.js';
import { arrayClassName, type DType, type Logger, type TypedArray } from '../../engine/types.js';
import { batchPuller, type BatchPuller, type NativeBatch } from '../../native/bridge.js';
import { loadModel } from '../../onnx/io.js';
import { inspectModel } from '../../onnx/inspect.js';
import type { ModelSource } from '../../engine/backend.js';

export interface CalibrationInput {
  name: string;
  /** The dtype the calibrator takes: float32 for every floating-point input. */
  dtype: DType;
  /** Dims of one calibration batch. */
  dims: number[];
}

const FEED_DTYPE: Record<string, DType | undefined> = {
  FLOAT: 'float32', FLOAT16: 'float32', BFLOAT16: 'float32', DOUBLE: 'float32',
  INT8: 'int8', UINT8: 'uint8', INT32: 'int32', INT64: 'int64', BOOL: 'bool',
};

/** The network inputs and the exact calibration shape of each, from the ONNX model (what TensorRT's parser sees). */
export function calibrationInputs(model: ModelSource, batchSize: number, shapes?: Record<string, { opt: number[] }>): CalibrationInput[] {
  const summary = inspectModel(loadModel(model));
  return summary.inputs.map((input) => {
    const dtype = FEED_DTYPE[input.elemType];
    if (!dtype) throw new TrtnError('ERR_CALIB_DATA', `input '${input.name}' has element type ${input.elemType}, which TensorRT cannot calibrate`, { tensor: input.name });
    const given = shapes?.[input.name]?.opt;
    const dims = input.shape.map((d, i) => {
      if (typeof d === 'number' && d >= 0) return d;
      if (i === 0) return batchSize;
      if (given?.[i] !== undefined) return given[i]!;
      throw new TrtnError('ERR_SHAPE', `input '${input.name}' has dynamic dimension ${i} [${input.shape}]; give shapes: { '${input.name}': { min, opt, max } }`, { tensor: input.name });
    });
    return { name: input.name, dtype, dims };
  });
}

function typedArrayDtype(a: unknown): DType | undefined {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  return undefined;
}

function describe(a: unknown): string {
  if (a === undefined) return 'missing';
  if (ArrayBuffer.isView(a)) return `a ${a.constructor.name} of ${(a as TypedArray).length} elements`;
  return `a ${typeof a}`;
}

/** Rows (first-dim entries) in `data` for an input whose one row has `rowVolume` elements; throws when it does not divide. */
function rowsOf(input: CalibrationInput, data: unknown, batchIndex: number, expectedDtype: DType): number {
  const dtype = typedArrayDtype(data);
  const ok = dtype === expectedDtype || (expectedDtype === 'bool' && dtype === 'uint8');
  if (!ok) {
    throw new TrtnError('ERR_CALIB_DATA', `calibration batch ${batchIndex}: input '${input.name}' should be a ${arrayClassName(expectedDtype)} but is ${describe(data)}`, { tensor: input.name });
  }
  const rowVolume = input.dims.slice(1).reduce((a, b) => a * b, 1);
  const length = (data as TypedArray).length;
  if (length === 0 || length % rowVolume !== 0) {
    throw new TrtnError('ERR_CALIB_DATA', `calibration batch ${batchIndex}: input '${input.name}' has ${length} elements, not a whole number of rows of [${input.dims.slice(1)}] (${rowVolume} each)`, { tensor: input.name });
  }
  return length / rowVolume;
}

export interface CalibrationFeed {
  /** The pull function for the native bridge: exactly one calibration batch per call, null at the end. */
  puller: BatchPuller;
  /** Rows the loader gave that did not fill a last batch (dropped). */
  readonly droppedRows: number;
}

/**
 * Re-batch `calib.data` to exactly the calibration shape. Pulls and checks the loader's first batch now (so a wrong
 * loader is an ERR_CALIB_DATA before any build work), then serves fixed-size batches on demand.
 */
export async function calibrationFeed(calib: CalibOptions & { data: NonNullable<CalibOptions['data']> }, inputs: CalibrationInput[], logger?: Logger): Promise<CalibrationFeed> {
  const rowsPerBatch = inputs[0]?.dims[0] ?? 1;
  const source = batchPuller(calib.data, { inputs: inputs.map((i) => i.name), batchSize: calib.batchSize ?? 32, maxBatches: calib.maxBatches });
  const pending = new Map<string, TypedArray[]>(inputs.map((i) => [i.name, []]));
  let pendingRows = 0;
  let loaderBatches = 0;
  let ended = false;
  let dropped = 0;

  const take = async (): Promise<boolean> => {
    const batch = await source.pull();
    if (!batch) {
      ended = true;
      return false;
    }
    loaderBatches++;
    let rows: number | undefined;
    for (const input of inputs) {
      const data = batch[input.name];
      const r = rowsOf(input, data, loaderBatches, input.dtype);
      if (rows !== undefined && r !== rows) {
        throw new TrtnError('ERR_CALIB_DATA', `calibration batch ${loaderBatches}: inputs disagree on rows (${rows} vs ${r} for '${input.name}')`, { tensor: input.name });
      }
      rows = r;
      pending.get(input.name)!.push(data as TypedArray);
    }
    pendingRows += rows ?? 0;
    return true;
  };

  const cut = (): NativeBatch => {
    const out: NativeBatch = {};
    for (const input of inputs) {
      const rowVolume = input.dims.slice(1).reduce((a, b) => a * b, 1);
      const need = rowsPerBatch * rowVolume;
      const parts = pending.get(input.name)!;
      const first = parts[0]!;
      const Ctor = first.constructor as { new (n: number): TypedArray };
      const joined = new Ctor(need);
      let filled = 0;
      while (filled < need) {
        const part = parts[0]!;
        const n = Math.min(part.length, need - filled);
        (joined as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(part.subarray(0, n) as ArrayLike<number | bigint>, filled);
        filled += n;
        if (n === part.length) parts.shift();
        else parts[0] = part.subarray(n) as TypedArray;
      }
      out[input.name] = joined;
    }
    pendingRows -= rowsPerBatch;
    return out;
  };

  // The first batch now, so that a loader that throws or gives the wrong data fails before the build.
  try {
    await take();
  } catch (err) {
    if (err instanceof TrtnError) throw err;
    throw new TrtnError('ERR_CALIB_DATA', `the calibration loader threw on its first batch: ${(err as Error)?.message ?? String(err)}`, {}, { cause: err });
  }
  if (ended) throw new TrtnError('ERR_CALIB_DATA', 'calibration data is empty: the loader gave no batch');

  let served = 0;
  const pull = async (): Promise<NativeBatch | null> => {
    while (pendingRows < rowsPerBatch && !ended) await take();
    if (pendingRows >= rowsPerBatch) {
      served++;
      return cut();
    }
    if (pendingRows > 0) {
      dropped = pendingRows;
      logger?.('warning', `calibration: the last ${pendingRows} row(s) did not fill a batch of ${rowsPerBatch} and were not used (TensorRT calibrates on a fixed shape)`);
      pendingRows = 0;
    }
    if (served === 0) {
      throw new TrtnError('ERR_CALIB_DATA', `calibration data holds fewer rows than one calibration batch (${rowsPerBatch}); lower calib.batchSize or give more data`);
    }
    return null;
  };
  return {
    puller: {
      pull,
      get pulled() {
        return served;
      },
      get loaderError() {
        return source.loaderError;
      },
    },
    get droppedRows() {
      return dropped;
    },
  };
}

import { is, invalid } from '../engine/options.js';
import { TrtnError } from '../errors.js';
import { checkDevice } from './device.js';
import { cudaNative, type NativeEvent, type NativeStream } from './native.js';

export interface DeviceOptions {
  /** CUDA device index (default 0). */
  device?: number;
}

export function deviceOption(options: unknown): number {
  if (options === undefined) return 0;
  if (!is.object(options)) throw invalid('options', 'an object such as { device: 0 }', options);
  const { device } = options as DeviceOptions;
  return device === undefined ? 0 : checkDevice(device);
}

export function disposedError(what: string): TrtnError {
  return new TrtnError('ERR_DISPOSED', `${what} was used after dispose()`);
}

/** A CUDA stream: work queued on it runs in order, asynchronously to the host. */
export class Stream implements Disposable {
  /** @internal the addon object; other native parts (TensorRT enqueue) take it. */
  readonly native: NativeStream;

  constructor(options?: DeviceOptions) {
    const device = deviceOption(options);
    this.native = new (cudaNative().CudaStream)(device);
  }

  get device(): number {
    return this.native.device;
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Pinned buffers kept alive by copies not yet known to be complete. */
  get pendingHostBuffers(): number {
    return this.native.pendingHostBuffers;
  }

  /** Wait until all work queued so far has completed. */
  synchronize(): void {
    this.native.synchronize();
  }

  /** True when all work queued so far has completed (does not wait). */
  query(): boolean {
    return this.native.query();
  }

  /** Wait for queued work, then destroy the stream. Idempotent. */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function nativeStream(stream: unknown, name = 'stream'): NativeStream {
  if (!(stream instanceof Stream)) throw invalid(name, 'a Stream', stream);
  if (stream.disposed) throw disposedError('Stream');
  return stream.native;
}

/** A CUDA event with timing: a point in a stream's work that the host can wait for or time. */
export class Event implements Disposable {
  /** @internal */
  readonly native: NativeEvent;

  constructor(options?: DeviceOptions) {
    const device = deviceOption(options);
    this.native = new (cudaNative().CudaEvent)(device);
  }

  /** Milliseconds between two recorded, completed events (cudaEventElapsedTime, ~0.5 us resolution). */
  static elapsedTime(start: Event, end: Event): number {
    if (!(start instanceof Event)) throw invalid('start', 'an Event', start);
    if (!(end instanceof Event)) throw invalid('end', 'an Event', end);
    if (start.disposed || end.disposed) throw disposedError('Event');
    return cudaNative().cudaEventElapsedTime(start.native, end.native);
  }

  get device(): number {
    return this.native.device;
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Mark the current end of `stream`'s queued work. */
  record(stream: Stream): void {
    const s = nativeStream(stream);
    this.ensureLive();
    this.native.record(s);
  }

  /** Wait until the recorded work has completed. */
  synchronize(): void {
    this.ensureLive();
    this.native.synchronize();
  }

  /** True when the recorded work has completed (does not wait). */
  query(): boolean {
    this.ensureLive();
    return this.native.query();
  }

  /** Record on `stream` and wait for it, in one native call (a fence). */
  recordAndSynchronize(stream: Stream): void {
    const s = nativeStream(stream);
    this.ensureLive();
    this.native.recordAndSynchronize(s);
  }

  /** Milliseconds from `start` to this event (both recorded and complete). */
  elapsedSince(start: Event): number {
    return Event.elapsedTime(start, this);
  }

  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private ensureLive(): void {
    if (this.native.disposed) throw disposedError('Event');
  }
}

/** @internal for DeviceBuffer's async copies. */
export { nativeStream };

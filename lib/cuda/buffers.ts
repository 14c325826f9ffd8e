import { is, invalid } from '../engine/options.js';
import { TrtnError } from '../errors.js';
import { cudaNative, type NativeDeviceBuffer, type NativeHost, type NativePinnedBuffer } from './native.js';
import { deviceOption, disposedError, nativeStream, type DeviceOptions, type Stream } from './stream.js';

/** Host memory a synchronous copy reads or writes: any TypedArray (Buffer included), DataView, ArrayBuffer or PinnedBuffer. */
export type HostMemory = ArrayBufferView | ArrayBuffer | PinnedBuffer;

/** Where a copy starts on each side and how many bytes it moves. */
export interface CopyOptions {
  /** Byte offset into the host memory (default 0). */
  hostOffset?: number;
  /** Byte offset into the device buffer (default 0). */
  deviceOffset?: number;
  /** Bytes to copy (default: the host memory from hostOffset to its end). */
  bytes?: number;
}

/** A TypedArray class, e.g. Float32Array. */
export interface TypedArrayClass<T extends ArrayBufferView> {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

const MAX_BYTES = Number.MAX_SAFE_INTEGER;

function checkBytes(bytes: unknown, name = 'bytes'): number {
  if (!(is.posInt(bytes) && bytes <= MAX_BYTES)) throw invalid(name, 'a positive integer number of bytes', bytes);
  return bytes;
}

/** Page-locked host memory (cudaHostAlloc): the source/target of asynchronous copies, viewable without copying. */
export class PinnedBuffer implements Disposable {
  /** @internal */
  readonly native: NativePinnedBuffer;

  private constructor(native: NativePinnedBuffer) {
    this.native = native;
  }

  static alloc(bytes: number): PinnedBuffer {
    checkBytes(bytes);
    return new PinnedBuffer(new (cudaNative().CudaPinnedBuffer)(bytes));
  }

  get byteLength(): number {
    return this.native.byteLength;
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  /**
   * The memory as a TypedArray, without copying. Views share the memory and see copies into it; after
   * dispose() every view is detached (length 0), so none can read freed memory.
   */
  view<T extends ArrayBufferView>(type: TypedArrayClass<T>, byteOffset = 0, length?: number): T {
    if (typeof type !== 'function' || !is.posInt(type.BYTES_PER_ELEMENT)) throw invalid('type', 'a TypedArray class such as Float32Array', type);
    if (this.disposed) throw disposedError('PinnedBuffer');
    const size = type.BYTES_PER_ELEMENT;
    if (!is.nonNegInt(byteOffset) || byteOffset % size !== 0) throw invalid('byteOffset', `a non-negative multiple of ${size} (${type.name})`, byteOffset);
    if (byteOffset > this.byteLength) throw invalid('byteOffset', `at most the PinnedBuffer size of ${this.byteLength} bytes`, byteOffset);
    const available = Math.floor((this.byteLength - byteOffset) / size);
    if (length !== undefined && !(is.nonNegInt(length) && length <= available)) {
      throw invalid('length', `at most ${available} ${type.name} elements (PinnedBuffer of ${this.byteLength} bytes from offset ${byteOffset})`, length);
    }
    return new type(this.native.arrayBuffer(), byteOffset, length ?? available);
  }

  /**
   * Detach every view and free the memory: now, or, when a stream still has a copy from/to it in flight, once
   * that stream is synchronised (or queried, or given more copies) after the copy completed. Idempotent.
   */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

interface ResolvedCopy {
  host: NativeHost;
  hostOffset: number;
  deviceOffset: number;
  bytes: number;
}

/** Device memory (cudaMalloc) on one GPU. */
export class DeviceBuffer implements Disposable {
  /** @internal the addon object; other native parts (TensorRT bindings) take it. */
  readonly native: NativeDeviceBuffer;

  private constructor(native: NativeDeviceBuffer) {
    this.native = native;
  }

  static alloc(bytes: number, options?: DeviceOptions): DeviceBuffer {
    checkBytes(bytes);
    const device = deviceOption(options);
    return new DeviceBuffer(new (cudaNative().CudaDeviceBuffer)(bytes, device));
  }

  /** A device buffer holding a copy of `data` (synchronous). */
  static from(data: HostMemory, options?: DeviceOptions): DeviceBuffer {
    const length = hostLength(data, 'data');
    const buffer = DeviceBuffer.alloc(length, options);
    try {
      buffer.copyFrom(data);
    } catch (err) {
      buffer.dispose();
      throw err;
    }
    return buffer;
  }

  get byteLength(): number {
    return this.native.byteLength;
  }

  get device(): number {
    return this.native.device;
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  /** Copy host memory to this buffer; returns when the copy is done. */
  copyFrom(source: HostMemory, options?: CopyOptions): this {
    const c = this.resolve(source, options, 'source');
    this.native.copyFromHost(c.host, c.hostOffset, c.deviceOffset, c.bytes);
    return this;
  }

  /** Copy this buffer into host memory; returns `target` once the copy is done. */
  copyTo<T extends HostMemory>(target: T, options?: CopyOptions): T {
    const c = this.resolve(target, options, 'target');
    this.native.copyToHost(c.host, c.hostOffset, c.deviceOffset, c.bytes);
    return target;
  }

  /**
   * Queue a copy from pinned memory on `stream`. The PinnedBuffer's memory stays allocated until the copy
   * completes, even if it is disposed or collected meanwhile; do not write to it before the stream is synchronised.
   */
  copyFromAsync(source: PinnedBuffer, stream: Stream, options?: CopyOptions): void {
    const c = this.resolveAsync(source, stream, options, 'source');
    this.native.copyFromHostAsync(c.host as NativePinnedBuffer, c.hostOffset, c.deviceOffset, c.bytes, nativeStream(stream));
  }

  /** Queue a copy into pinned memory on `stream`; its contents are valid once the stream is synchronised. */
  copyToAsync(target: PinnedBuffer, stream: Stream, options?: CopyOptions): void {
    const c = this.resolveAsync(target, stream, options, 'target');
    this.native.copyToHostAsync(c.host as NativePinnedBuffer, c.hostOffset, c.deviceOffset, c.bytes, nativeStream(stream));
  }

  /** Free the device memory (cudaFree, which first waits for work using it). Idempotent. */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  private resolveAsync(host: unknown, stream: Stream, options: CopyOptions | undefined, name: string): ResolvedCopy {
    if (!(host instanceof PinnedBuffer)) {
      throw new TrtnError('ERR_INVALID_ARG', `an asynchronous copy needs a PinnedBuffer as its ${name}, not ${describe(host)}: ` +
        'pageable memory cannot be copied asynchronously; use copyFrom/copyTo or stage through a PinnedBuffer');
    }
    nativeStream(stream);
    return this.resolve(host, options, name);
  }

  private resolve(host: unknown, options: CopyOptions | undefined, name: string): ResolvedCopy {
    if (this.disposed) throw disposedError('DeviceBuffer');
    const length = hostLength(host, name);
    if (options !== undefined && !is.object(options)) throw invalid('options', 'an object { hostOffset, deviceOffset, bytes }', options);
    const { hostOffset = 0, deviceOffset = 0, bytes } = options ?? {};
    if (!is.nonNegInt(hostOffset)) throw invalid('hostOffset', 'a non-negative integer', hostOffset);
    if (!is.nonNegInt(deviceOffset)) throw invalid('deviceOffset', 'a non-negative integer', deviceOffset);
    if (bytes !== undefined && !is.nonNegInt(bytes)) throw invalid('bytes', 'a non-negative integer', bytes);
    if (hostOffset > length) {
      throw new TrtnError('ERR_INVALID_ARG', `hostOffset ${hostOffset} is beyond the end of the ${name} (${length} bytes)`, { hostOffset, hostBytes: length });
    }
    const count = bytes ?? length - hostOffset;
    if (hostOffset + count > length) {
      throw new TrtnError('ERR_INVALID_ARG', `copy of ${count} bytes at host offset ${hostOffset} exceeds the ${name} of ${length} bytes`, { bytes: count, hostOffset, hostBytes: length });
    }
    if (deviceOffset + count > this.byteLength) {
      throw new TrtnError('ERR_INVALID_ARG', `copy of ${count} bytes at device offset ${deviceOffset} exceeds the DeviceBuffer of ${this.byteLength} bytes`, { bytes: count, deviceOffset, deviceBytes: this.byteLength });
    }
    const nativeHost = host instanceof PinnedBuffer ? host.native : (host as ArrayBufferView | ArrayBuffer);
    return { host: nativeHost, hostOffset, deviceOffset, bytes: count };
  }
}

function hostLength(host: unknown, name: string): number {
  if (host instanceof PinnedBuffer) {
    if (host.disposed) throw disposedError('PinnedBuffer');
    return host.byteLength;
  }
  if (ArrayBuffer.isView(host) || host instanceof ArrayBuffer) return host.byteLength;
  throw invalid(name, 'a TypedArray, Buffer, DataView, ArrayBuffer or PinnedBuffer', describe(host));
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'object') return `a ${(value as object).constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}

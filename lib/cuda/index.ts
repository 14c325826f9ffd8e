/** The CUDA runtime layer: device query, device and pinned buffers, streams and events. */
export { cudaInfo, cudaDevices, cudaMemInfo, requireCudaDevice, formatCudaVersion, type CudaInfo, type CudaDevice } from './device.js';
export { DeviceBuffer, PinnedBuffer, type HostMemory, type CopyOptions, type TypedArrayClass } from './buffers.js';
export { Stream, Event, type DeviceOptions } from './stream.js';

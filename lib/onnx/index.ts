/** lib/onnx: ONNX model I/O, inspection, checking and graph rewrites. */
export * from './model.js';
export * from './io.js';
export * from './tensor.js';
export * from './graph.js';
export * from './check.js';
export * from './inspect.js';
export * from './fold.js';
export * from './expose.js';

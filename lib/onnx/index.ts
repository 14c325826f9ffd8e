/** lib/onnx: ONNX model I/O, inspection, checking and graph rewrites. */
export * from './model.js';
export * from './io.js';
export * from './tensor.js';
export * from './graph.js';

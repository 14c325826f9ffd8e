// An ONNX Runtime run that fails on purpose (Reshape of 4 values by 3): the caller gets ERR_INFERENCE.
import { buildEngine, serializeModel, makeNode, makeInt64Tensor, DataType } from '../../../dist/index.js';
const f = (name, shape) => ({ name, type: { tensorType: { elemType: DataType.FLOAT, shape } } });
const model = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: { name: 'reshape-by-3', nodes: [makeNode('Reshape', ['x', 'shape'], ['y'], { name: 'reshape_by_3' })], initializers: [makeInt64Tensor('shape', [3, -1])], inputs: [f('x', ['N', 4])], outputs: [f('y', [3, 'M'])], valueInfo: [] } };
const engine = await buildEngine(serializeModel(model), { backend: 'onnxruntime', precision: 'fp32' });
try { await engine.infer({ x: { data: new Float32Array(4), dims: [1, 4], dtype: 'float32' } }); } catch (e) { console.log('caught', e.code); }
await engine[Symbol.asyncDispose]();

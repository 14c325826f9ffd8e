// Importing this module registers every backend with lib/engine/backend.ts; 'auto' tries tensorrt first,
// then onnxruntime. It also gives the TensorRT backend the project's own Q/DQ quantizer and FP16 converter,
// which its explicit-precision paths (TensorRT 11.x; 'percentile' on 8.6/10.x) build from.
import { setExplicitModelConverters } from './tensorrt/index.js';
import './onnxruntime/index.js';
import './remote/index.js';
import { int8OptionsFromBuild, quantizeModel } from '../quantize/index.js';
import { serializeModel } from '../onnx/io.js';

setExplicitModelConverters({
  async quantize(model, options) {
    const { model: qdq } = await quantizeModel(model, int8OptionsFromBuild(options, { target: 'tensorrt' }));
    return serializeModel(qdq);
  },
  async toFp16(model, options) {
    const { model: fp16 } = await quantizeModel(model, { precision: 'fp16', keepFp32: options.keepFp32 });
    return serializeModel(fp16);
  },
});

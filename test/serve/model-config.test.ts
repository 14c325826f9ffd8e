import { describe, expect, it } from 'vitest';
import { formatModelConfig, parseModelConfig, type ModelConfig } from '../../lib/serve/model-config.js';
import { parseTextFormat } from '../../lib/serve/pbtxt.js';
import { isTrtnError } from '../../lib/errors.js';

// The examples below are written from Triton's model configuration guide (docs/user_guide/model_configuration.md).
const MINIMAL = `
platform: "tensorrt_plan"
max_batch_size: 8
input [
  {
    name: "input0"
    data_type: TYPE_FP32
    dims: [ 16 ]
  },
  {
    name: "input1"
    data_type: TYPE_FP32
    dims: [ 16 ]
  }
]
output [
  {
    name: "output0"
    data_type: TYPE_FP32
    dims: [ 16 ]
  }
]
`;

function rejects(text: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    parseModelConfig(text, 'models/m/config.pbtxt');
  } catch (err) {
    caught = err;
  }
  expect(isTrtnError(caught, 'ERR_DATA_FORMAT'), String(caught)).toBe(true);
  expect((caught as Error).message).toMatch(/models\/m\/config\.pbtxt/);
  expect((caught as Error).message).toMatch(pattern);
}

describe('config.pbtxt parser on the documented examples', () => {
  it('reads the minimal TensorRT configuration', () => {
    const c = parseModelConfig(MINIMAL);
    expect(c.platform).toBe('tensorrt_plan');
    expect(c.maxBatchSize).toBe(8);
    expect(c.input).toEqual([
      { name: 'input0', dataType: 'TYPE_FP32', dims: [16] },
      { name: 'input1', dataType: 'TYPE_FP32', dims: [16] },
    ]);
    expect(c.output).toEqual([{ name: 'output0', dataType: 'TYPE_FP32', dims: [16] }]);
    expect(c.dynamicBatching).toBeUndefined();
  });

  it('reads max_batch_size 0 with full dims, variable dims, reshape to an empty shape', () => {
    const c = parseModelConfig(`platform: "onnxruntime_onnx"
max_batch_size: 0
input [ { name: "a" data_type: TYPE_INT64 dims: [ 4, -1 ] } ]
output [ { name: "b" data_type: TYPE_FP32 dims: [ 1 ] reshape: { shape: [ ] } } ]`);
    expect(c.maxBatchSize).toBe(0);
    expect(c.input[0]).toEqual({ name: 'a', dataType: 'TYPE_INT64', dims: [4, -1] });
    expect(c.output[0]).toEqual({ name: 'b', dataType: 'TYPE_FP32', dims: [1], reshape: [] });
  });

  it('reads dynamic_batching, instance_group and each version_policy form', () => {
    const text = `${MINIMAL}
# batching as the dynamic batcher section shows
dynamic_batching {
  preferred_batch_size: [ 4, 8 ]
  max_queue_delay_microseconds: 100
}
instance_group [
  {
    count: 1
    kind: KIND_GPU
    gpus: [ 0 ]
  },
  {
    count: 2
    kind: KIND_GPU
    gpus: [ 1, 2 ]
  }
]
version_policy: { specific: { versions: [1,3] } }`;
    const c = parseModelConfig(text);
    expect(c.dynamicBatching).toEqual({ preferredBatchSize: [4, 8], maxQueueDelayMicroseconds: 100 });
    expect(c.instanceGroup).toEqual([{ kind: 'KIND_GPU', count: 1, gpus: [0] }, { kind: 'KIND_GPU', count: 2, gpus: [1, 2] }]);
    expect(c.versionPolicy).toEqual({ specific: [1, 3] });
    expect(parseModelConfig(`${MINIMAL} version_policy: { all { }}`).versionPolicy).toEqual({ all: true });
    expect(parseModelConfig(`${MINIMAL} version_policy: { latest: { num_versions: 2}}`).versionPolicy).toEqual({ latest: 2 });
    expect(parseModelConfig(`${MINIMAL} dynamic_batching { }`).dynamicBatching).toEqual({ preferredBatchSize: [], maxQueueDelayMicroseconds: 0 });
  });

  it('takes the text format\'s other spellings: colons before messages, <>, separators, escapes, adjacent strings', () => {
    const m = parseTextFormat(`name: 'a\\'b' "c\\n" ; x: < y: 1, z: -2.5e1 > list: [1, 2,3] flag: true e: KIND_CPU`);
    expect(m.fields.map((f) => f.name)).toEqual(['name', 'x', 'list', 'list', 'list', 'flag', 'e']);
    expect(m.fields[0]!.value).toBe("a'bc\n");
    const x = m.fields[1]!.value as { fields: { name: string; value: unknown }[] };
    expect(x.fields.map((f) => [f.name, f.value])).toEqual([['y', 1], ['z', -25]]);
  });

  it('ignores fields Triton knows that change nothing here, and lists them', () => {
    const c = parseModelConfig(`${MINIMAL} optimization { cuda { graphs: true } } parameters { key: "k" value: { string_value: "v" } }`);
    expect(c.ignored).toEqual(['optimization', 'parameters']);
  });
});

describe('config.pbtxt rejects what Triton rejects', () => {
  it('bad data type names', () => {
    rejects(MINIMAL.replace('TYPE_FP32', 'TYPE_FLOAT32'), /input 'input0' has unknown data_type 'TYPE_FLOAT32'/);
    rejects(MINIMAL.replace('TYPE_FP32', '"TYPE_FP32"'), /input.data_type' must be an enum name/);
    rejects(MINIMAL.replace('data_type: TYPE_FP32\n    dims: [ 16 ]\n  },', 'dims: [ 16 ]\n  },'), /input 'input0' must specify data_type/);
  });

  it('dims that are empty, zero or below -1', () => {
    rejects(MINIMAL.replace('dims: [ 16 ]', 'dims: [ ]'), /input 'input0' must specify dims/);
    rejects(MINIMAL.replace('dims: [ 16 ]', 'dims: [ 0 ]'), /each dimension must be an integer >= 1, or -1/);
    rejects(MINIMAL.replace('dims: [ 16 ]', 'dims: [ -2, 3 ]'), /each dimension must be an integer >= 1, or -1/);
  });

  it('preferred batch sizes beyond max_batch_size, or with max_batch_size 0', () => {
    rejects(`${MINIMAL} dynamic_batching { preferred_batch_size: [ 4, 16 ] }`, /preferred_batch_size 16 must be <= max_batch_size \(8\)/);
    rejects(`${MINIMAL.replace('max_batch_size: 8', 'max_batch_size: 0')} dynamic_batching { preferred_batch_size: [ 1 ] }`, /must be <= max_batch_size \(0\)/);
    rejects(`${MINIMAL} dynamic_batching { preferred_batch_size: [ 0 ] }`, /preferred_batch_size 0 must be positive/);
    rejects(MINIMAL.replace('max_batch_size: 8', 'max_batch_size: -1'), /max_batch_size must be >= 0/);
  });

  it('structure: no platform, unknown fields, duplicate names, syntax errors with their line', () => {
    rejects(MINIMAL.replace('platform: "tensorrt_plan"', ''), /must specify platform or backend/);
    rejects(`${MINIMAL} max_batch: 4`, /unknown field 'max_batch'/);
    rejects(MINIMAL.replace('"input1"', '"input0"'), /input 'input0' is specified more than once/);
    rejects('platform: "x"\nmax_batch_size: 8\ninput [ { name: "a" ', /:3: expected '}' before end of file/);
    rejects('platform "x"', /:1: expected ':' after field 'platform'/);
    rejects('platform: "x', /unterminated string/);
    rejects(`${MINIMAL} instance_group [ { count: -1 kind: KIND_CPU } ]`, /instance_group count must be >= 1/);
    rejects(`${MINIMAL} instance_group [ { kind: KIND_TPU } ]`, /kind 'KIND_TPU' is not one of/);
    rejects(`${MINIMAL} version_policy: { latest: { num_versions: 1 } all { } }`, /exactly one of latest, all, specific/);
  });
});

describe('config.pbtxt writer', () => {
  it('writes what the parser reads back unchanged', () => {
    const config: ModelConfig = {
      name: 'fmnist "cnn"', platform: 'onnxruntime_onnx', maxBatchSize: 32,
      input: [{ name: 'input', dataType: 'TYPE_FP32', dims: [1, 28, 28] }],
      output: [{ name: 'logits', dataType: 'TYPE_FP16', dims: [-1] }, { name: 's', dataType: 'TYPE_INT64', dims: [1], reshape: [] }],
      dynamicBatching: { preferredBatchSize: [8, 32], maxQueueDelayMicroseconds: 500 },
      instanceGroup: [{ count: 2, kind: 'KIND_CPU' }],
      versionPolicy: { specific: [1, 2] },
      ignored: [],
    };
    expect(parseModelConfig(formatModelConfig(config))).toEqual(config);
  });

  it('refuses to write an invalid config', () => {
    const bad: ModelConfig = { name: 'm', platform: 'tensorrt_plan', maxBatchSize: 4, input: [{ name: 'x', dataType: 'TYPE_FP32', dims: [] }], output: [{ name: 'y', dataType: 'TYPE_FP32', dims: [2] }], instanceGroup: [], ignored: [] };
    expect(() => formatModelConfig(bad)).toThrow(/input 'x' must specify dims/);
  });
});

/** Small models built in tests, with seeded weights. */
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../../lib/onnx/model.js';
import { makeTensor } from '../../lib/onnx/tensor.js';

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

export function weight(name: string, dims: number[], rnd: () => number, scale = 0.5): OnnxTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return makeTensor(name, Float32Array.from({ length: n }, () => rnd() * scale), dims);
}

export function model(nodes: OnnxNode[], initializers: OnnxTensor[], input: { name: string; dims: (number | string)[]; elemType?: number }, outputs: { name: string; dims: (number | string)[] }[], opset = 17): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'test',
    graph: {
      name: 'test_graph',
      nodes,
      initializers,
      inputs: [{ name: input.name, type: { tensorType: { elemType: input.elemType ?? DataType.FLOAT, shape: input.dims } } }],
      outputs: outputs.map((o) => ({ name: o.name, type: { tensorType: { elemType: DataType.FLOAT, shape: o.dims } } })),
      valueInfo: [],
    },
  };
}

/**
 * x[N,4,8,8] -> Conv1(+bias) -> Relu r1 -> Conv2 -> Add(r1, c2) -> Relu -> MaxPool -> GlobalAveragePool -> Flatten
 * -> Gemm(transB=1) -> Softmax -> probs. A residual block in miniature.
 */
export function residualModel(): OnnxModel {
  const rnd = seeded(7);
  const conv = (name: string, x: string, w: string, b: string | undefined, y: string) =>
    makeNode('Conv', b ? [x, w, b] : [x, w], [y], { name, attributes: [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])] });
  return model(
    [
      conv('conv1', 'x', 'w1', 'b1', 'c1'),
      makeNode('Relu', ['c1'], ['r1'], { name: 'relu1' }),
      conv('conv2', 'r1', 'w2', undefined, 'c2'),
      makeNode('Add', ['r1', 'c2'], ['s'], { name: 'add' }),
      makeNode('Relu', ['s'], ['r2'], { name: 'relu2' }),
      makeNode('MaxPool', ['r2'], ['p'], { name: 'pool', attributes: [attr.ints('kernel_shape', [2, 2]), attr.ints('strides', [2, 2])] }),
      makeNode('GlobalAveragePool', ['p'], ['g'], { name: 'gap' }),
      makeNode('Flatten', ['g'], ['f'], { name: 'flatten' }),
      makeNode('Gemm', ['f', 'wf', 'bf'], ['logits'], { name: 'fc', attributes: [attr.int('transB', 1)] }),
      makeNode('Softmax', ['logits'], ['probs'], { name: 'softmax', attributes: [attr.int('axis', 1)] }),
    ],
    [weight('w1', [4, 4, 3, 3], rnd), weight('b1', [4], rnd), weight('w2', [4, 4, 3, 3], rnd), weight('wf', [10, 4], rnd), weight('bf', [10], rnd)],
    { name: 'x', dims: ['N', 4, 8, 8] },
    [{ name: 'probs', dims: ['N', 10] }],
  );
}

export function randomFeeds(n: number, dims: number[], seed = 1): Float32Array[] {
  const rnd = seeded(seed);
  const size = dims.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rnd() * 4));
}

/**
 * A small graph builder for the model generators: tracks the current tensor's channels and spatial
 * size, creates seeded He-normal weights (or shape-only weights for counting), and emits opset-17 nodes.
 */
import { createRandom } from '../data/random.js';
import { TrtnError } from '../errors.js';
import { attr, makeNode } from '../onnx/graph.js';
import { DataType, type OnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/model.js';
import { elementCount, makeInt64Tensor, makeTensor } from '../onnx/tensor.js';

export type WeightsMode = 'random' | 'none';

export interface GeneratorOptions {
  /** [channels, height, width]; default [3, 224, 224]. */
  inputShape?: [number, number, number];
  /** Default 1000. */
  classes?: number;
  /** PRNG seed for the weights; default 0. */
  seed?: number;
  /**
   * 'random' (default): seeded He-normal weights and plausible BN statistics.
   * 'none': initializers carry dims but no data: for counting parameters of big configurations;
   * such a model can be inspected and checked but not run or meaningfully saved.
   */
  weights?: WeightsMode;
  /** Insert BatchNormalization after each convolution (default true for vgg16/resnet50/mobilenet_v1, false for cnn). */
  batchNorm?: boolean;
}

/** Seeded weights come from the project's one PRNG (lib/data/random.ts, mulberry32). */
export const seededRandom = createRandom;

export interface Activation {
  name: string;
  channels: number;
  height: number;
  width: number;
}

export class ModelBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly random: () => number;
  private spare: number | undefined;
  private counter = new Map<string, number>();

  constructor(readonly weights: WeightsMode, seed: number) {
    this.random = seededRandom(seed);
  }

  private gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  uniqueName(base: string): string {
    const k = this.counter.get(base) ?? 0;
    this.counter.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  }

  private tensor(name: string, dims: number[], fill: (i: number) => number): string {
    if (this.weights === 'none') {
      this.initializers.push({ name, dataType: DataType.FLOAT, dims });
      return name;
    }
    const data = new Float32Array(elementCount(dims));
    for (let i = 0; i < data.length; i++) data[i] = fill(i);
    this.initializers.push(makeTensor(name, data, dims));
    return name;
  }

  /** He-normal: std sqrt(2 / fan_in), the right scale for ReLU layers. */
  heNormal(name: string, dims: number[], fanIn: number): string {
    const std = Math.sqrt(2 / fanIn);
    return this.tensor(name, dims, () => this.gaussian() * std);
  }

  constant(name: string, dims: number[], value: number | ((i: number) => number)): string {
    return this.tensor(name, dims, typeof value === 'number' ? () => value : value);
  }

  uniform(name: string, dims: number[], lo: number, hi: number): string {
    return this.tensor(name, dims, () => lo + (hi - lo) * this.random());
  }

  conv(x: Activation, prefix: string, out: number, kernel: number, options: { stride?: number; pad?: number; group?: number; bias?: boolean } = {}): Activation {
    const { stride = 1, pad = Math.floor(kernel / 2), group = 1, bias = false } = options;
    if (x.channels % group !== 0 || out % group !== 0)
      throw new TrtnError('ERR_INVALID_ARG', `${prefix}: ${x.channels} -> ${out} channels do not divide into ${group} groups`);
    const cinPerGroup = x.channels / group;
    const w = this.heNormal(`${prefix}.weight`, [out, cinPerGroup, kernel, kernel], cinPerGroup * kernel * kernel);
    const inputs = [x.name, w];
    if (bias) inputs.push(this.constant(`${prefix}.bias`, [out], 0));
    const y = this.uniqueName(`${prefix}.out`);
    const attributes = [
      attr.ints('dilations', [1, 1]),
      attr.int('group', group),
      attr.ints('kernel_shape', [kernel, kernel]),
      attr.ints('pads', [pad, pad, pad, pad]),
      attr.ints('strides', [stride, stride]),
    ];
    this.nodes.push(makeNode('Conv', inputs, [y], { name: prefix, attributes }));
    const size = (s: number): number => Math.floor((s + 2 * pad - kernel) / stride) + 1;
    const height = size(x.height);
    const width = size(x.width);
    if (height < 1 || width < 1) throw new TrtnError('ERR_INVALID_ARG', `${prefix}: the input is too small (${x.height}x${x.width} before this layer)`);
    return { name: y, channels: out, height, width };
  }

  /**
   * BatchNormalization with plausible statistics: gamma in [gammaLo, gammaHi], small beta and mean,
   * variance near the post-He-init activation variance so outputs stay finite and non-degenerate.
   */
  batchNorm(x: Activation, prefix: string, gamma: [number, number] = [0.8, 1.2]): Activation {
    const c = [x.channels];
    const inputs = [
      x.name,
      this.uniform(`${prefix}.weight`, c, gamma[0], gamma[1]),
      this.uniform(`${prefix}.bias`, c, -0.1, 0.1),
      this.uniform(`${prefix}.running_mean`, c, -0.1, 0.1),
      this.uniform(`${prefix}.running_var`, c, 0.5, 1.5),
    ];
    const y = this.uniqueName(`${prefix}.out`);
    this.nodes.push(makeNode('BatchNormalization', inputs, [y], { name: prefix, attributes: [attr.float('epsilon', 1e-5), attr.float('momentum', 0.9)] }));
    return { ...x, name: y };
  }

  relu(x: Activation, prefix: string): Activation {
    const y = this.uniqueName(`${prefix}.relu`);
    this.nodes.push(makeNode('Relu', [x.name], [y], { name: `${prefix}.relu` }));
    return { ...x, name: y };
  }

  add(a: Activation, b: Activation, prefix: string): Activation {
    const y = this.uniqueName(`${prefix}.add`);
    this.nodes.push(makeNode('Add', [a.name, b.name], [y], { name: `${prefix}.add` }));
    return { ...a, name: y };
  }

  maxPool(x: Activation, prefix: string, kernel: number, stride: number, pad = 0): Activation {
    const y = this.uniqueName(`${prefix}.out`);
    const attributes = [attr.ints('kernel_shape', [kernel, kernel]), attr.ints('pads', [pad, pad, pad, pad]), attr.ints('strides', [stride, stride])];
    this.nodes.push(makeNode('MaxPool', [x.name], [y], { name: prefix, attributes }));
    const size = (s: number): number => Math.floor((s + 2 * pad - kernel) / stride) + 1;
    const height = size(x.height);
    const width = size(x.width);
    if (height < 1 || width < 1) throw new TrtnError('ERR_INVALID_ARG', `${prefix}: the input is too small (${x.height}x${x.width} before this pool)`);
    return { ...x, name: y, height, width };
  }

  globalAveragePool(x: Activation, prefix: string): Activation {
    const y = this.uniqueName(`${prefix}.out`);
    this.nodes.push(makeNode('GlobalAveragePool', [x.name], [y], { name: prefix }));
    return { ...x, name: y, height: 1, width: 1 };
  }

  /** Flatten to [N, C*H*W]; returns the tensor name and its feature count. */
  flatten(x: Activation, prefix: string): { name: string; features: number } {
    const y = this.uniqueName(`${prefix}.out`);
    this.nodes.push(makeNode('Flatten', [x.name], [y], { name: prefix, attributes: [attr.int('axis', 1)] }));
    return { name: y, features: x.channels * x.height * x.width };
  }

  /** Fully connected layer as Gemm(transB=1) with weight [out, in] (PyTorch layout). */
  linear(x: { name: string; features: number }, prefix: string, out: number, outputName?: string): { name: string; features: number } {
    const w = this.heNormal(`${prefix}.weight`, [out, x.features], x.features);
    const b = this.constant(`${prefix}.bias`, [out], 0);
    const y = outputName ?? this.uniqueName(`${prefix}.out`);
    this.nodes.push(makeNode('Gemm', [x.name, w, b], [y], { name: prefix, attributes: [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)] }));
    return { name: y, features: out };
  }

  /** Any op: one output named after `prefix` (unique), returned. */
  op(opType: string, inputs: string[], prefix: string, attributes: OnnxNode['attributes'] = []): string {
    const y = this.uniqueName(`${prefix}.out`);
    this.nodes.push(makeNode(opType, inputs, [y], { name: this.uniqueName(prefix), attributes }));
    return y;
  }

  /** An int64 initializer (shapes, split sizes, axes), created once per name. */
  int64(name: string, values: number[]): string {
    if (!this.initializers.some((t) => t.name === name)) this.initializers.push(makeInt64Tensor(name, values));
    return name;
  }

  /** A float scalar initializer, created once per name. */
  scalar(name: string, value: number): string {
    if (!this.initializers.some((t) => t.name === name)) this.initializers.push(makeTensor(name, new Float32Array([value]), []));
    return name;
  }

  /** Unary activation on a feature map: 'relu', 'relu6' (Clip 0..6), 'hardswish', 'silu' (x * Sigmoid(x)). */
  act(x: Activation, prefix: string, kind: 'relu' | 'relu6' | 'hardswish' | 'silu'): Activation {
    switch (kind) {
      case 'relu':
        return this.relu(x, prefix);
      case 'relu6':
        return { ...x, name: this.op('Clip', [x.name, this.scalar('const.zero', 0), this.scalar('const.six', 6)], `${prefix}.relu6`) };
      case 'hardswish':
        return { ...x, name: this.op('HardSwish', [x.name], `${prefix}.hardswish`) };
      case 'silu':
        return { ...x, name: this.op('Mul', [x.name, this.op('Sigmoid', [x.name], `${prefix}.sigmoid`)], `${prefix}.silu`) };
    }
  }

  reluFeatures(x: { name: string; features: number }, prefix: string): { name: string; features: number } {
    const y = this.uniqueName(`${prefix}.relu`);
    this.nodes.push(makeNode('Relu', [x.name], [y], { name: `${prefix}.relu` }));
    return { ...x, name: y };
  }

  model(graphName: string, input: [number, number, number], classes: number, logits: string): OnnxModel {
    return {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }], // 17: LayerNormalization, HardSwish, Split with a sizes input
      producerName: 'tensorrt-node',
      producerVersion: '0.1.0',
      graph: {
        name: graphName,
        nodes: this.nodes,
        initializers: this.initializers,
        inputs: [{ name: 'input', type: { tensorType: { elemType: DataType.FLOAT, shape: ['N', ...input] } } }],
        outputs: [{ name: logits, type: { tensorType: { elemType: DataType.FLOAT, shape: ['N', classes] } } }],
        valueInfo: [],
      },
    };
  }
}

export function resolveOptions(name: string, options: GeneratorOptions, defaults: { batchNorm: boolean; inputShape?: [number, number, number]; classes?: number }) {
  const inputShape = options.inputShape ?? defaults.inputShape ?? [3, 224, 224];
  const classes = options.classes ?? defaults.classes ?? 1000;
  const seed = options.seed ?? 0;
  const weights = options.weights ?? 'random';
  const batchNorm = options.batchNorm ?? defaults.batchNorm;
  if (!Array.isArray(inputShape) || inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1))
    throw new TrtnError('ERR_INVALID_ARG', `${name}: inputShape must be [channels, height, width] of positive integers, got ${JSON.stringify(inputShape)}`);
  if (!Number.isInteger(classes) || classes < 1) throw new TrtnError('ERR_INVALID_ARG', `${name}: classes must be a positive integer, got ${classes}`);
  if (!Number.isInteger(seed)) throw new TrtnError('ERR_INVALID_ARG', `${name}: seed must be an integer, got ${seed}`);
  if (weights !== 'random' && weights !== 'none') throw new TrtnError('ERR_INVALID_ARG', `${name}: weights must be 'random' or 'none', got ${String(weights)}`);
  return { inputShape, classes, seed, weights, batchNorm: Boolean(batchNorm) };
}

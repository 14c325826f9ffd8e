/**
 * Generators for architectures deployed today, with the patterns INT8 placement must handle: Clip/Relu6
 * (MobileNetV2), HardSwish/HardSigmoid and squeeze-excitation (MobileNetV3-Small), channel split/shuffle with
 * Reshape/Transpose and Concat (ShuffleNetV2), SiLU (x * Sigmoid) and squeeze-excitation (EfficientNet-B0), and a
 * ViT-style encoder (Gemm projections, LayerNormalization, Softmax attention, GELU through Erf, residual Adds).
 * Layer configurations follow the papers (and torchvision, whose parameter counts the tests check). Opset 17,
 * input 'input' [N,C,H,W] float32, output 'logits' [N,classes], dynamic batch.
 */
import { TrtnError } from '../errors.js';
import { attr } from '../onnx/graph.js';
import type { OnnxModel } from '../onnx/model.js';
import { ModelBuilder, resolveOptions, type Activation, type GeneratorOptions } from './builder.js';

/** torchvision's _make_divisible: round to a multiple of 8, never below 90% of the value. */
function divisible(v: number, d = 8): number {
  const n = Math.max(d, Math.floor((v + d / 2) / d) * d);
  return n < 0.9 * v ? n + d : n;
}

type Act = 'relu' | 'relu6' | 'hardswish' | 'silu';

function convBnAct(b: ModelBuilder, x: Activation, p: string, out: number, k: number, stride: number, act: Act | undefined, group = 1): Activation {
  let y = b.conv(x, p, out, k, { stride, pad: Math.floor(k / 2), group });
  y = b.batchNorm(y, `${p}.bn`);
  return act ? b.act(y, p, act) : y;
}

/** Squeeze-excitation: GAP -> 1x1 conv -> act -> 1x1 conv -> gate -> Mul. */
function squeezeExcite(b: ModelBuilder, x: Activation, p: string, squeeze: number, act: Act, gate: 'sigmoid' | 'hardsigmoid'): Activation {
  const g = b.globalAveragePool(x, `${p}.pool`);
  const s = b.act(b.conv(g, `${p}.fc1`, squeeze, 1, { pad: 0, bias: true }), `${p}.fc1`, act);
  const e = b.conv(s, `${p}.fc2`, x.channels, 1, { pad: 0, bias: true });
  const w = gate === 'sigmoid' ? b.op('Sigmoid', [e.name], `${p}.gate`) : b.op('HardSigmoid', [e.name], `${p}.gate`, [attr.float('alpha', 1 / 6), attr.float('beta', 0.5)]);
  return { ...x, name: b.op('Mul', [x.name, w], `${p}.scale`) };
}

function head(b: ModelBuilder, x: Activation, classes: number, name: string, shape: [number, number, number], hidden?: { width: number; act: Act }): OnnxModel {
  let f = b.flatten(b.globalAveragePool(x, 'avgpool'), 'flatten');
  if (hidden) {
    f = b.linear(f, 'classifier.0', hidden.width);
    const h = b.act({ name: f.name, channels: f.features, height: 1, width: 1 }, 'classifier.0', hidden.act);
    f = { name: h.name, features: f.features };
  }
  b.linear(f, hidden ? 'classifier.3' : 'classifier', classes, 'logits');
  return b.model(name, shape, classes, 'logits');
}

function checkSize(name: string, h: number, w: number, min = 32): void {
  if (h < min || w < min) throw new TrtnError('ERR_INVALID_ARG', `${name}: the input must be at least ${min}x${min}, got ${h}x${w}`);
}

/** MobileNetV2 (width 1.0): inverted residual blocks with Relu6 (Clip 0..6) and linear bottlenecks. */
export function mobilenetV2(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('mobilenet_v2', options, { batchNorm: true });
  const [c, h, w] = o.inputShape;
  checkSize('mobilenet_v2', h, w);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = convBnAct(b, { name: 'input', channels: c, height: h, width: w }, 'features.0', 32, 3, 2, 'relu6');
  const config: [number, number, number, number][] = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]];
  let i = 1;
  for (const [t, out, n, s] of config)
    for (let r = 0; r < n; r++, i++) {
      const p = `features.${i}`;
      const stride = r === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = convBnAct(b, y, `${p}.expand`, x.channels * t, 1, 1, 'relu6');
      y = convBnAct(b, y, `${p}.dw`, y.channels, 3, stride, 'relu6', y.channels);
      y = convBnAct(b, y, `${p}.project`, out, 1, 1, undefined);
      x = stride === 1 && x.channels === out ? b.add(y, x, p) : y;
    }
  x = convBnAct(b, x, `features.${i}`, 1280, 1, 1, 'relu6');
  return head(b, x, o.classes, 'mobilenet_v2', o.inputShape);
}

/** MobileNetV3-Small: HardSwish, squeeze-excitation with HardSigmoid, a HardSwish classifier layer. */
export function mobilenetV3Small(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('mobilenet_v3_small', options, { batchNorm: true });
  const [c, h, w] = o.inputShape;
  checkSize('mobilenet_v3_small', h, w);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = convBnAct(b, { name: 'input', channels: c, height: h, width: w }, 'features.0', 16, 3, 2, 'hardswish');
  // kernel, expanded, out, squeeze-excitation, activation, stride
  const config: [number, number, number, boolean, Act, number][] = [
    [3, 16, 16, true, 'relu', 2], [3, 72, 24, false, 'relu', 2], [3, 88, 24, false, 'relu', 1],
    [5, 96, 40, true, 'hardswish', 2], [5, 240, 40, true, 'hardswish', 1], [5, 240, 40, true, 'hardswish', 1],
    [5, 120, 48, true, 'hardswish', 1], [5, 144, 48, true, 'hardswish', 1], [5, 288, 96, true, 'hardswish', 2],
    [5, 576, 96, true, 'hardswish', 1], [5, 576, 96, true, 'hardswish', 1],
  ];
  config.forEach(([k, exp, out, se, act, s], j) => {
    const p = `features.${j + 1}`;
    let y = x;
    if (exp !== x.channels) y = convBnAct(b, y, `${p}.expand`, exp, 1, 1, act);
    y = convBnAct(b, y, `${p}.dw`, exp, k, s, act, exp);
    if (se) y = squeezeExcite(b, y, `${p}.se`, divisible(exp / 4), 'relu', 'hardsigmoid');
    y = convBnAct(b, y, `${p}.project`, out, 1, 1, undefined);
    x = s === 1 && x.channels === out ? b.add(y, x, p) : y;
  });
  x = convBnAct(b, x, 'features.12', 576, 1, 1, 'hardswish');
  return head(b, x, o.classes, 'mobilenet_v3_small', o.inputShape, { width: 1024, act: 'hardswish' });
}

/** ShuffleNetV2 1.0x: channel split (Split), two branches, Concat and channel shuffle (Reshape-Transpose-Reshape). */
export function shufflenetV2(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('shufflenet_v2', options, { batchNorm: true });
  const [c, h, w] = o.inputShape;
  checkSize('shufflenet_v2', h, w);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = convBnAct(b, { name: 'input', channels: c, height: h, width: w }, 'conv1', 24, 3, 2, 'relu');
  x = b.maxPool(x, 'maxpool', 3, 2, 1);
  const shuffle = (y: Activation, p: string): Activation => {
    const half = y.channels / 2;
    const r = b.op('Reshape', [y.name, b.int64(`shape.${y.channels}x${y.height}.groups`, [0, 2, half, y.height, y.width])], `${p}.shuffle.reshape`);
    const t = b.op('Transpose', [r], `${p}.shuffle.transpose`, [attr.ints('perm', [0, 2, 1, 3, 4])]);
    return { ...y, name: b.op('Reshape', [t, b.int64(`shape.${y.channels}x${y.height}`, [0, y.channels, y.height, y.width])], `${p}.shuffle.flat`) };
  };
  const concat = (a: Activation, d: Activation, p: string): Activation => ({ ...d, channels: a.channels + d.channels, name: b.op('Concat', [a.name, d.name], `${p}.concat`, [attr.int('axis', 1)]) });
  [[116, 4], [232, 8], [464, 4]].forEach(([out, repeats], si) => {
    const branch = out! / 2;
    for (let r = 0; r < repeats!; r++) {
      const p = `stage${si + 2}.${r}`;
      if (r === 0) {
        let b1 = convBnAct(b, x, `${p}.branch1.dw`, x.channels, 3, 2, undefined, x.channels);
        b1 = convBnAct(b, b1, `${p}.branch1.pw`, branch, 1, 1, 'relu');
        let b2 = convBnAct(b, x, `${p}.branch2.pw1`, branch, 1, 1, 'relu');
        b2 = convBnAct(b, b2, `${p}.branch2.dw`, branch, 3, 2, undefined, branch);
        b2 = convBnAct(b, b2, `${p}.branch2.pw2`, branch, 1, 1, 'relu');
        x = shuffle(concat(b1, b2, p), p);
      } else {
        const half = x.channels / 2;
        const split = b.uniqueName(`${p}.split`);
        const [x1, x2] = [`${split}.0`, `${split}.1`];
        b.nodes.push({ opType: 'Split', domain: '', name: split, inputs: [x.name, b.int64(`split.${half}`, [half, half])], outputs: [x1, x2], attributes: [attr.int('axis', 1)] });
        let b2 = convBnAct(b, { ...x, channels: half, name: x2 }, `${p}.branch2.pw1`, branch, 1, 1, 'relu');
        b2 = convBnAct(b, b2, `${p}.branch2.dw`, branch, 3, 1, undefined, branch);
        b2 = convBnAct(b, b2, `${p}.branch2.pw2`, branch, 1, 1, 'relu');
        x = shuffle(concat({ ...x, channels: half, name: x1 }, b2, p), p);
      }
    }
  });
  x = convBnAct(b, x, 'conv5', 1024, 1, 1, 'relu');
  return head(b, x, o.classes, 'shufflenet_v2', o.inputShape);
}

/** EfficientNet-B0: MBConv blocks with SiLU (x * Sigmoid(x)) and squeeze-excitation. */
export function efficientnetB0(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('efficientnet_b0', options, { batchNorm: true });
  const [c, h, w] = o.inputShape;
  checkSize('efficientnet_b0', h, w);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = convBnAct(b, { name: 'input', channels: c, height: h, width: w }, 'features.0', 32, 3, 2, 'silu');
  // expand ratio, kernel, stride, out, repeats
  const config: [number, number, number, number, number][] = [[1, 3, 1, 16, 1], [6, 3, 2, 24, 2], [6, 5, 2, 40, 2], [6, 3, 2, 80, 3], [6, 5, 1, 112, 3], [6, 5, 2, 192, 4], [6, 3, 1, 320, 1]];
  config.forEach(([e, k, s, out, n], si) => {
    for (let r = 0; r < n; r++) {
      const p = `features.${si + 1}.${r}`;
      const stride = r === 0 ? s : 1;
      const cin = x.channels;
      let y = x;
      if (e !== 1) y = convBnAct(b, y, `${p}.expand`, cin * e, 1, 1, 'silu');
      y = convBnAct(b, y, `${p}.dw`, y.channels, k, stride, 'silu', y.channels);
      y = squeezeExcite(b, y, `${p}.se`, Math.max(1, Math.floor(cin / 4)), 'silu', 'sigmoid');
      y = convBnAct(b, y, `${p}.project`, out, 1, 1, undefined);
      x = stride === 1 && cin === out ? b.add(y, x, p) : y;
    }
  });
  x = convBnAct(b, x, 'features.8', 1280, 1, 1, 'silu');
  return head(b, x, o.classes, 'efficientnet_b0', o.inputShape);
}

export interface VitOptions extends GeneratorOptions {
  /** Patch size (default 8), embedding width (192), heads (3), layers (4): ViT-Tiny widths, fewer layers. */
  patch?: number;
  dim?: number;
  heads?: number;
  layers?: number;
}

/**
 * A ViT-style encoder: patch embedding (strided Conv), pre-norm transformer layers whose projections are Gemms on
 * [N*T, D] rows (as BERT exports run on ONNX Runtime), scaled dot-product attention with Softmax, GELU through
 * Erf, residual Adds; mean over tokens, LayerNormalization, classifier.
 */
export function vitEncoder(options: VitOptions = {}): OnnxModel {
  const o = resolveOptions('vit_encoder', options, { batchNorm: false, inputShape: [3, 64, 64], classes: 1000 });
  const [c, h, w] = o.inputShape;
  const patch = options.patch ?? 8;
  const dim = options.dim ?? 192;
  const heads = options.heads ?? 3;
  const layers = options.layers ?? 4;
  if (h % patch !== 0 || w % patch !== 0) throw new TrtnError('ERR_INVALID_ARG', `vit_encoder: the input ${h}x${w} is not a whole number of ${patch}x${patch} patches`);
  if (dim % heads !== 0) throw new TrtnError('ERR_INVALID_ARG', `vit_encoder: dim ${dim} does not divide into ${heads} heads`);
  const tokens = (h / patch) * (w / patch);
  const hd = dim / heads;
  const b = new ModelBuilder(o.weights, o.seed);
  const e = b.conv({ name: 'input', channels: c, height: h, width: w }, 'patch_embed', dim, patch, { stride: patch, pad: 0, bias: true });
  const seq = b.op('Transpose', [b.op('Reshape', [e.name, b.int64('shape.ndt', [0, dim, tokens])], 'patch_embed.flat')], 'patch_embed.tokens', [attr.ints('perm', [0, 2, 1])]);
  const pos = b.op('Add', [seq, b.uniform('pos_embed', [1, tokens, dim], -0.02, 0.02)], 'pos_embed');
  let x = b.op('Reshape', [pos, b.int64('shape.rows', [-1, dim])], 'rows');
  const ln = (t: string, p: string) => b.op('LayerNormalization', [t, b.uniform(`${p}.weight`, [dim], 0.8, 1.2), b.uniform(`${p}.bias`, [dim], -0.1, 0.1)], p, [attr.int('axis', -1), attr.float('epsilon', 1e-6)]);
  const fc = (t: string, p: string, inF: number, outF: number) => b.linear({ name: t, features: inF }, p, outF).name;
  const split = (t: string, p: string) => b.op('Transpose', [b.op('Reshape', [t, b.int64('shape.heads', [-1, tokens, heads, hd])], `${p}.heads`)], `${p}.bhtd`, [attr.ints('perm', [0, 2, 1, 3])]);
  for (let l = 0; l < layers; l++) {
    const p = `blocks.${l}`;
    const n1 = ln(x, `${p}.norm1`);
    const q = split(fc(n1, `${p}.attn.q`, dim, dim), `${p}.attn.q`);
    const k = split(fc(n1, `${p}.attn.k`, dim, dim), `${p}.attn.k`);
    const v = split(fc(n1, `${p}.attn.v`, dim, dim), `${p}.attn.v`);
    const kt = b.op('Transpose', [k], `${p}.attn.kt`, [attr.ints('perm', [0, 1, 3, 2])]);
    const scores = b.op('Mul', [b.op('MatMul', [q, kt], `${p}.attn.qk`), b.scalar(`const.inv_sqrt_${hd}`, 1 / Math.sqrt(hd))], `${p}.attn.scaled`);
    const probs = b.op('Softmax', [scores], `${p}.attn.softmax`, [attr.int('axis', -1)]);
    const ctx = b.op('Transpose', [b.op('MatMul', [probs, v], `${p}.attn.pv`)], `${p}.attn.merge`, [attr.ints('perm', [0, 2, 1, 3])]);
    const attnOut = fc(b.op('Reshape', [ctx, b.int64('shape.rows', [-1, dim])], `${p}.attn.rows`), `${p}.attn.proj`, dim, dim);
    x = b.op('Add', [x, attnOut], `${p}.residual1`);
    const n2 = ln(x, `${p}.norm2`);
    const f1 = fc(n2, `${p}.mlp.fc1`, dim, 4 * dim);
    // GELU (erf form): 0.5 x (1 + erf(x / sqrt 2))
    const erf = b.op('Erf', [b.op('Mul', [f1, b.scalar('const.inv_sqrt2', Math.SQRT1_2)], `${p}.mlp.gelu.scale`)], `${p}.mlp.gelu.erf`);
    const gelu = b.op('Mul', [b.op('Mul', [f1, b.op('Add', [erf, b.scalar('const.one', 1)], `${p}.mlp.gelu.add`)], `${p}.mlp.gelu.mul`), b.scalar('const.half', 0.5)], `${p}.mlp.gelu`);
    x = b.op('Add', [x, fc(gelu, `${p}.mlp.fc2`, 4 * dim, dim)], `${p}.residual2`);
  }
  const pooled = b.op('ReduceMean', [b.op('Reshape', [x, b.int64('shape.ntd', [-1, tokens, dim])], 'tokens')], 'pool', [attr.ints('axes', [1]), attr.int('keepdims', 0)]);
  b.linear({ name: ln(pooled, 'norm'), features: dim }, 'head', o.classes, 'logits');
  return b.model('vit_encoder', o.inputShape, o.classes, 'logits');
}

export const MODERN_MODEL_NAMES = ['mobilenet_v2', 'mobilenet_v3_small', 'shufflenet_v2', 'efficientnet_b0', 'vit_encoder'] as const;
export type ModernModelName = (typeof MODERN_MODEL_NAMES)[number];

export function generateModernModel(name: ModernModelName, options: GeneratorOptions = {}): OnnxModel {
  switch (name) {
    case 'mobilenet_v2':
      return mobilenetV2(options);
    case 'mobilenet_v3_small':
      return mobilenetV3Small(options);
    case 'shufflenet_v2':
      return shufflenetV2(options);
    case 'efficientnet_b0':
      return efficientnetB0(options);
    case 'vit_encoder':
      return vitEncoder(options);
    default:
      throw new TrtnError('ERR_INVALID_ARG', `unknown model '${String(name)}' (known: ${MODERN_MODEL_NAMES.join(', ')})`);
  }
}

/**
 * ONNX generators for the study's architectures (VGG16, ResNet-50, MobileNet_v1) and the small CNN of the
 * companion QAT study, at any input size and class count. Opset 17, input 'input' [N,C,H,W] float32,
 * output 'logits' [N,classes], dynamic batch 'N'.
 */
import { TrtnError } from '../errors.js';
import type { OnnxModel } from '../onnx/model.js';
import { ModelBuilder, resolveOptions, type Activation, type GeneratorOptions } from './builder.js';

export type { GeneratorOptions, WeightsMode } from './builder.js';

export interface Vgg16Options extends GeneratorOptions {
  /**
   * Width of the two hidden fully connected layers (default 4096, as published). The classifier reads the
   * flattened 512 x floor(H/32) x floor(W/32) features, so small inputs give a small first FC layer;
   * `fcWidth` shrinks the rest (e.g. 256 for 32x32 or 48x48 inputs).
   */
  fcWidth?: number;
}

/** VGG16 (configuration D): 13 3x3 convolutions in 5 blocks with max pooling, then 3 FC layers. */
export function vgg16(options: Vgg16Options = {}): OnnxModel {
  const o = resolveOptions('vgg16', options, { batchNorm: true });
  const fcWidth = options.fcWidth ?? 4096;
  if (!Number.isInteger(fcWidth) || fcWidth < 1) throw new TrtnError('ERR_INVALID_ARG', `vgg16: fcWidth must be a positive integer, got ${fcWidth}`);
  const [c, h, w] = o.inputShape;
  if (h < 32 || w < 32) throw new TrtnError('ERR_INVALID_ARG', `vgg16: the input must be at least 32x32 (five 2x2 pools), got ${h}x${w}`);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = { name: 'input', channels: c, height: h, width: w };
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  let layer = 0;
  blocks.forEach((block, bi) => {
    for (const out of block) {
      const p = `features.${layer}`;
      // Convolutions keep their bias with BN too, as torchvision's vgg16_bn does (138,365,992 parameters).
      x = b.conv(x, p, out, 3, { pad: 1, bias: true });
      if (o.batchNorm) x = b.batchNorm(x, `${p}.bn`);
      x = b.relu(x, p);
      layer++;
    }
    x = b.maxPool(x, `features.pool${bi + 1}`, 2, 2);
  });
  let f = b.flatten(x, 'flatten');
  f = b.reluFeatures(b.linear(f, 'classifier.0', fcWidth), 'classifier.0');
  f = b.reluFeatures(b.linear(f, 'classifier.3', fcWidth), 'classifier.3');
  b.linear(f, 'classifier.6', o.classes, 'logits');
  return b.model('vgg16', o.inputShape, o.classes, 'logits');
}

/** ResNet-50 (v1.5: stride on the 3x3 convolution), bottleneck blocks 3-4-6-3 with residual Add. */
export function resnet50(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('resnet50', options, { batchNorm: true });
  const [c, h, w] = o.inputShape;
  if (h < 32 || w < 32) throw new TrtnError('ERR_INVALID_ARG', `resnet50: the input must be at least 32x32, got ${h}x${w}`);
  const b = new ModelBuilder(o.weights, o.seed);
  // Without BN the convolutions get biases so the network still has per-channel offsets.
  const convBn = (x: Activation, p: string, out: number, k: number, stride = 1, relu = true, gamma?: [number, number]): Activation => {
    let y = b.conv(x, p, out, k, { stride, pad: Math.floor(k / 2), bias: !o.batchNorm });
    if (o.batchNorm) y = b.batchNorm(y, `${p}.bn`, gamma);
    return relu ? b.relu(y, p) : y;
  };
  let x: Activation = { name: 'input', channels: c, height: h, width: w };
  x = convBn(x, 'conv1', 64, 7, 2);
  x = b.maxPool(x, 'maxpool', 3, 2, 1);
  const stages: [number, number, number][] = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
  stages.forEach(([width, blocks, stride], si) => {
    for (let bi = 0; bi < blocks; bi++) {
      const p = `layer${si + 1}.${bi}`;
      const s = bi === 0 ? stride : 1;
      let y = convBn(x, `${p}.conv1`, width, 1);
      y = convBn(y, `${p}.conv2`, width, 3, s);
      // A small last gamma keeps the residual sum's variance from growing block after block.
      y = convBn(y, `${p}.conv3`, width * 4, 1, 1, false, [0.2, 0.4]);
      const shortcut = bi === 0 ? convBn(x, `${p}.downsample`, width * 4, 1, s, false) : x;
      x = b.relu(b.add(y, shortcut, p), `${p}.out`);
    }
  });
  x = b.globalAveragePool(x, 'avgpool');
  b.linear(b.flatten(x, 'flatten'), 'fc', o.classes, 'logits');
  return b.model('resnet50', o.inputShape, o.classes, 'logits');
}

export interface MobileNetV1Options extends GeneratorOptions {
  /** Width multiplier alpha (default 1): every layer has floor(channels * alpha) channels (Keras rule). */
  alpha?: number;
}

/** MobileNet_v1: a 3x3 stride-2 convolution then 13 depthwise-separable blocks, global pooling and FC. */
export function mobilenetV1(options: MobileNetV1Options = {}): OnnxModel {
  const o = resolveOptions('mobilenet_v1', options, { batchNorm: true });
  const alpha = options.alpha ?? 1;
  if (!(typeof alpha === 'number' && alpha > 0 && alpha <= 4)) throw new TrtnError('ERR_INVALID_ARG', `mobilenet_v1: alpha must be in (0, 4], got ${alpha}`);
  const [c, h, w] = o.inputShape;
  if (h < 32 || w < 32) throw new TrtnError('ERR_INVALID_ARG', `mobilenet_v1: the input must be at least 32x32, got ${h}x${w}`);
  const ch = (n: number): number => Math.max(1, Math.floor(n * alpha));
  const b = new ModelBuilder(o.weights, o.seed);
  const convBn = (x: Activation, p: string, out: number, k: number, stride: number, group = 1): Activation => {
    let y = b.conv(x, p, out, k, { stride, pad: Math.floor(k / 2), group, bias: !o.batchNorm });
    if (o.batchNorm) y = b.batchNorm(y, `${p}.bn`);
    return b.relu(y, p);
  };
  let x: Activation = { name: 'input', channels: c, height: h, width: w };
  x = convBn(x, 'conv0', ch(32), 3, 2);
  const blocks: [number, number][] = [
    [64, 1], [128, 2], [128, 1], [256, 2], [256, 1], [512, 2],
    [512, 1], [512, 1], [512, 1], [512, 1], [512, 1], [1024, 2], [1024, 1],
  ];
  blocks.forEach(([out, stride], i) => {
    x = convBn(x, `block${i + 1}.dw`, x.channels, 3, stride, x.channels);
    x = convBn(x, `block${i + 1}.pw`, ch(out), 1, 1);
  });
  x = b.globalAveragePool(x, 'avgpool');
  b.linear(b.flatten(x, 'flatten'), 'fc', o.classes, 'logits');
  return b.model('mobilenet_v1', o.inputShape, o.classes, 'logits');
}

/**
 * The small "normal CNN" of the companion QAT study: conv(16,3x3)-relu-maxpool-conv(32,3x3)-relu-maxpool-dense.
 * 20,490 parameters at 28x28x1 with 10 classes. Defaults: inputShape [1,28,28], 10 classes, no BatchNorm.
 */
export function cnn(options: GeneratorOptions = {}): OnnxModel {
  const o = resolveOptions('cnn', options, { batchNorm: false, inputShape: [1, 28, 28], classes: 10 });
  const [c, h, w] = o.inputShape;
  if (h < 4 || w < 4) throw new TrtnError('ERR_INVALID_ARG', `cnn: the input must be at least 4x4, got ${h}x${w}`);
  const b = new ModelBuilder(o.weights, o.seed);
  let x: Activation = { name: 'input', channels: c, height: h, width: w };
  for (const [i, out] of [16, 32].entries()) {
    const p = `conv${i + 1}`;
    x = b.conv(x, p, out, 3, { pad: 1, bias: !o.batchNorm });
    if (o.batchNorm) x = b.batchNorm(x, `${p}.bn`);
    x = b.maxPool(b.relu(x, p), `pool${i + 1}`, 2, 2);
  }
  b.linear(b.flatten(x, 'flatten'), 'fc', o.classes, 'logits');
  return b.model('cnn', o.inputShape, o.classes, 'logits');
}

export const MODEL_NAMES = ['vgg16', 'resnet50', 'mobilenet_v1', 'cnn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export type GenerateModelOptions = GeneratorOptions & { fcWidth?: number; alpha?: number };

/** Generate one of the study's models by name. */
export function generateModel(name: ModelName, options: GenerateModelOptions = {}): OnnxModel {
  switch (name) {
    case 'vgg16':
      return vgg16(options);
    case 'resnet50':
      return resnet50(options);
    case 'mobilenet_v1':
      return mobilenetV1(options);
    case 'cnn':
      return cnn(options);
    default:
      throw new TrtnError('ERR_INVALID_ARG', `generateModel: unknown model '${String(name)}' (known: ${MODEL_NAMES.join(', ')})`);
  }
}

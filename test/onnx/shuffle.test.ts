import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { attr, makeNode } from '../../lib/onnx/graph.js';
import { serializeModel } from '../../lib/onnx/io.js';
import type { OnnxModel } from '../../lib/onnx/model.js';
import { rewriteChannelShuffles } from '../../lib/onnx/shuffle.js';
import { foldBatchNorm } from '../../lib/onnx/fold.js';
import { makeInt64Tensor } from '../../lib/onnx/tensor.js';
import { generateModernModel } from '../../lib/models/index.js';
import { synthetic } from '../../lib/data/index.js';
import { quantizeModel } from '../../lib/quantize/index.js';
import { readBatches } from '../../lib/quantize/channels.js';
import { ORT_DISABLED_OPTIMIZERS } from '../../lib/onnx/qdq.js';
import '../../lib/backends/onnxruntime/index.js'; // registers the statistics host calibration runs in
import { model, randomFeeds, seeded, weight } from '../quant/helpers.js';

async function run(m: OnnxModel, input: string, x: Float32Array, dims: number[], options: ort.InferenceSession.SessionOptions = {}): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(serializeModel(m), options);
  const out = Object.values(await s.run({ [input]: new ort.Tensor('float32', x, dims) }))[0]!.data as Float32Array;
  await s.release();
  return out;
}

const count = (m: OnnxModel, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;
/** Transposes of a channel shuffle (5-D, swapping the group and channel axes). */
const shuffles = (m: OnnxModel) => m.graph.nodes.filter((n) => n.opType === 'Transpose' && n.attributes.some((a) => a.name === 'perm' && a.ints?.join() === '0,2,1,3,4')).length;

/** x[N,8,4,4] -> conv a (4) , conv b (4) -> Concat -> shuffle (Reshape [0,2,4,4,4] with `perm`) -> conv -> y. */
function oneShuffle(perm = [0, 2, 1, 3, 4], bChannels = 4): OnnxModel {
  const rnd = seeded(3);
  const conv = (name: string, x: string, w: string, y: string) => makeNode('Conv', [x, w], [y], { name, attributes: [attr.ints('kernel_shape', [1, 1])] });
  return model(
    [
      conv('ca', 'x', 'wa', 'a'),
      conv('cb', 'x', 'wb', 'b'),
      makeNode('Concat', ['a', 'b'], ['z'], { name: 'cat', attributes: [attr.int('axis', 1)] }),
      makeNode('Reshape', ['z', 's5'], ['z5'], { name: 'r5' }),
      makeNode('Transpose', ['z5'], ['t5'], { name: 'shuffle', attributes: [attr.ints('perm', perm)] }),
      makeNode('Reshape', ['t5', 's4'], ['s'], { name: 'r4' }),
      conv('out', 's', 'wo', 'y'),
    ],
    [weight('wa', [4, 8, 1, 1], rnd), weight('wb', [bChannels, 8, 1, 1], rnd), weight('wo', [3, 4 + bChannels, 1, 1], rnd), makeInt64Tensor('s5', [0, 2, 4, 4, 4]), makeInt64Tensor('s4', [0, 8, 4, 4])],
    { name: 'x', dims: ['N', 8, 4, 4] },
    [{ name: 'y', dims: ['N', 3, 4, 4] }],
  );
}

describe('rewriteChannelShuffles (lib/onnx/shuffle.ts)', () => {
  it('rewrites every shuffle of ShuffleNetV2 without a Transpose and leaves its FP32 output unchanged', async () => {
    const m = foldBatchNorm(generateModernModel('shufflenet_v2', { inputShape: [3, 32, 32], classes: 10, seed: 4 }));
    const { model: r, rewrites } = rewriteChannelShuffles(m);
    expect(rewrites).toHaveLength(16);
    expect(count(r, 'Transpose')).toBe(0);
    expect(shuffles(m)).toBe(16);
    // 13 shuffles followed by a Split into halves; the last three of a stage feed the next stage (or conv5) whole
    expect(rewrites.reduce((n, w) => n + w.splits, 0)).toBe(13);
    // each Split's branch half folds into its 1x1 conv; the passthrough half and a stage's depthwise reader need a
    // permutation conv; the last shuffle folds into conv5
    expect(rewrites.at(-1)!.permutations).toEqual([]);
    expect(rewrites.at(-1)!.folded).toEqual(['conv5']);
    expect(rewrites.reduce((n, w) => n + w.permutations.length, 0)).toBe(15);
    // the shapes and split sizes of the removed Reshapes and Splits go with them: every initializer left is read
    const read = new Set(r.graph.nodes.flatMap((n) => n.inputs));
    expect(r.graph.initializers.filter((t) => !read.has(t.name)).map((t) => t.name)).toEqual([]);
    const x = randomFeeds(1, [2, 3, 32, 32], 5)[0]!;
    const [a, b] = [await run(m, 'input', x, [2, 3, 32, 32]), await run(r, 'input', x, [2, 3, 32, 32])];
    const scale = Math.max(...a.map(Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThan(1e-5 * scale);
  });

  it('folds a shuffle read by a convolution into its weights (no new node but the Concat it read)', async () => {
    const m = oneShuffle();
    const { model: r, rewrites } = rewriteChannelShuffles(m);
    expect(rewrites).toEqual([{ node: 'shuffle', channels: 8, splits: 0, folded: ['out'], permutations: [] }]);
    expect(r.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Conv', 'Concat', 'Conv']);
    const x = randomFeeds(1, [2, 8, 4, 4], 2)[0]!;
    const [a, b] = [await run(m, 'x', x, [2, 8, 4, 4]), await run(r, 'x', x, [2, 8, 4, 4])];
    for (let i = 0; i < a.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 5);
  });

  it('leaves alone a Transpose that is not a shuffle and a Concat of unequal halves', () => {
    const other = oneShuffle([0, 1, 2, 4, 3]);
    expect(rewriteChannelShuffles(other).model).toBe(other);
    const uneven = oneShuffle(undefined, 6);
    expect(rewriteChannelShuffles(uneven).rewrites).toEqual([]);
  });

  it('an int8 build for ONNX Runtime rewrites the shuffles (the report says so) and stays close to FP32', async () => {
    const m = generateModernModel('shufflenet_v2', { inputShape: [3, 32, 32], classes: 10, seed: 4 });
    const q = await quantizeModel(m, { precision: 'int8', data: synthetic({ shape: [3, 32, 32], count: 32, seed: 6, distribution: 'normal' }), calibSize: 32, batchSize: 16 });
    expect(q.report.channelShuffles).toHaveLength(16);
    expect(q.report.path).toContain('16 channel shuffles rewritten into Split/Concat (15 1x1 permutation convolutions)');
    expect(shuffles(q.model)).toBe(0);
    // held-out inputs from the calibration data's distribution
    const x = (await readBatches(synthetic({ shape: [3, 32, 32], count: 4, seed: 7, distribution: 'normal' }), 'input', 4, 4))[0]!.feeds.input!.data as Float32Array;
    const a = await run(m, 'input', x, [4, 3, 32, 32]);
    const b = await run(q.model, 'input', x, [4, 3, 32, 32], { extra: { 'optimization.disable_specified_optimizers': ORT_DISABLED_OPTIMIZERS.join(';') } } as never);
    let [ab, aa, bb] = [0, 0, 0];
    for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i]! * b[i]!, aa + a[i]! ** 2, bb + b[i]! ** 2];
    expect(ab / Math.sqrt(aa * bb)).toBeGreaterThan(0.99);
    // TensorRT runs shuffles itself: its Q/DQ model keeps them
    const trt = await quantizeModel(m, { precision: 'int8', data: synthetic({ shape: [3, 32, 32], count: 16, seed: 6, distribution: 'normal' }), calibSize: 16, batchSize: 16, target: 'tensorrt' });
    expect(trt.report.channelShuffles).toBeUndefined();
    expect(shuffles(trt.model)).toBe(16);
  });
});

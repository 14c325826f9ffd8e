/** A study's model specs: built-in generator names, or ONNX files. */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { TrtnError } from '../errors.js';
import { generateModel, MODEL_NAMES, type ModelName } from '../models/index.js';
import { serializeModel } from '../onnx/io.js';

export interface StudyModel {
  name: string;
  source: string;
  bytes: Uint8Array;
}

export function isGeneratorName(spec: string): spec is ModelName {
  return (MODEL_NAMES as readonly string[]).includes(spec);
}

/** Generated models have 10 classes (the study's CIFAR-10 / Fashion-MNIST heads) at the suite's input shape. */
export async function loadStudyModel(spec: string, inputShape: [number, number, number], seed: number): Promise<StudyModel> {
  if (isGeneratorName(spec)) {
    const model = generateModel(spec, { inputShape, classes: 10, seed });
    return { name: spec, source: spec, bytes: serializeModel(model) };
  }
  if (!spec.endsWith('.onnx') && !spec.includes('/')) {
    throw new TrtnError('ERR_INVALID_ARG', `model '${spec}' is neither a built-in generator (${MODEL_NAMES.join(', ')}) nor an ONNX file path`, { file: spec });
  }
  try {
    const bytes = await readFile(spec);
    return { name: basename(spec).replace(/\.onnx$/i, ''), source: spec, bytes };
  } catch (err) {
    throw new TrtnError('ERR_IO', `cannot read model file '${spec}': ${(err as Error).message}`, { file: spec }, { cause: err });
  }
}

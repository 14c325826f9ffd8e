/**
 * Triton's ModelConfig (model_config.proto), the subset trt-node writes and serves: name, platform, max_batch_size,
 * input/output, dynamic_batching, instance_group, version_policy, default_model_filename. Parsed from and written to
 * config.pbtxt, and validated with the rules Triton's model configuration documentation states.
 */
import { TrtnError } from '../errors.js';
import { EnumValue, formatTextFormat, isMessage, parseTextFormat, type TextMessage, type TextValue, type WritableMessage } from './pbtxt.js';
import { TRITON_TYPES, type TritonType } from './dtypes.js';

export interface TensorConfig {
  name: string;
  dataType: TritonType;
  /** Without the batch dimension when maxBatchSize > 0; -1 marks a variable-size dimension. */
  dims: number[];
  /** reshape.shape: the shape the model itself sees, where it differs from dims. */
  reshape?: number[];
}

export interface DynamicBatchingConfig {
  preferredBatchSize: number[];
  maxQueueDelayMicroseconds: number;
  preserveOrdering?: boolean;
}

export type InstanceKind = 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';
export interface InstanceGroupConfig {
  name?: string;
  kind: InstanceKind;
  count: number;
  gpus?: number[];
}

export type VersionPolicy = { latest: number } | { all: true } | { specific: number[] };

export interface ModelConfig {
  name: string;
  platform: string;
  backend?: string;
  maxBatchSize: number;
  input: TensorConfig[];
  output: TensorConfig[];
  dynamicBatching?: DynamicBatchingConfig;
  instanceGroup: InstanceGroupConfig[];
  versionPolicy?: VersionPolicy;
  defaultModelFilename?: string;
  /** Fields of ModelConfig present in the file that this implementation reads but does not act on. */
  ignored: string[];
}

export const PLATFORMS = { tensorrt: 'tensorrt_plan', onnxruntime: 'onnxruntime_onnx' } as const;
/** The model file name Triton looks for in a version directory, per platform (unless default_model_filename). */
export const DEFAULT_MODEL_FILENAME: Record<string, string> = { tensorrt_plan: 'model.plan', onnxruntime_onnx: 'model.onnx' };
const KINDS: readonly InstanceKind[] = ['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL'];

/** ModelConfig fields (model_config.proto) that change nothing this server does; parsed and reported as ignored. */
const IGNORED_FIELDS = new Set(['optimization', 'model_warmup', 'parameters', 'response_cache', 'metric_tags', 'model_repository_agents', 'runtime', 'cc_model_filenames', 'model_operations', 'label_filename']);
/** ModelConfig fields whose meaning this server does not implement: a config using them is refused, not half-served. */
const UNSUPPORTED_FIELDS = new Set(['sequence_batching', 'ensemble_scheduling', 'batch_input', 'batch_output', 'model_transaction_policy']);

function configError(file: string, message: string, line?: number): TrtnError {
  return new TrtnError('ERR_DATA_FORMAT', `${file}${line ? `:${line}` : ''}: ${message}`, { file });
}

type Kind = 'string' | 'int' | 'bool' | 'enum' | 'message' | 'any';
interface FieldSpec {
  kind: Kind;
  repeated?: boolean;
  fields?: Record<string, FieldSpec>;
}
const TENSOR_FIELDS: Record<string, FieldSpec> = {
  name: { kind: 'string' },
  data_type: { kind: 'enum' },
  format: { kind: 'enum' },
  dims: { kind: 'int', repeated: true },
  reshape: { kind: 'message', fields: { shape: { kind: 'int', repeated: true } } },
  is_shape_tensor: { kind: 'bool' },
  is_non_linear_format_io: { kind: 'bool' },
  allow_ragged_batch: { kind: 'bool' },
  optional: { kind: 'bool' },
  label_filename: { kind: 'string' },
};
const SCHEMA: Record<string, FieldSpec> = {
  name: { kind: 'string' },
  platform: { kind: 'string' },
  backend: { kind: 'string' },
  max_batch_size: { kind: 'int' },
  default_model_filename: { kind: 'string' },
  input: { kind: 'message', repeated: true, fields: TENSOR_FIELDS },
  output: { kind: 'message', repeated: true, fields: TENSOR_FIELDS },
  dynamic_batching: {
    kind: 'message',
    fields: {
      preferred_batch_size: { kind: 'int', repeated: true },
      max_queue_delay_microseconds: { kind: 'int' },
      preserve_ordering: { kind: 'bool' },
      priority_levels: { kind: 'int' },
      default_priority_level: { kind: 'int' },
      default_queue_policy: { kind: 'any' },
      priority_queue_policy: { kind: 'any', repeated: true },
    },
  },
  instance_group: {
    kind: 'message',
    repeated: true,
    fields: {
      name: { kind: 'string' },
      kind: { kind: 'enum' },
      count: { kind: 'int' },
      gpus: { kind: 'int', repeated: true },
      profile: { kind: 'string', repeated: true },
      passive: { kind: 'bool' },
      host_policy: { kind: 'string' },
      rate_limiter: { kind: 'any' },
      secondary_devices: { kind: 'any', repeated: true },
    },
  },
  version_policy: {
    kind: 'message',
    fields: {
      latest: { kind: 'message', fields: { num_versions: { kind: 'int' } } },
      all: { kind: 'message', fields: {} },
      specific: { kind: 'message', fields: { versions: { kind: 'int', repeated: true } } },
    },
  },
};

/** A parsed message checked against a schema: scalars by name (last wins), repeated fields as arrays. */
type Checked = Record<string, unknown>;

function check(msg: TextMessage, schema: Record<string, FieldSpec>, file: string, where: string): Checked {
  const out: Checked = {};
  for (const f of msg.fields) {
    const spec = schema[f.name];
    const path = where ? `${where}.${f.name}` : f.name;
    if (!spec) {
      if (!where && (IGNORED_FIELDS.has(f.name) || UNSUPPORTED_FIELDS.has(f.name))) {
        ((out.$other ??= []) as string[]).push(f.name);
        continue;
      }
      throw configError(file, `unknown field '${path}' (not a field of Triton's ModelConfig subset this parser reads)`, f.line);
    }
    const value = checkValue(f.value, spec, file, path, f.line);
    if (spec.repeated) ((out[f.name] ??= []) as unknown[]).push(value);
    else out[f.name] = value;
  }
  return out;
}

function checkValue(v: TextValue, spec: FieldSpec, file: string, path: string, line: number): unknown {
  const bad = (what: string): TrtnError => configError(file, `field '${path}' must be ${what}`, line);
  switch (spec.kind) {
    case 'any':
      return v;
    case 'message':
      if (!isMessage(v)) throw bad('a message { ... }');
      return check(v, spec.fields!, file, path);
    case 'string':
      if (typeof v !== 'string') throw bad('a quoted string');
      return v;
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('an integer');
      return v;
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return v;
    case 'enum':
      if (!(v instanceof EnumValue)) throw bad('an enum name (unquoted)');
      return v.name;
  }
}

function tensors(list: unknown, file: string, what: 'input' | 'output'): TensorConfig[] {
  return ((list ?? []) as Checked[]).map((t, i) => {
    const name = t.name as string | undefined;
    if (!name) throw configError(file, `${what}[${i}] has no name`);
    const dataType = t.data_type as string | undefined;
    if (dataType === undefined || dataType === 'TYPE_INVALID') throw configError(file, `${what} '${name}' must specify data_type`);
    if (!(TRITON_TYPES as readonly string[]).includes(dataType)) throw configError(file, `${what} '${name}' has unknown data_type '${dataType}' (one of ${TRITON_TYPES.join(', ')})`);
    const reshape = (t.reshape as Checked | undefined)?.shape as number[] | undefined;
    return { name, dataType: dataType as TritonType, dims: (t.dims as number[] | undefined) ?? [], ...(t.reshape ? { reshape: reshape ?? [] } : {}) };
  });
}

/** Parse config.pbtxt text into a validated ModelConfig. Every error names the file (and line where known). */
export function parseModelConfig(text: string, file = '<config.pbtxt>'): ModelConfig {
  const raw = check(parseTextFormat(text, file), SCHEMA, file, '');
  const db = raw.dynamic_batching as Checked | undefined;
  const vp = raw.version_policy as Checked | undefined;
  let versionPolicy: VersionPolicy | undefined;
  if (vp) {
    const set = ['latest', 'all', 'specific'].filter((k) => vp[k] !== undefined);
    if (set.length !== 1) throw configError(file, `version_policy must set exactly one of latest, all, specific (found ${set.join(', ') || 'none'})`);
    if (vp.latest) versionPolicy = { latest: ((vp.latest as Checked).num_versions as number | undefined) ?? 0 };
    else if (vp.all) versionPolicy = { all: true };
    else versionPolicy = { specific: ((vp.specific as Checked).versions as number[] | undefined) ?? [] };
  }
  const config: ModelConfig = {
    name: (raw.name as string | undefined) ?? '',
    platform: (raw.platform as string | undefined) ?? '',
    ...(raw.backend !== undefined ? { backend: raw.backend as string } : {}),
    maxBatchSize: (raw.max_batch_size as number | undefined) ?? 0,
    input: tensors(raw.input, file, 'input'),
    output: tensors(raw.output, file, 'output'),
    ...(db
      ? {
          dynamicBatching: {
            preferredBatchSize: (db.preferred_batch_size as number[] | undefined) ?? [],
            maxQueueDelayMicroseconds: (db.max_queue_delay_microseconds as number | undefined) ?? 0,
            ...(db.preserve_ordering !== undefined ? { preserveOrdering: db.preserve_ordering as boolean } : {}),
          },
        }
      : {}),
    instanceGroup: ((raw.instance_group as Checked[] | undefined) ?? []).map((g) => ({
      ...(g.name !== undefined ? { name: g.name as string } : {}),
      kind: ((g.kind as string | undefined) ?? 'KIND_AUTO') as InstanceKind,
      // count 0 (unset in proto3) means the documented default of one instance.
      count: (g.count as number | undefined) || 1,
      ...(g.gpus !== undefined ? { gpus: g.gpus as number[] } : {}),
    })),
    ...(versionPolicy ? { versionPolicy } : {}),
    ...(raw.default_model_filename !== undefined ? { defaultModelFilename: raw.default_model_filename as string } : {}),
    ignored: (raw.$other as string[] | undefined) ?? [],
  };
  validateModelConfig(config, file);
  return config;
}

/**
 * The model-configuration rules Triton documents: platform or backend given; max_batch_size >= 0; every input and
 * output named once with a data_type and non-empty dims (unless reshape gives the model's shape), each dim >= 1 or
 * -1; preferred batch sizes positive and no larger than max_batch_size; instance counts and kinds valid.
 */
export function validateModelConfig(config: ModelConfig, file = '<config.pbtxt>'): void {
  if (!config.platform && !config.backend) throw configError(file, 'must specify platform or backend');
  if (!Number.isInteger(config.maxBatchSize) || config.maxBatchSize < 0) throw configError(file, `max_batch_size must be >= 0, got ${config.maxBatchSize}`);
  if (config.input.length === 0) throw configError(file, 'must specify at least one input');
  if (config.output.length === 0) throw configError(file, 'must specify at least one output');
  for (const [what, list] of [['input', config.input], ['output', config.output]] as const) {
    const seen = new Set<string>();
    for (const t of list) {
      if (seen.has(t.name)) throw configError(file, `${what} '${t.name}' is specified more than once`);
      seen.add(t.name);
      if (!(TRITON_TYPES as readonly string[]).includes(t.dataType)) throw configError(file, `${what} '${t.name}' has unknown data_type '${t.dataType}'`);
      if (t.dims.length === 0 && t.reshape === undefined) throw configError(file, `${what} '${t.name}' must specify dims (an empty shape needs reshape: { shape: [ ] })`);
      const badDim = t.dims.find((d) => !(Number.isInteger(d) && (d >= 1 || d === -1)));
      if (badDim !== undefined) throw configError(file, `${what} '${t.name}' dims [${t.dims.join(', ')}]: each dimension must be an integer >= 1, or -1 for a variable size`);
      if (t.reshape) {
        const badR = t.reshape.find((d) => !(Number.isInteger(d) && (d >= 1 || d === -1)));
        if (badR !== undefined) throw configError(file, `${what} '${t.name}' reshape [${t.reshape.join(', ')}]: each dimension must be >= 1 or -1`);
      }
    }
  }
  const db = config.dynamicBatching;
  if (db) {
    for (const size of db.preferredBatchSize) {
      if (!(Number.isInteger(size) && size >= 1)) throw configError(file, `dynamic_batching preferred_batch_size ${size} must be positive`);
      if (size > config.maxBatchSize) throw configError(file, `dynamic_batching preferred_batch_size ${size} must be <= max_batch_size (${config.maxBatchSize})`);
    }
    if (!(Number.isInteger(db.maxQueueDelayMicroseconds) && db.maxQueueDelayMicroseconds >= 0)) throw configError(file, `dynamic_batching max_queue_delay_microseconds must be >= 0, got ${db.maxQueueDelayMicroseconds}`);
  }
  for (const g of config.instanceGroup) {
    if (!KINDS.includes(g.kind)) throw configError(file, `instance_group kind '${g.kind}' is not one of ${KINDS.join(', ')}`);
    if (!(Number.isInteger(g.count) && g.count >= 1)) throw configError(file, `instance_group count must be >= 1, got ${g.count}`);
    if (g.gpus && g.kind !== 'KIND_GPU' && g.kind !== 'KIND_AUTO' && g.gpus.length > 0) throw configError(file, `instance_group ${g.kind} cannot list gpus`);
  }
  const vp = config.versionPolicy;
  if (vp && 'latest' in vp && !(vp.latest >= 1)) throw configError(file, `version_policy latest num_versions must be >= 1, got ${vp.latest}`);
}

/** Write a ModelConfig as config.pbtxt text (validated first, so an invalid config is never written). */
export function formatModelConfig(config: ModelConfig): string {
  validateModelConfig(config, `config.pbtxt of '${config.name}'`);
  const tensor = (t: TensorConfig): WritableMessage => ({
    name: t.name,
    data_type: new EnumValue(t.dataType),
    dims: t.dims,
    reshape: t.reshape ? { shape: t.reshape } : undefined,
  });
  const vp = config.versionPolicy;
  const msg: WritableMessage = {
    name: config.name,
    platform: config.platform || undefined,
    backend: config.backend,
    max_batch_size: config.maxBatchSize,
    default_model_filename: config.defaultModelFilename,
    version_policy: vp ? ('latest' in vp ? { latest: { num_versions: vp.latest } } : 'all' in vp ? { all: {} } : { specific: { versions: vp.specific } }) : undefined,
    input: config.input.map(tensor),
    output: config.output.map(tensor),
    dynamic_batching: config.dynamicBatching
      ? {
          preferred_batch_size: config.dynamicBatching.preferredBatchSize.length ? config.dynamicBatching.preferredBatchSize : undefined,
          max_queue_delay_microseconds: config.dynamicBatching.maxQueueDelayMicroseconds,
          preserve_ordering: config.dynamicBatching.preserveOrdering,
        }
      : undefined,
    instance_group: config.instanceGroup.length
      ? config.instanceGroup.map((g) => ({ name: g.name, count: g.count, kind: new EnumValue(g.kind), gpus: g.gpus }))
      : undefined,
  };
  return formatTextFormat(msg);
}

/** True when a config uses a ModelConfig field this server refuses (sequence batching, ensembles, ...). */
export function unsupportedFields(config: ModelConfig): string[] {
  return config.ignored.filter((f) => UNSUPPORTED_FIELDS.has(f));
}

/**
 * An Open Inference Protocol (KServe v2) HTTP/REST server over a Triton model repository, with Triton's binary
 * tensor data extension and dynamic batcher. node:http only; inference runs on the engines' own threads, so the
 * event loop only parses, batches and answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { TrtnError } from '../errors.js';
import { is, invalid } from '../engine/options.js';
import { loadEngine } from '../engine/api.js';
import type { BuildOptions } from '../engine/options.js';
import type { BackendName, Engine, Logger, TensorData } from '../engine/types.js';
import { packageRoot } from '../native/addon.js';
import { DynamicBatcher, type BatcherStats } from './batcher.js';
import { dtypeOfTriton, protocolType } from './dtypes.js';
import { PLATFORMS, type ModelConfig } from './model-config.js';
import { BINARY_HEADER, decodeInferRequest, encodeInferResponse, protocolError, type ExpectedInput } from './protocol.js';
import { checkEngineAgainstConfig, readModelRepository } from './repository.js';

export interface ServeOptions {
  /** A Triton model repository directory (as exportModelRepository writes). */
  repository: string;
  /** TCP port; 0 (default 8000 from the CLI) picks a free one. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1: expose it deliberately). */
  host?: string;
  /** Largest request body accepted, bytes (default 64 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** ONNX Runtime session options for the models it loads. */
  session?: BuildOptions['session'];
  logger?: Logger;
}

export interface ServedModelInfo {
  name: string;
  version: number;
  platform: string;
  instances: number;
  batching: BatcherStats;
}

export interface ModelServer extends AsyncDisposable {
  /** http://host:port */
  readonly url: string;
  readonly port: number;
  readonly models: readonly ServedModelInfo[];
  /** Stop accepting, let in-flight requests finish, dispose the engines. */
  close(): Promise<void>;
}

interface ServedModel {
  name: string;
  version: number;
  config: ModelConfig;
  engines: Engine[];
  batcher: DynamicBatcher;
  inputs: ExpectedInput[];
  outputs: string[];
}

const SERVER_NAME = 'trt-node';
const EXTENSIONS = ['binary_tensor_data'];
const BACKEND_OF: Record<string, BackendName> = { [PLATFORMS.tensorrt]: 'tensorrt', [PLATFORMS.onnxruntime]: 'onnxruntime' };

function expectedShape(config: ModelConfig, dims: readonly number[]): number[] {
  return config.maxBatchSize > 0 ? [-1, ...dims] : [...dims];
}

async function loadModels(options: ServeOptions): Promise<ServedModel[]> {
  const served: ServedModel[] = [];
  try {
    for (const model of await readModelRepository(options.repository)) {
      const { config } = model;
      const count = config.instanceGroup.length ? config.instanceGroup.reduce((a, g) => a + g.count * (g.kind === 'KIND_GPU' && g.gpus?.length ? g.gpus.length : 1), 0) : 1;
      for (const { version, file } of model.versions) {
        const engines: Engine[] = [];
        const entry: ServedModel = {
          name: model.name, version, config, engines,
          batcher: undefined as unknown as DynamicBatcher,
          inputs: config.input.map((t) => {
            const dtype = dtypeOfTriton(t.dataType);
            if (!dtype) throw new TrtnError('ERR_UNSUPPORTED', `${model.configFile}: input '${t.name}' is ${t.dataType}, which trt-node engines cannot take`, { file: model.configFile, tensor: t.name });
            return { name: t.name, dtype, shape: expectedShape(config, t.dims) };
          }),
          outputs: config.output.map((t) => t.name),
        };
        served.push(entry);
        for (let i = 0; i < count; i++) {
          const engine = await loadEngine(file, { backend: BACKEND_OF[config.platform], session: options.session, logger: options.logger });
          engines.push(engine);
          checkEngineAgainstConfig(engine, model);
        }
        const db = config.dynamicBatching;
        entry.batcher = new DynamicBatcher(engines.map((e) => (feeds) => e.infer(feeds)), {
          maxBatchSize: config.maxBatchSize,
          dynamic: db !== undefined,
          preferredBatchSizes: db?.preferredBatchSize ?? [],
          maxQueueDelayMicroseconds: db?.maxQueueDelayMicroseconds ?? 0,
        });
      }
    }
  } catch (err) {
    for (const m of served) for (const e of m.engines) e.dispose();
    throw err;
  }
  return served;
}

const notFound = (what: string): TrtnError => protocolError(404, 'ERR_INVALID_ARG', what);

function send(res: ServerResponse, status: number, body?: Buffer | string, headers: Record<string, string | number> = {}): void {
  if (res.headersSent) return;
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...(payload ? { 'content-type': 'application/json', 'content-length': payload.byteLength } : { 'content-length': 0 }), ...headers });
  res.end(payload);
}

function sendError(res: ServerResponse, err: unknown, logger?: Logger): void {
  const status = err instanceof TrtnError && typeof err.details.status === 'number' ? err.details.status : err instanceof TrtnError && ['ERR_SHAPE', 'ERR_DTYPE', 'ERR_INVALID_ARG'].includes(err.code) ? 400 : 500;
  const message = err instanceof Error ? err.message : String(err);
  if (status >= 500) logger?.('error', `inference server: ${message}`);
  send(res, status, JSON.stringify({ error: message }), status === 413 ? { connection: 'close' } : {});
}

/** The request body, refusing (413) past `limit` bytes without buffering the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const tooLarge = (): TrtnError => protocolError(413, 'ERR_INVALID_ARG', `request body exceeds the server's limit of ${limit} bytes`);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.byteLength;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** Serve every model of a repository over the Open Inference Protocol; resolves once all are loaded and listening. */
export async function serve(options: ServeOptions): Promise<ModelServer> {
  if (!is.object(options)) throw invalid('options', 'an object', options);
  if (!is.string(options.repository)) throw invalid('repository', 'a model repository directory', options.repository);
  const port = options.port ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw invalid('port', 'an integer port 0..65535', port);
  const host = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  if (!is.posInt(maxBody)) throw invalid('maxBodyBytes', 'a positive integer', maxBody);
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const models = await loadModels(options);
  let closing = false;

  const find = (name: string, v?: string): ServedModel => {
    const all = models.filter((m) => m.name === name);
    if (all.length === 0) throw notFound(`unknown model '${name}' (served: ${[...new Set(models.map((m) => m.name))].join(', ')})`);
    if (v === undefined) return all[all.length - 1]!;
    const hit = all.find((m) => String(m.version) === v);
    if (!hit) throw notFound(`unknown version '${v}' of model '${name}' (served: ${all.map((m) => m.version).join(', ')})`);
    return hit;
  };

  async function infer(model: ServedModel, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req, maxBody);
    const header = req.headers[BINARY_HEADER];
    const request = decodeInferRequest(body, Array.isArray(header) ? header[0] : header, model.inputs, model.outputs);
    const rows = model.config.maxBatchSize > 0 ? Object.values(request.feeds)[0]!.dims[0]! : 1;
    if (model.config.maxBatchSize > 0) {
      const other = Object.entries(request.feeds).find(([, t]) => t.dims[0] !== rows);
      if (other) throw protocolError(400, 'ERR_SHAPE', `input '${other[0]}' has batch size ${other[1].dims[0]}, other inputs ${rows}`, other[0]);
      if (rows > model.config.maxBatchSize) throw protocolError(400, 'ERR_SHAPE', `batch size ${rows} exceeds max_batch_size ${model.config.maxBatchSize} of model '${model.name}'`);
    }
    const out = await model.batcher.submit(request.feeds, rows);
    const wanted = request.outputs ?? model.outputs.map((name) => ({ name, binary: request.binaryOutput }));
    const outputs = wanted.map((w) => ({ name: w.name, tensor: out[w.name] as TensorData, binary: w.binary }));
    const { body: payload, headerLength } = encodeInferResponse({ modelName: model.name, modelVersion: String(model.version), id: request.id }, outputs);
    send(res, 200, payload, headerLength !== undefined ? { 'content-type': 'application/octet-stream', [BINARY_HEADER]: headerLength } : {});
  }

  function modelMetadata(model: ServedModel): string {
    const all = models.filter((m) => m.name === model.name).map((m) => String(m.version));
    const tensor = (t: { name: string; dataType: string; dims: number[] }) => ({ name: t.name, datatype: protocolType(dtypeOfTriton(t.dataType)!), shape: expectedShape(model.config, t.dims) });
    return JSON.stringify({ name: model.name, versions: all, platform: model.config.platform, inputs: model.config.input.map(tensor), outputs: model.config.output.map(tensor) });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const needs = (m: string): void => {
      if (method !== m) throw protocolError(405, 'ERR_INVALID_ARG', `${method} ${path}: use ${m}`);
    };
    if (path === '/v2/health/live') {
      needs('GET');
      return send(res, 200);
    }
    if (path === '/v2/health/ready') {
      needs('GET');
      return closing ? send(res, 503, JSON.stringify({ error: 'server is shutting down' })) : send(res, 200);
    }
    if (path === '/v2' || path === '/v2/') {
      needs('GET');
      return send(res, 200, JSON.stringify({ name: SERVER_NAME, version, extensions: EXTENSIONS }));
    }
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer))?\/?$/.exec(path);
    if (!m) throw notFound(`no such endpoint: ${method} ${path}`);
    let name: string;
    let v: string | undefined;
    try {
      name = decodeURIComponent(m[1]!);
      v = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    } catch {
      throw protocolError(400, 'ERR_INVALID_ARG', `malformed URL escape in ${path}`);
    }
    const model = find(name, v);
    if (m[3] === 'infer') {
      needs('POST');
      if (closing) throw protocolError(503, 'ERR_INVALID_ARG', 'server is shutting down');
      return infer(model, req, res);
    }
    needs('GET');
    if (m[3] === 'ready') return send(res, 200);
    return send(res, 200, modelMetadata(model));
  }

  const inFlight = new Set<Promise<void>>();
  const server: Server = createServer((req, res) => {
    const p = route(req, res).catch((err) => sendError(res, err, options.logger));
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":"malformed HTTP request"}');
    else socket.destroy();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    for (const mm of models) for (const e of mm.engines) e.dispose();
    throw new TrtnError('ERR_IO', `cannot listen on ${host}:${port}: ${(err as Error).message}`, { port }, { cause: err });
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled(models.flatMap((mm) => mm.engines.map((e) => e[Symbol.asyncDispose]())));
    })();
    return closed;
  };
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    models: models.map((mm) => ({ name: mm.name, version: mm.version, platform: mm.config.platform, instances: mm.engines.length, batching: mm.batcher.stats })),
    close,
    [Symbol.asyncDispose]: close,
  };
}

// A Fashion-MNIST classification service on plain node:http with one engine.
//   POST /classify   body: raw 28x28 uint8 images, 784 bytes each (one image or a batch of up to --max-batch)
//                    -> { predictions: [{ class, name, logits }] }   (logits: the model's 10 float32 outputs)
//   GET  /health     -> { backend, precision, path, requests }
// Errors are JSON { error: { code, message } } with 400 (bad body), 404, 405, 413 (too large), 500.
//
//   npx tsc -p tsconfig.json && node bench/service/server.mjs [--model cnn] [--precision fp32|int8]
//       [--port 8080] [--max-batch 64] [--calib-images 512]
// Prints `listening on http://127.0.0.1:PORT` when ready; SIGTERM / SIGINT close it and dispose the engine.
import { createServer } from 'node:http';
import { fixture, IMAGE_BYTES, normalizeImages, parseArgs, importLib } from './common.mjs';

const { buildEngine, TrtnError } = await importLib();
const { fashionMnist, subset, FASHION_MNIST_CLASSES } = await importLib('data/index.js');

/** Build the one engine the service uses; int8 calibrates on a stratified subset of the training split. */
export async function buildClassifier({ model = 'cnn', precision = 'fp32', calibImages = 512, logger } = {}) {
  const options = { backend: 'onnxruntime', precision, logger };
  if (precision === 'int8') {
    const train = await fashionMnist({ split: 'train' });
    options.calib = { data: subset(train, calibImages, { stratified: true, seed: 7 }), batchSize: 64, algorithm: 'entropy' };
  }
  return buildEngine(fixture(model), options);
}

/** Raw image bytes -> the feeds of one infer call (shape [n,1,28,28]). */
export function feedsFor(raw) {
  return { input: { data: normalizeImages(raw), dims: [raw.length / IMAGE_BYTES, 1, 28, 28], dtype: 'float32' } };
}

/** logits [n,10] -> one prediction per image. */
export function predictions(logits) {
  const out = [];
  for (let r = 0; r < logits.length / 10; r++) {
    const row = Array.from(logits.subarray(r * 10, r * 10 + 10));
    let best = 0;
    for (let c = 1; c < 10; c++) if (row[c] > row[best]) best = c;
    out.push({ class: best, name: FASHION_MNIST_CLASSES[best], logits: row });
  }
  return out;
}

function send(res, status, body) {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

function sendError(res, status, code, message) {
  send(res, status, { error: { code, message } });
}

/** The request handler: everything heavy is engine.infer, which does not compute on this thread. */
export function classifierHandler(engine, { maxBatch = 64 } = {}) {
  const maxBytes = maxBatch * IMAGE_BYTES;
  let served = 0;
  return (req, res) => {
    if (req.url === '/health' && req.method === 'GET') {
      return send(res, 200, { backend: engine.backend, precision: engine.precision, path: engine.path, requests: served });
    }
    if (req.url !== '/classify') return sendError(res, 404, 'ERR_NOT_FOUND', `no route ${req.url}`);
    if (req.method !== 'POST') return sendError(res, 405, 'ERR_METHOD', 'POST raw 784-byte images to /classify');
    const chunks = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > maxBytes && !rejected) {
        rejected = true;
        sendError(res, 413, 'ERR_INVALID_ARG', `body over ${maxBytes} bytes (${maxBatch} images of ${IMAGE_BYTES} bytes)`);
        req.destroy();
      } else if (!rejected) chunks.push(chunk);
    });
    req.on('end', async () => {
      if (rejected) return;
      const body = Buffer.concat(chunks, size);
      if (size === 0 || size % IMAGE_BYTES !== 0) {
        return sendError(res, 400, 'ERR_INVALID_ARG', `body is ${size} bytes: expected a positive multiple of ${IMAGE_BYTES} (28x28 uint8 images)`);
      }
      try {
        const outputs = await engine.infer(feedsFor(new Uint8Array(body.buffer, body.byteOffset, size)));
        served++;
        send(res, 200, { predictions: predictions(outputs.logits.data) });
      } catch (err) {
        const user = err instanceof TrtnError && (err.code === 'ERR_SHAPE' || err.code === 'ERR_DTYPE' || err.code === 'ERR_INVALID_ARG');
        sendError(res, user ? 400 : 500, err.code ?? 'ERR_INTERNAL', err.message);
      }
    });
  };
}

async function main() {
  const args = parseArgs({ model: 'cnn', precision: 'fp32', port: 8080, maxBatch: 64, calibImages: 512 });
  const engine = await buildClassifier({ ...args, logger: (severity, message) => console.error(`[${severity}] ${message}`) });
  const server = createServer(classifierHandler(engine, args));
  server.keepAliveTimeout = 5_000;
  // Loopback only: this is a benchmark service, not meant to be reachable from elsewhere.
  server.listen(args.port, '127.0.0.1', () => {
    console.log(`listening on http://127.0.0.1:${server.address().port} (${engine.backend}, ${engine.precision}, ${engine.path})`);
  });
  const stop = () => {
    server.close(async () => {
      await engine[Symbol.asyncDispose]();
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

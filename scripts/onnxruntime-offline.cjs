#!/usr/bin/env node
// tensorrt-node's preinstall, for apps that install it where only the npm registry is reachable.
//
// onnxruntime-node's postinstall (script/install.js) downloads ONNX Runtime's CUDA provider from NuGet whenever
// those files are missing from its bin folder on linux/x64, and an unreachable NuGet fails the whole `npm install`.
// npm runs every package's preinstall before any postinstall (@npmcli/arborist rebuild: preinstall, install,
// postinstall, each across the whole tree), so this script runs first. When NuGet cannot be reached and the user
// chose nothing, it writes a small marked placeholder for each missing provider file; upstream's script then finds
// its files and exits 0, and the CPU provider, the one this package uses, works. Online, with a proxy, or with
// ONNXRUNTIME_NODE_INSTALL(_CUDA) set, it does nothing, so upstream's own behaviour holds. `trt-node doctor`
// reports the placeholders; `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` replaces them with the
// real provider on a machine that reaches NuGet.
//
// Environment for tests: TRTN_ORT_OFFLINE_ROOT=<dir holding node_modules/onnxruntime-node> (default: resolve from
// here), TRTN_ORT_OFFLINE_PLATFORM=<platform/arch> (default: this machine's).
'use strict';

const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const MARKER = 'tensorrt-node placeholder';
const PROBE_TIMEOUT_MS = 4000;

function say(msg) {
  process.stderr.write(`tensorrt-node: ${msg}\n`);
}

/** True when npm runs this for the project itself (a clone's `npm ci`), not for an app depending on it. */
function isRootProject() {
  const prefix = process.env.npm_config_local_prefix;
  const pj = process.env.npm_package_json;
  return Boolean(prefix && pj && path.dirname(pj) === prefix);
}

function userChose() {
  return ['ONNXRUNTIME_NODE_INSTALL', 'ONNXRUNTIME_NODE_INSTALL_CUDA', 'npm_config_onnxruntime_node_install',
    'npm_config_onnxruntime_node_install_cuda'].find((k) => process.env[k]);
}

function proxyConfigured() {
  return ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'GLOBAL_AGENT_HTTPS_PROXY', 'GLOBAL_AGENT_HTTP_PROXY',
    'npm_config_https_proxy', 'npm_config_proxy'].find((k) => process.env[k]);
}

function findOnnxruntime() {
  const root = process.env.TRTN_ORT_OFFLINE_ROOT;
  try {
    const pj = root
      ? path.join(root, 'node_modules', 'onnxruntime-node', 'package.json')
      : require.resolve('onnxruntime-node/package.json', { paths: [process.cwd(), __dirname] });
    return fs.existsSync(pj) ? path.dirname(pj) : null;
  } catch {
    return null;
  }
}

/** The provider files upstream's install.js would download for this platform, and the feeds it would ask. */
function plannedDownload(ortDir, platform) {
  const metaFile = path.join(ortDir, 'script', 'install-metadata.js');
  if (!fs.existsSync(metaFile)) return null; // an onnxruntime-node without the download step
  const meta = require(metaFile);
  const binDir = path.join(ortDir, 'bin', 'napi-v6', platform);
  const files = [];
  for (const name of meta.requirements?.[platform] ?? []) {
    for (const file of Object.keys(meta.manifests?.[`${platform}:${name}`] ?? {})) files.push(path.join(binDir, file));
  }
  const feeds = Object.values(meta.feeds ?? {}).map((f) => f.index).filter((u) => typeof u === 'string');
  return { binDir, files, feeds };
}

/** Resolves true when a TCP connection to the feed's host opens within the timeout. */
function reachable(feedUrl) {
  return new Promise((resolve) => {
    let url;
    try {
      url = new URL(feedUrl);
    } catch {
      resolve(false);
      return;
    }
    const port = Number(url.port) || (url.protocol === 'http:' ? 80 : 443);
    const socket = net.connect({ host: url.hostname, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function main() {
  if (isRootProject()) return;
  const chosen = userChose();
  if (chosen) return; // the user told onnxruntime-node what to do
  const ortDir = findOnnxruntime();
  if (!ortDir) return;
  const platform = process.env.TRTN_ORT_OFFLINE_PLATFORM || `${os.platform()}/${os.arch()}`;
  const plan = plannedDownload(ortDir, platform);
  if (!plan) return;
  const missing = plan.files.filter((f) => !fs.existsSync(f));
  if (missing.length === 0) return;
  const proxy = proxyConfigured();
  if (proxy) return; // upstream's script goes through the proxy ($proxy): it may well reach NuGet
  const feed = plan.feeds[0];
  if (feed && (await reachable(feed))) return; // online: upstream downloads its CUDA provider as it always does
  fs.mkdirSync(plan.binDir, { recursive: true });
  for (const file of missing) {
    fs.writeFileSync(file, `${MARKER}: ONNX Runtime's CUDA provider was not downloaded because ${feed ?? 'NuGet'} ` +
      'was unreachable when tensorrt-node was installed. The CPU provider does not need it. To install it: ' +
      'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node\n');
  }
  say(`${feed ? new URL(feed).hostname : 'NuGet'} is unreachable, so onnxruntime-node's optional CUDA provider ` +
    `download is skipped (${missing.length} placeholder files; the CPU provider works). On a machine that reaches ` +
    'it: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node');
}

module.exports = { MARKER, plannedDownload };

if (require.main === module) {
  main().catch((err) => {
    // Never fail the user's install from here: upstream's script then behaves as it would without this one.
    say(`preinstall check skipped: ${err && err.message ? err.message : err}`);
  });
}

// scripts/onnxruntime-offline.cjs, the package's preinstall: where NuGet is unreachable it writes marked
// placeholders for the CUDA provider files onnxruntime-node's postinstall would download, so that script exits 0
// and `npm install tensorrt-node` succeeds with the registry alone; in every other case it leaves upstream alone.
// Each case runs the script as npm would, against a copy of the real onnxruntime-node's install metadata whose feed
// points at a host that cannot resolve (RFC 2606 `.invalid`) or at a local server that accepts connections.
// .ci/run proves the whole path on the packed tarball with a plain `npm install`.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native/addon.js';

const script = join(packageRoot, 'scripts', 'onnxruntime-offline.cjs');
const realOrt = join(packageRoot, 'node_modules', 'onnxruntime-node');
const PLATFORM = 'linux/x64'; // the platform upstream downloads for; forced so the test means the same everywhere
const CUDA_FILES = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_tensorrt.so'];

let dirs: string[] = [];
let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** An app with node_modules/onnxruntime-node holding upstream's real install metadata, its feed replaced. */
function app(feed: string): { root: string; bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'trtn-ort-offline-'));
  dirs.push(root);
  const ort = join(root, 'node_modules', 'onnxruntime-node');
  mkdirSync(join(ort, 'script'), { recursive: true });
  cpSync(join(realOrt, 'package.json'), join(ort, 'package.json'));
  for (const f of ['install-metadata.js', 'install-metadata-versions.js']) cpSync(join(realOrt, 'script', f), join(ort, 'script', f));
  const meta = join(ort, 'script', 'install-metadata.js');
  writeFileSync(meta, readFileSync(meta, 'utf8').replace(/https:\/\/api\.nuget\.org\/v3\/index\.json/g, feed));
  const bin = join(ort, 'bin', 'napi-v6', PLATFORM);
  mkdirSync(bin, { recursive: true });
  return { root, bin };
}

function run(root: string, env: Record<string, string> = {}): { status: number | null; stderr: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) =>
    !/^(ONNXRUNTIME_NODE_INSTALL|npm_config_onnxruntime|npm_config_local_prefix|npm_package_json|npm_config_(https_)?proxy$|HTTPS?_PROXY$|https?_proxy$|GLOBAL_AGENT_)/.test(k)));
  const r = spawnSync(process.execPath, [script], {
    env: { ...clean, TRTN_ORT_OFFLINE_ROOT: root, TRTN_ORT_OFFLINE_PLATFORM: PLATFORM, ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  return { status: r.status, stderr: r.stderr };
}

describe('preinstall: onnxruntime-node where NuGet is unreachable', () => {
  it('upstream metadata still plans the CUDA provider download this script answers (else the script is moot)', async () => {
    const { plannedDownload } = (await import(script)) as { plannedDownload(dir: string, p: string): { files: string[]; feeds: string[] } };
    const plan = plannedDownload(realOrt, PLATFORM);
    expect(plan.files.map((f) => f.split('/').pop()).sort()).toEqual(CUDA_FILES);
    expect(plan.feeds[0]).toBe('https://api.nuget.org/v3/index.json');
  });

  it('writes a marked placeholder for each missing provider file and says so in one line', () => {
    const { root, bin } = app('https://nuget.invalid/v3/index.json');
    const r = run(root);
    expect(r.status).toBe(0);
    expect(readdirSync(bin).sort()).toEqual(CUDA_FILES);
    for (const f of CUDA_FILES) expect(readFileSync(join(bin, f), 'utf8')).toMatch(/^tensorrt-node placeholder: .*ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('nuget.invalid is unreachable');
  });

  it('keeps provider files that exist and fills in only the missing ones', () => {
    const { root, bin } = app('https://nuget.invalid/v3/index.json');
    writeFileSync(join(bin, CUDA_FILES[0]!), 'a real provider');
    run(root);
    expect(readFileSync(join(bin, CUDA_FILES[0]!), 'utf8')).toBe('a real provider');
    expect(readFileSync(join(bin, CUDA_FILES[1]!), 'utf8')).toMatch(/^tensorrt-node placeholder/);
  });

  it('does nothing where the feed is reachable: upstream downloads as it always does', () => {
    const { root, bin } = app(`http://127.0.0.1:${port}/v3/index.json`);
    expect(run(root).status).toBe(0);
    expect(readdirSync(bin)).toEqual([]);
  });

  it.each([
    ['ONNXRUNTIME_NODE_INSTALL', 'cuda12'],
    ['ONNXRUNTIME_NODE_INSTALL', 'skip'],
    ['npm_config_onnxruntime_node_install', 'cuda12'],
    ['HTTPS_PROXY', 'http://proxy.invalid:3128'],
    ['npm_config_https_proxy', 'http://proxy.invalid:3128'],
  ])('does nothing when %s is set (the user chose, or a proxy may reach NuGet)', (key, value) => {
    const { root, bin } = app('https://nuget.invalid/v3/index.json');
    expect(run(root, { [key]: value }).status).toBe(0);
    expect(readdirSync(bin)).toEqual([]);
  });

  it("does nothing in the project's own install (a clone's npm ci)", () => {
    const { root, bin } = app('https://nuget.invalid/v3/index.json');
    expect(run(root, { npm_config_local_prefix: packageRoot, npm_package_json: join(packageRoot, 'package.json') }).status).toBe(0);
    expect(readdirSync(bin)).toEqual([]);
  });

  it('never fails the install: unreadable metadata is reported and the script exits 0', () => {
    const { root, bin } = app('https://nuget.invalid/v3/index.json');
    writeFileSync(join(root, 'node_modules', 'onnxruntime-node', 'script', 'install-metadata.js'), 'this is not javascript(');
    const r = run(root);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^tensorrt-node: preinstall check skipped: /);
    expect(readdirSync(bin)).toEqual([]);
  });

  it('is packed, and runs as the preinstall', () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { files: string[]; scripts: Record<string, string> };
    expect(pkg.scripts.preinstall).toBe('node scripts/onnxruntime-offline.cjs');
    expect(pkg.files).toContain('scripts/onnxruntime-offline.cjs');
    expect(existsSync(script)).toBe(true);
  });
});

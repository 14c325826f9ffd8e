/**
 * The CLI as a user runs it (the built dist/cli/main.js): every user error is one line `trt-node: <code>: ...`,
 * the same problem reads the same in every command, and a stack trace appears only with --verbose or TRTN_DEBUG.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cli, trtNode } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cnn = join(root, 'test', 'fixtures', 'models', 'fmnist_cnn.onnx');
let dir: string;
let truncated: string;

beforeAll(() => {
  expect(existsSync(cli), `${cli} (npm run build:ts)`).toBe(true);
  dir = mkdtempSync(join(tmpdir(), 'trtn-cli-'));
  truncated = join(dir, 'truncated.onnx');
  writeFileSync(truncated, readFileSync(cnn).subarray(0, 3000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trt-node user errors', () => {
  it.each([
    [['eval', cnn, '--data', 'fashion-mnist:test', '--batch-size', '-5'], "trt-node: ERR_INVALID_ARG: --batch-size must be a positive integer, got '-5'"],
    [['calibrate', cnn, '--data', 'fashion-mnist:train', '--cache', 'x.cache', '--calib-size', '0'], "trt-node: ERR_INVALID_ARG: --calib-size must be a positive integer, got '0'"],
    [['eval', cnn, '--data', 'fashion-mnist:test', '--limit', 'x'], "trt-node: ERR_INVALID_ARG: --limit must be a positive integer, got 'x'"],
    [['quantize', cnn, '--precision', 'fp8', '-o', 'x.onnx'], "trt-node: ERR_INVALID_ARG: --precision must be int8 or fp16, got 'fp8'"],
    [['eval', cnn, '--data', 'fashion-mnist:test', '--precision', 'fp8'], "trt-node: ERR_INVALID_ARG: --precision must be fp32, fp16, int8 or best, got 'fp8'"],
    [['calibrate', cnn, '--cache', 'x.cache'], "trt-node: ERR_INVALID_ARG: required option '--data <spec>' not specified; see 'trt-node help'"],
  ])('%j: one line with the code, exit 1', (args, line) => {
    const r = trtNode(args);
    expect(r.lines).toEqual([line]);
    expect(r.status).toBe(1);
  });

  it('a missing model is the same ERR_IO line in eval, calibrate and quantize', () => {
    const missing = join(dir, 'no-such-model.onnx');
    for (const args of [['eval', missing, '--data', 'fashion-mnist:test'], ['calibrate', missing, '--data', 'fashion-mnist:train', '--cache', join(dir, 'c.cache')], ['quantize', missing, '--precision', 'fp16', '-o', join(dir, 'q.onnx')]]) {
      const r = trtNode(args);
      expect(r.lines, args[0]).toEqual([`trt-node: ERR_IO: model file ${missing} does not exist`]);
      expect(r.status).toBe(1);
    }
  });

  it("a truncated ONNX file is the same ERR_ONNX_LOAD line, saying 'truncated' and naming the file, in every command", () => {
    const seen = new Set<string>();
    for (const args of [['eval', truncated, '--data', 'fashion-mnist:test'], ['calibrate', truncated, '--data', 'fashion-mnist:train', '--cache', join(dir, 'c.cache')], ['quantize', truncated, '--precision', 'int8', '--data', 'fashion-mnist:train', '-o', join(dir, 'q.onnx')]]) {
      const r = trtNode(args);
      expect(r.lines, args[0]).toHaveLength(1);
      expect(r.lines[0]).toMatch(new RegExp(`^trt-node: ERR_ONNX_LOAD: ${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated ONNX model`));
      seen.add(r.lines[0]!);
    }
    expect(seen.size).toBe(1);
  });

  it('-o into a folder that does not exist is refused before any work, and creates nothing', () => {
    const out = join(dir, 'missing', 'deeper', 'x.onnx');
    const r = trtNode(['quantize', cnn, '--precision', 'fp16', '-o', out]);
    expect(r.lines).toEqual([`trt-node: ERR_IO: -o ${out}: folder ${join(dir, 'missing', 'deeper')} does not exist (create it first)`]);
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    const cache = trtNode(['calibrate', cnn, '--data', 'fashion-mnist:train', '--cache', join(dir, 'nope', 'c.cache')]);
    expect(cache.lines[0]).toMatch(/^trt-node: ERR_IO: --cache .*nope.*does not exist/);
  });

  it('--verbose and TRTN_DEBUG add the stack trace; without them there is none', () => {
    const args = ['quantize', cnn, '--precision', 'fp8', '-o', 'x.onnx'];
    expect(trtNode(args).stderr).not.toMatch(/\n\s+at /);
    for (const r of [trtNode([...args, '--verbose']), trtNode(args, { TRTN_DEBUG: '1' })]) {
      expect(r.lines[0]).toBe("trt-node: ERR_INVALID_ARG: --precision must be int8 or fp16, got 'fp8'");
      expect(r.stderr).toMatch(/\n\s+at .*quantize/);
    }
  });

  it('--help marks every required option, and only those', () => {
    const help = (cmd: string) => trtNode([cmd, '--help']).stdout;
    expect(help('quantize')).toMatch(/--precision <p>\s+int8 or fp16 \(required\)/);
    expect(help('quantize')).toMatch(/-o, --output <file>\s+output ONNX file \(required\)/);
    expect(help('quantize')).toMatch(/--no-reduce-range\s+int8 for onnxruntime: 8-bit weights in every layer/);
    expect(help('calibrate')).toMatch(/--data <spec>[^\n]*\n?[^\n]*\(required\)/);
    expect(help('calibrate')).toMatch(/--cache <file>\s+calibration cache to write \(required\)/);
    expect(help('eval')).toMatch(/--data <spec>\s+evaluation data, e\.g\. fashion-mnist:test \(required\)/);
    expect(help('eval').match(/\(required\)/g)).toHaveLength(1);
    expect(trtNode(['eval', '--help']).status).toBe(0);
  });
});

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests read Debian's dataset-fashion-mnist where it is installed, else the subset in test/fixtures (named here so
// fashionMnist() does not print its fallback notice in every test file).
const debianFashionMnist = '/usr/share/datasets/fashion-mnist';
const fashionMnistDir = process.env.TRTN_FASHION_MNIST_DIR ?? (existsSync(debianFashionMnist) ? debianFashionMnist : fileURLToPath(new URL('./test/fixtures/fashion-mnist', import.meta.url)));

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native work and ONNX Runtime sessions are heavy on a 2-core machine: run files one at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    env: { TRTN_FASHION_MNIST_DIR: fashionMnistDir },
  },
});

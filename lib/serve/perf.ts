/**
 * Latency and throughput of a served model with N concurrent clients, in the manner of Triton's perf_analyzer:
 * each client sends requests of `batchSize` rows back to back over the Open Inference Protocol (remote engine).
 */
import { TrtnError } from '../errors.js';
import { loadEngine } from '../engine/api.js';
import { summarize } from '../engine/stats.js';
import { is, invalid } from '../engine/options.js';
import type { Feeds, LatencyStats } from '../engine/types.js';
import { syntheticFeed } from '../engine/feeds.js';

export interface EndpointPerfOptions {
  batchSizes: number[];
  /** Concurrent clients per batch size (default [1]). */
  concurrency?: number[];
  /** Requests per (batch size, concurrency) measurement, after `warmup` (default 100 and 10). */
  requests?: number;
  warmup?: number;
}

export interface EndpointPerfRow {
  batchSize: number;
  concurrency: number;
  requests: number;
  /** Rows (images) per second over the measurement's wall time. */
  throughput: number;
  /** Request latency seen by the client, ms. */
  latencyMs: LatencyStats;
}

/** Measure `url` (…/v2/models/<name>) at every batch size x concurrency; requests run with synthetic inputs. */
export async function measureEndpoint(url: string, options: EndpointPerfOptions): Promise<{ url: string; rows: EndpointPerfRow[] }> {
  const { batchSizes, concurrency = [1], requests = 100, warmup = 10 } = options;
  if (!Array.isArray(batchSizes) || batchSizes.length === 0 || !batchSizes.every(is.posInt)) throw invalid('batchSizes', 'a non-empty array of positive integers', batchSizes);
  if (!Array.isArray(concurrency) || concurrency.length === 0 || !concurrency.every(is.posInt)) throw invalid('concurrency', 'a non-empty array of positive integers', concurrency);
  if (!is.posInt(requests)) throw invalid('requests', 'a positive integer', requests);
  if (!is.nonNegInt(warmup)) throw invalid('warmup', 'a non-negative integer', warmup);
  const engine = await loadEngine(url, { backend: 'remote' });
  try {
    const rows: EndpointPerfRow[] = [];
    for (const batchSize of batchSizes) {
      const feeds: Feeds = {};
      for (const i of engine.inputs) feeds[i.name] = syntheticFeed(i, batchSize);
      for (let i = 0; i < warmup; i++) await engine.infer(feeds);
      for (const clients of concurrency) {
        const latencies: number[] = [];
        let issued = 0;
        const started = performance.now();
        await Promise.all(Array.from({ length: clients }, async () => {
          while (issued < requests) {
            issued++;
            const t0 = performance.now();
            await engine.infer(feeds);
            latencies.push(performance.now() - t0);
          }
        }));
        const seconds = (performance.now() - started) / 1000;
        if (latencies.length === 0) throw new TrtnError('ERR_INFERENCE', `${url}: no request completed`);
        rows.push({ batchSize, concurrency: clients, requests: latencies.length, throughput: (latencies.length * batchSize) / seconds, latencyMs: summarize(latencies) });
      }
    }
    return { url, rows };
  } finally {
    engine.dispose();
  }
}

/** The rows as a Markdown table. */
export function formatEndpointPerf(result: { url: string; rows: EndpointPerfRow[] }): string {
  const lines = [`${result.url}`, '', '| batch | clients | requests | images/s | p50 ms | p90 ms | p99 ms |', '|---:|---:|---:|---:|---:|---:|---:|'];
  for (const r of result.rows) lines.push(`| ${r.batchSize} | ${r.concurrency} | ${r.requests} | ${r.throughput.toFixed(1)} | ${r.latencyMs.median.toFixed(2)} | ${r.latencyMs.p90.toFixed(2)} | ${r.latencyMs.p99.toFixed(2)} |`);
  return lines.join('\n');
}

/**
 * The calibration statistics host (lib/calib/host.ts) on ONNX Runtime: the model runs in a WorkerSession and the
 * addon's histogram kernel runs in that same worker on the fetched tensors, so neither the run nor the
 * statistics touch the main thread and no activation is copied across threads. Where the addon cannot load,
 * the fetched tensors come back and TensorStats adds them in JavaScript on the calling thread.
 */
import { availableParallelism } from 'node:os';
import { TrtnError } from '../../errors.js';
import type { Feeds } from '../../engine/types.js';
import { setStatisticsHost, type StatisticsHost, type StatisticsHostOptions } from '../../calib/host.js';
import { TensorStats, nonFiniteError } from '../../calib/histogram.js';
import { calibKernels } from '../../calib/kernels.js';
import { WorkerSession } from './session.js';

async function openHost(model: Uint8Array, options: StatisticsHostOptions): Promise<StatisticsHost> {
  let session: WorkerSession;
  try {
    // No spinning: between runs the histogram kernel wants the cores ORT's pool threads would spin on.
    session = await WorkerSession.open(model, { graphOptimization: 'all', spinning: false, ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}) });
  } catch (err) {
    throw new TrtnError('ERR_ONNX_PARSE', `ONNX Runtime rejected the calibration model: ${(err as Error).message}`, {}, { cause: err });
  }
  const tensors = [...options.tensors];
  const kernel = calibKernels()?.file;
  // The kernel bins a large tensor on as many threads as the session runs on: they are idle between runs.
  const threads = options.intraOpThreads ?? availableParallelism();
  const local = new Map<string, TensorStats>(); // without the kernel
  const didNotRun = (err: unknown, feeds: Feeds, batch: number) => {
    const dims = Object.values(feeds)[0]?.dims ?? [];
    return new TrtnError('ERR_CALIB_DATA', `calibration batch ${batch} did not run (input dims [${dims.join(',')}]): ${(err as Error).message}`, { batch }, { cause: err });
  };
  return {
    async add(feeds, batch) {
      const outputs = tensors.filter((t) => !(t in feeds));
      const fetches = outputs.length > 0 ? outputs : undefined; // none to fetch: the model's own outputs
      if (kernel) {
        let reply;
        try {
          reply = await session.addStatistics(feeds, { fetches, tensors, bins: options.bins, kernel, threads });
        } catch (err) {
          throw didNotRun(err, feeds, batch);
        }
        const bad = reply.nonFinite;
        if (bad) throw nonFiniteError(bad.tensor, bad.value, bad.index, batch);
        return { runSeconds: reply.runMs / 1000, statsSeconds: reply.statsMs / 1000 };
      }
      const t0 = performance.now();
      let fetched;
      try {
        fetched = await session.run(feeds, fetches);
      } catch (err) {
        throw didNotRun(err, feeds, batch);
      }
      const t1 = performance.now();
      for (const t of tensors) {
        let s = local.get(t);
        if (!s) local.set(t, (s = new TensorStats(t, options.bins)));
        s.add((feeds[t] ?? fetched[t])!.data as Float32Array, batch);
      }
      return { runSeconds: (t1 - t0) / 1000, statsSeconds: (performance.now() - t1) / 1000 };
    },
    async statistics() {
      if (!kernel) return local;
      return new Map((await session.takeStatistics()).map((s) => [s.name, TensorStats.fromState(s.name, s.state, s.bins)]));
    },
    close: () => session.close(),
  };
}

setStatisticsHost(openHost);

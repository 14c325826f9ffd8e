import type { Command } from 'commander';
import { TrtnError } from '../errors.js';
import { serve } from '../serve/server.js';
import { formatEndpointPerf, measureEndpoint } from '../serve/perf.js';
import { positiveInt } from './progress.js';

interface ServeCliOptions {
  repository: string;
  port: number;
  host: string;
  maxBodyBytes?: number;
}

/** `trt-node serve --repository dir [--port 8000]`: the Open Inference Protocol (KServe v2) over HTTP until SIGINT/SIGTERM. */
export function registerServe(program: Command): Command {
  return program
    .command('serve')
    .description('serve a Triton model repository over the Open Inference Protocol (KServe v2 HTTP/REST, binary tensor data, dynamic batching)')
    .requiredOption('--repository <dir>', 'model repository directory (as trt-node export writes)')
    .option('--port <n>', 'TCP port (0: any free port)', (v: string) => (v === '0' ? 0 : positiveInt('--port')(v)), 8000)
    .option('--host <addr>', 'interface to listen on', '127.0.0.1')
    .option('--max-body-bytes <n>', 'largest request body accepted (default 64 MiB)', positiveInt('--max-body-bytes'))
    .action(async (o: ServeCliOptions) => {
      const server = await serve({
        repository: o.repository, port: o.port, host: o.host, maxBodyBytes: o.maxBodyBytes,
        logger: (severity, message) => process.stderr.write(`[${severity}] ${message}\n`),
      });
      for (const m of server.models) process.stderr.write(`  ${m.name} v${m.version} (${m.platform}, ${m.instances} instance${m.instances > 1 ? 's' : ''}): ${server.url}/v2/models/${m.name}\n`);
      process.stdout.write(`serving ${server.url}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await server.close();
    });
}

/** `trt-node bench --endpoint <model url> [--concurrency 1,8] [-b 1,8] [--iterations n] [--warmup n] [--json]`. */
export async function benchEndpointAction(flags: { endpoint: string; concurrency?: string; batchSizes?: string; iterations?: string; warmup?: string; json?: boolean }): Promise<void> {
  const list = (flag: string, v: string | undefined, fallback: number[]): number[] => {
    if (v === undefined) return fallback;
    const xs = v.split(',').map((x) => Number(x.trim()));
    if (!xs.every((x) => Number.isInteger(x) && x > 0)) throw new TrtnError('ERR_INVALID_ARG', `Expected comma-separated positive integers for --${flag} but received ${JSON.stringify(v)}`);
    return xs;
  };
  const one = (flag: string, v: string | undefined): number | undefined => (v === undefined ? undefined : list(flag, v, [])[0]);
  const result = await measureEndpoint(flags.endpoint, {
    batchSizes: list('batch-sizes', flags.batchSizes, [1]), concurrency: list('concurrency', flags.concurrency, [1]),
    requests: one('iterations', flags.iterations), warmup: flags.warmup === '0' ? 0 : one('warmup', flags.warmup),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatEndpointPerf(result)}\n`);
}

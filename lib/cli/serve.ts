import type { Command } from 'commander';
import { serve } from '../serve/server.js';
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

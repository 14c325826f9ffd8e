/** Progress of a study on a stream: a one-line bar on a TTY, plain lines otherwise. */
import type { StudyProgress } from './runner.js';

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function progressLine(p: StudyProgress): string {
  const eta = p.etaMs !== undefined ? ` ETA ${formatDuration(p.etaMs)}` : '';
  return `${p.done}/${p.total} cells, ${formatDuration(p.elapsedMs)}${eta}: ${p.current}`;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** An onProgress callback drawing to `stream`; call finish() after the study to end the bar's line. */
export function createProgressReporter(stream: ProgressStream): { onProgress: (p: StudyProgress) => void; finish: () => void } {
  let last = '';
  let drawn = false;
  return {
    onProgress(p) {
      if (stream.isTTY) {
        const width = Math.max(40, stream.columns ?? 100);
        const text = `${progressBar(p.done, p.total)} ${progressLine(p)}`;
        stream.write(`\r${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}\x1b[K`);
        drawn = true;
      } else {
        const line = progressLine(p);
        if (p.current !== last) stream.write(`${line}\n`);
        last = p.current;
      }
    },
    finish() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}

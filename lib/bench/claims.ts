/**
 * The README's claims about the study's figures, checked against each run: a cell whose figures contradict one
 * (beyond the cells' own noise) carries the claim in `contradicts`, and the reports mark it.
 */
import type { StudyCell } from './results.js';

export interface ReadmeClaim {
  id: string;
  /** The claim as the README makes it, shown next to a cell that contradicts it. */
  text: string;
  /** Does the claim speak about this int8 cell? */
  applies: (cell: StudyCell) => boolean;
  /** Does the int8 cell contradict it, against the fp32 cell of the same backend, model and batch size? */
  contradicted: (int8: StudyCell, fp32: StudyCell) => boolean;
}

const noise = (a: StudyCell, b: StudyCell) => Math.max(a.latencyMs?.noise ?? 0, b.latencyMs?.noise ?? 0);

/** A claim is contradicted only by evidence: the int8 median above fp32's by more than the cells' noise. */
export const README_CLAIMS: ReadmeClaim[] = [
  {
    id: 'int8-not-slower',
    text: 'README: INT8 is faster than FP32 on the same optimized runtime, never slower',
    applies: (c) => c.backend === 'onnxruntime',
    contradicted: (q, f) => q.latencyMs!.median > f.latencyMs!.median * (1 + noise(q, f)),
  },
];

/** Set `contradicts` on every measured int8 cell whose latency contradicts a README claim. */
export function markContradictions(cells: StudyCell[], claims: readonly ReadmeClaim[] = README_CLAIMS): void {
  for (const q of cells) {
    if (q.status !== 'ok' || q.precision !== 'int8' || !q.latencyMs) continue;
    const f = cells.find((c) => c.status === 'ok' && c.precision === 'fp32' && c.backend === q.backend && c.input === q.input && c.model === q.model && c.batchSize === q.batchSize);
    if (!f?.latencyMs) continue;
    const broken = claims.filter((claim) => claim.applies(q) && claim.contradicted(q, f)).map((claim) => claim.text);
    if (broken.length) q.contradicts = broken;
    else delete q.contradicts;
  }
}

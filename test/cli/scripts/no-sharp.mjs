// With sharp unloadable: the package still imports, doctor reports sharp on its own line, and only image decoding
// fails (ERR_UNSUPPORTED with the fix). Prints one JSON object.
import { register } from 'node:module';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
register('./no-sharp-hooks.mjs', import.meta.url);
const lib = await import('../../../dist/index.js');
const { doctor, formatDoctorReport } = await import('../../../dist/doctor/index.js');
const report = await doctor();
const dir = mkdtempSync(join(tmpdir(), 'trtn-no-sharp-'));
mkdirSync(join(dir, 'a'));
writeFileSync(join(dir, 'a', 'x.png'), Buffer.from('89504e470d0a1a0a', 'hex'));
let decode;
try {
  const ds = await lib.imageFolder(dir, { size: 8 });
  for await (const _ of ds.batches({ batchSize: 1 })) break;
  decode = 'no error';
} catch (err) {
  decode = { code: err.code, message: err.message };
}
const sharpLine = formatDoctorReport(report).split('\n').find((l) => l.trim().startsWith('sharp'));
console.log(JSON.stringify({ sharp: report.sharp, sharpLine, onnxruntime: report.backends.find((b) => b.name === 'onnxruntime')?.available, decode }));

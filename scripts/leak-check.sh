#!/usr/bin/env bash
# Run the native test suite (the addon's bridge, CUDA layer and worker-thread tests that run on this machine)
# with the addon built under AddressSanitizer and LeakSanitizer checking every node process at exit.
#
#   scripts/leak-check.sh [--no-build] [test paths...]     (default paths: test/bridge test/cuda test/workers)
#
# Why LSan rather than valgrind: node under memcheck takes minutes per test file on 2 cores; LSan adds ~2x.
# The addon is built into build/asan with -fsanitize=address; node itself is not instrumented, so libasan is
# LD_PRELOADed. Vitest runs with --pool=threads so the tests run inside the main node process, which exits
# normally (forked pool workers are killed, and a killed process gets no leak check).
#
# A leak counts against the addon when its allocation stack has a frame in tensorrt_node.node, in native/, or
# an unsymbolised frame right above an N-API call (an addon loaded by a worker thread is unmapped before the
# report is symbolised, so its frames show as <unknown module>). Other node leaks are printed as Node/V8 noise
# (scripts/lsan-node.supp documents suppressions). Exit status: 0 clean, 1 addon leaks or ASan errors, 2 the
# tests failed. test/cuda/no-cuda-build.test.ts is excluded: it runs a compiler, which fails with libasan preloaded.
set -uo pipefail
cd "$(dirname "$0")/.."
build=1
paths=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) paths+=("$a") ;;
  esac
done
[ ${#paths[@]} -eq 0 ] && paths=(test/bridge test/cuda test/workers)

addon="$PWD/build/asan/Release/tensorrt_node.node"
if [ "$build" = 1 ] || [ ! -f "$addon" ]; then
  echo "leak-check: building the addon with -fsanitize=address into build/asan"
  npx cmake-js compile --out build/asan \
    --CDCMAKE_BUILD_TYPE=RelWithDebInfo \
    --CDCMAKE_CXX_FLAGS="-fsanitize=address -fno-omit-frame-pointer -g" \
    --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address" >build/asan-build.log 2>&1 || { tail -30 build/asan-build.log; exit 2; }
fi

libasan="$(g++ -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "leak-check: libasan.so not found (g++ -print-file-name=libasan.so)"; exit 2; }
reports="$(mktemp -d /tmp/trtn-lsan.XXXXXX)"
echo "leak-check: running ${paths[*]} with LeakSanitizer (reports in $reports)"
started=$(date +%s)
LD_PRELOAD="$libasan" \
  ASAN_OPTIONS="detect_leaks=1:log_path=$reports/report:log_exe_name=1:exitcode=0:fast_unwind_on_malloc=0:malloc_context_size=30" \
  LSAN_OPTIONS="suppressions=$PWD/scripts/lsan-node.supp:print_suppressions=1" \
  TRTN_ADDON_PATH="$addon" \
  node node_modules/vitest/vitest.mjs run --pool=threads --exclude '**/no-cuda-build.test.ts' "${paths[@]}" >"$reports/vitest.log" 2>&1
tests=$?
grep -E "Test Files|Tests |FAIL|FATAL" "$reports/vitest.log"
echo "leak-check: tests took $(( $(date +%s) - started )) s, exit $tests"

node - "$reports" <<'JS'
const { readdirSync, readFileSync } = require('node:fs');
const dir = process.argv[2];
const files = readdirSync(dir).filter((f) => /^report\.node\.\d+$/.test(f));
let addon = 0, noise = 0, errors = 0;
const noiseBy = new Map(); // module of the allocating frame -> [leaks, bytes]
for (const f of files) {
  const text = readFileSync(`${dir}/${f}`, 'utf8');
  if (/ERROR: AddressSanitizer: (?!.*leaks)/.test(text)) { errors++; console.log(`ASan error in ${f}:\n${text.slice(0, 3000)}`); }
  for (const block of text.split(/\n(?=(?:Direct|Indirect) leak of)/).filter((b) => /^(Direct|Indirect) leak of/.test(b))) {
    const frames = block.split('\n').filter((l) => /^\s+#\d+/.test(l));
    const ours = frames.some((l, i) => /tensorrt_node\.node|\/native\//.test(l) || (/<unknown module>/.test(l) && i > 0 && /napi_/.test(frames[i - 1])));
    const summary = block.split('\n')[0] + ' ' + frames.slice(1, 4).map((l) => l.trim().replace(/^#\d+ 0x[0-9a-f]+ /, '')).join(' <- ');
    if (ours) { addon++; console.log(`ADDON LEAK (${f}): ${summary}`); continue; }
    noise++;
    const module = (frames.slice(1).map((l) => /\(([^()+]+)\+0x/.exec(l)?.[1]).find(Boolean) ?? 'unknown').replace(/^.*\//, '');
    const bytes = Number(/of (\d+) byte/.exec(block)?.[1] ?? 0);
    const [n, b] = noiseBy.get(module) ?? [0, 0];
    noiseBy.set(module, [n + 1, b + bytes]);
  }
}
for (const [module, [n, b]] of noiseBy) console.log(`not counted (Node/V8/ONNX Runtime, not the addon): ${n} leak report(s), ${b} bytes, allocated in ${module}`);
console.log(`leak-check: ${files.length} node process report(s); ${addon} addon leak(s), ${noise} other, ${errors} ASan error(s)`);
process.exitCode = addon > 0 || errors > 0 ? 1 : 0;
JS
leaks=$?
[ "$tests" -ne 0 ] && { echo "leak-check: the tests failed (see $reports/vitest.log)"; exit 2; }
exit $leaks

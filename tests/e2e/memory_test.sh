#!/usr/bin/env bash
# e2e: memory on a 1B-class Q4_K_M model (synthetic, Llama 3.2 1B shape, written by `bench --synthetic`).
#  - `hearth run --verbose` reports each part (weights, KV cache, buffers) and the resident memory; the
#    peak resident memory stays within 10% of file size + KV cache + buffers (weights are mapped once).
#  - The planner (`hearth fit --json`) predicts that peak within 10% at the same context.
#  - A model that does not fit in the RAM it may use is refused with a clear message; a default context
#    that does not fit is shortened with a warning.
set -euo pipefail
: "${HEARTH:?}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HEARTH_HOME="$tmp/home"

"$HEARTH" bench --synthetic llama-1b:Q4_K_M -p 8 -n 2 -r 1 -t 2 >/dev/null
M=$(ls "$HEARTH_HOME"/cache/synthetic/*llama-1b-Q4_K_M*.gguf)

for ctx in 1024 4096; do
  "$HEARTH" run "$M" -p "Once upon a time" -n 24 --temp 0 -t 2 -c $ctx --verbose >"$tmp/out" 2>"$tmp/err"
  "$HEARTH" fit "$M" --ctx $ctx --json >"$tmp/fit.json"
  python3 - "$M" "$tmp/err" "$tmp/fit.json" $ctx <<'PY'
import json, os, re, sys
model, err, fitf, ctx = sys.argv[1], open(sys.argv[2]).read(), json.load(open(sys.argv[3])), int(sys.argv[4])
unit = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
num = r"([0-9.]+) (B|KiB|MiB|GiB)"
m = re.search(rf"memory: weights {num} \(mapped; {num} of them repacked for the kernels\), KV cache {num} "
              rf"\((\d+) tokens\), buffers {num}, resident {num} \(peak {num}\)", err)
if not m:
    sys.exit(f"no memory report in:\n{err}")
g = m.groups()
b = lambda i: float(g[i]) * unit[g[i + 1]]
weights, packed, kv, tokens, buffers, rss, peak = b(0), b(2), b(4), int(g[6]), b(7), b(9), b(11)
size = os.path.getsize(model)
assert tokens == ctx, (tokens, ctx)
assert abs(kv - 16 * 2 * 512 * 2 * ctx) <= 0.001 * kv, kv  # 16 layers, K+V, 8 heads x 64, f16
assert abs(weights - size) < 0.02 * size, (weights, size)
assert 0 <= packed <= weights * 1.01, (packed, weights)
expected = size + kv + buffers
ratio = peak / expected
print(f"ctx {ctx}: peak {peak / 2**20:.1f} MiB = {ratio:.3f} x (file {size / 2**20:.1f} + KV {kv / 2**20:.1f} "
      f"+ buffers {buffers / 2**20:.1f} MiB)")
assert 0.9 <= ratio <= 1.10, f"resident memory {ratio:.3f} x file + KV + buffers"
planned = fitf["cpu"]["total"]
pr = planned / peak
print(f"ctx {ctx}: planner {planned / 2**20:.1f} MiB = {pr:.3f} x measured peak")
assert fitf["context"] == ctx and fitf["gpu_layers"] == 0
assert 0.9 <= pr <= 1.10, f"planner estimate {pr:.3f} x measured"
PY
done

# Not enough RAM for the weights: refused before anything is allocated, with the sizes in the message.
if HEARTH_RAM_LIMIT=500MiB "$HEARTH" run "$M" -p hi -n 2 2>"$tmp/err"; then
  echo "a model larger than the RAM limit was loaded"; exit 1
fi
grep -q "needs .* of RAM but only 500 MiB is available" "$tmp/err" || { cat "$tmp/err"; exit 1; }
# A context the user asked for that does not fit: an error naming the largest that does.
if HEARTH_RAM_LIMIT=900MiB "$HEARTH" run "$M" -p hi -n 2 -c 8192 2>"$tmp/err"; then
  echo "a context larger than the RAM limit was allocated"; exit 1
fi
grep -q "the largest context that fits is" "$tmp/err" || { cat "$tmp/err"; exit 1; }
# The default context shortened to fit, with a warning; generation still works.
HEARTH_RAM_LIMIT=900MiB "$HEARTH" run "$M" -p hi -n 4 --verbose >"$tmp/out" 2>"$tmp/err"
grep -q "context reduced from 4096 to" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo "memory test passed"

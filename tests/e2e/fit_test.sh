#!/usr/bin/env bash
# End-to-end test of `hearth hw` and `hearth fit`: the fixture model planned on a table GPU, on the CPU
# alone, in too little RAM, with an unknown GPU name, and read over HTTP (only its header is fetched).
set -euo pipefail

HEARTH=${HEARTH:?set HEARTH to the hearth binary}
FIX=${HEARTH_FIXTURES:?set HEARTH_FIXTURES to the fixtures directory}
MODEL="$FIX/models/llama-s-Q4_K_M.gguf"
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# check JSON_FILE PYTHON_EXPRESSION...: each expression (over `j`) must be true.
check() {
  local file=$1
  shift
  python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
for expr in sys.argv[2:]:
    if not eval(expr):
        sys.exit("failed: " + expr + "\n" + json.dumps(j, indent=1)[:3000])
' "$file" "$@" || fail "json checks on $file"
}

# Never reach the user's store or real network settings.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HEARTH_HOME="$tmp/hearth" OLLAMA_MODELS="$tmp/no-ollama" HF_HUB_CACHE="$tmp/no-hf" HEARTH_PULL_RETRIES=0

step "hw"
"$HEARTH" hw > "$tmp/hw.txt"
grep -q '^RAM ' "$tmp/hw.txt" || fail "hw does not print RAM: $(cat "$tmp/hw.txt")"
grep -q '^CPU ' "$tmp/hw.txt" || fail "hw does not print the CPU"
"$HEARTH" hw --json > "$tmp/hw.json"
check "$tmp/hw.json" 'j["ram"]["total_bytes"] > 0' 'j["ram"]["available_bytes"] <= j["ram"]["total_bytes"]' \
  'j["cpu"]["physical_cores"] >= 1' 'isinstance(j["gpus"], list)'
"$HEARTH" hw --list > "$tmp/list.txt"
grep -q "RTX 3060" "$tmp/list.txt" || fail "hw --list lacks the RTX 3060"

step "fit on a table GPU"
"$HEARTH" fit "$MODEL" --gpu "RTX 3060 12GB" --json > "$tmp/gpu.json"
check "$tmp/gpu.json" 'j["fits"]' 'j["total_layers"] == 4' 'j["gpu_layers"] == 4' 'j["output_on_gpu"]' \
  'j["gpu_bytes"] > 0' 'j["cpu_bytes"] > 0' 'j["context"] > 0' 'j["max_context_full_gpu"] >= j["context"]' \
  'j["predicted_tg_tok_s"] > 0' 'j["predicted_pp_tok_s"] > 0' \
  'j["hardware"]["gpu"]["name"] == "NVIDIA GeForce RTX 3060 12GB"' \
  'abs(j["hardware"]["gpu"]["bandwidth_gb_s"] - 360) < 1' \
  'j["gpu_bytes"] == sum(j["gpu"][k] for k in ("weights", "kv_cache", "compute", "overhead"))'
"$HEARTH" fit "$MODEL" --gpu "rtx3060" --ctx 1024 > "$tmp/gpu.txt"
grep -q "fits entirely on the GPU at 1024 tokens" "$tmp/gpu.txt" || fail "unexpected text: $(cat "$tmp/gpu.txt")"

step "fit on the CPU alone"
"$HEARTH" fit "$MODEL" --no-gpu --ctx 2048 --json > "$tmp/cpu.json"
check "$tmp/cpu.json" 'j["fits"]' 'j["gpu_layers"] == 0' 'j["gpu_bytes"] == 0' 'j["cpu_bytes"] > 0' \
  'j["context"] == 2048' 'j["max_context_full_gpu"] == 0' 'j["hardware"]["gpu"] is None' \
  'j["predicted_tg_tok_s"] > 0' 'j["predicted_tg_tok_s_full_context"] <= j["predicted_tg_tok_s"]' \
  'j["cpu"]["kv_cache"] == 4 * 2 * 128 * 2048 * 2'
"$HEARTH" fit "$MODEL" --no-gpu --no-measure > "$tmp/cpu.txt"
grep -q "runs on the CPU" "$tmp/cpu.txt" || fail "unexpected text: $(cat "$tmp/cpu.txt")"

step "KV cache type"
"$HEARTH" fit "$MODEL" --no-gpu --no-measure --ctx 2048 --cache-type q8_0 --json > "$tmp/q8.json"
check "$tmp/q8.json" 'j["cache_type"] == "q8_0"' 'j["cpu"]["kv_cache"] == 4 * 2 * 128 * 2048 * 34 // 32'

step "too little memory"
"$HEARTH" fit "$MODEL" --no-gpu --no-measure --ram 1GiB --ram-bandwidth 50 > "$tmp/small.txt"
grep -q "does not fit: needs" "$tmp/small.txt" || fail "unexpected text: $(cat "$tmp/small.txt")"
"$HEARTH" fit "$MODEL" --no-gpu --no-measure --ram 1GiB --ram-bandwidth ddr5-6000 --json > "$tmp/small.json"
check "$tmp/small.json" 'not j["fits"]' 'j["problem"] != ""' 'abs(j["hardware"]["cpu"]["bandwidth_gb_s"] - 72) < 0.1'

step "unknown GPU"
if "$HEARTH" fit "$MODEL" --gpu "RTX 3060 16GB" > "$tmp/bad.txt" 2>&1; then fail "an unknown GPU was accepted"; fi
grep -q "close matches" "$tmp/bad.txt" || fail "no close matches: $(cat "$tmp/bad.txt")"
grep -q "RTX 3060 12GB" "$tmp/bad.txt" || fail "the close matches lack the RTX 3060 12GB: $(cat "$tmp/bad.txt")"

step "fit over HTTP (header only)"
python3 -u -m http.server --bind 127.0.0.1 0 --directory "$FIX/models" > "$tmp/http.log" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o 'port [0-9]*' "$tmp/http.log" | head -1 | cut -d' ' -f2 || true)
  [[ -n "$port" ]] && break
  sleep 0.1
done
[[ -n "$port" ]] || fail "the http server did not start: $(cat "$tmp/http.log")"
"$HEARTH" fit "http://127.0.0.1:$port/llama-s-Q4_K_M.gguf" --no-gpu --no-measure --ctx 2048 --json > "$tmp/remote.json"
check "$tmp/remote.json" 'j["total_layers"] == 4' 'j["fits"]' \
  "j['model']['bytes'] == $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["bytes"])' "$tmp/cpu.json")"
echo "PASS"

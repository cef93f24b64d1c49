#!/usr/bin/env bash
# End-to-end test of `hearth quantize`: a fixture model to Q4_K_M (progress, sizes, error summary, the
# result loads), a dry run, importance matrices (valid and malformed), clear errors for bad arguments and
# unwritable outputs, a file-size limit (a stand-in for a full disk), and SIGINT / SIGTERM in the middle
# of a ~80 MB model: no partial output, no temporary file, an existing output left untouched.
set -euo pipefail

HEARTH=${HEARTH:?set HEARTH to the hearth binary}
FIX=${HEARTH_FIXTURES:?set HEARTH_FIXTURES to the fixtures directory}
tmp=$(mktemp -d)
pid=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  if [[ $rc -ne 0 ]]; then
    for f in "$tmp"/*.log; do
      [[ -f "$f" ]] && { echo "--- $f (last 20 lines)" >&2; tail -20 "$f" >&2; }
    done
  fi
  chmod -R u+w "$tmp" 2>/dev/null
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# No file of the output's name and no temporary sibling in a directory.
no_output() {  # dir name
  [[ ! -e "$1/$2" ]] || fail "$1/$2 exists"
  local left
  left=$(find "$1" -maxdepth 1 -name "$2.tmp-*" | head -1)
  [[ -z "$left" ]] || fail "temporary file left behind: $left"
}

SRC_MODEL="$FIX/models/llama-s-f32.gguf"

step "quantize a fixture model to Q4_K_M"
"$HEARTH" quantize "$SRC_MODEL" "$tmp/q4km.gguf" Q4_K_M -t 2 >"$tmp/q.log" 2>"$tmp/q.err.log"
grep -qE '^\[ ?1/39\] ' "$tmp/q.log" || fail "no progress line for the first tensor"
[[ $(grep -cE '^\[[ 0-9]+/39\] ' "$tmp/q.log") -eq 39 ]] || fail "expected 39 progress lines"
grep -qE 'blk\.3\.ffn_down\.weight .* F32 -> Q6_K .* err' "$tmp/q.log" || fail "ffn_down of layer 3 should be Q6_K"
grep -qE 'output_norm\.weight .* F32 \(kept\)' "$tmp/q.log" || fail "norms should stay F32"
grep -qE '^size: 13\.[0-9]+ MiB -> 2\.[0-9]+ MiB' "$tmp/q.log" || fail "size summary missing"
grep -qE '^  Q4_K +25 tensors .*%$' "$tmp/q.log" || fail "error summary for Q4_K missing"
grep -qE '^  Q6_K +5 tensors' "$tmp/q.log" || fail "error summary for Q6_K missing"
ref_size=$(stat -c %s "$FIX/models/llama-s-Q4_K_M.gguf")
our_size=$(stat -c %s "$tmp/q4km.gguf")
(( our_size * 100 >= ref_size * 99 && our_size * 100 <= ref_size * 101 )) ||
  fail "size $our_size is not within 1% of the reference's $ref_size"
[[ -z "$(find "$tmp" -name '*.tmp-*')" ]] || fail "temporary file left behind"
"$HEARTH" show "$tmp/q4km.gguf" >"$tmp/show.log" 2>&1 || fail "hearth show cannot read the output"

step "dry run: the plan, nothing written"
"$HEARTH" quantize "$SRC_MODEL" "$tmp/dry.gguf" Q3_K_M --dry-run >"$tmp/dry.log" 2>&1
grep -qE 'blk\.0\.attn_v\.weight .* F32 -> Q5_K' "$tmp/dry.log" || fail "dry run: attn_v of layer 0 should be Q5_K"
grep -q 'dry run' "$tmp/dry.log" || fail "dry run not reported"
no_output "$tmp" "dry.gguf"

step "importance matrix (legacy .dat)"
python3 - "$tmp/im.dat" "$tmp/bad.dat" <<'EOF'
import struct, sys
names = ["token_embd.weight", "output.weight"]
for l in range(4):
    names += [f"blk.{l}.{t}.weight" for t in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up")]
    names += [f"blk.{l}.ffn_down.weight"]
def entry(name, n):
    b = name.encode()
    return struct.pack("<i", len(b)) + b + struct.pack("<ii", 10, n) + struct.pack(f"<{n}f", *[(1 + (i % 7)) * 10.0 for i in range(n)])
good = struct.pack("<i", len(names)) + b"".join(entry(n, 512 if "ffn_down" in n else 256) for n in names)
good += struct.pack("<ii", 10, 9) + b"wiki.test"
open(sys.argv[1], "wb").write(good)
open(sys.argv[2], "wb").write(good[:1000])  # truncated
EOF
"$HEARTH" quantize "$SRC_MODEL" "$tmp/im.gguf" IQ4_XS --imatrix "$tmp/im.dat" >"$tmp/im.log" 2>&1 || fail "imatrix run failed"
grep -q 'importance matrix: .*legacy format, 30 entries, 10 chunks, data set wiki.test' "$tmp/im.log" || fail "imatrix summary"
grep -q 'importance matrix used for 30 tensors' "$tmp/im.log" || fail "imatrix not used"
# With an imatrix, IQ4_XS keeps ffn_down of the first layers at IQ4_XS (Q5_K without).
grep -qE 'blk\.0\.ffn_down\.weight .* -> IQ4_XS' "$tmp/im.log" || fail "imatrix-dependent choice"
if "$HEARTH" quantize "$SRC_MODEL" "$tmp/imbad.gguf" Q4_K_M --imatrix "$tmp/bad.dat" >"$tmp/imbad.log" 2>&1; then
  fail "a truncated imatrix was accepted"
fi
grep -q 'truncated' "$tmp/imbad.log" || fail "unclear error for a truncated imatrix"
no_output "$tmp" "imbad.gguf"

step "bad arguments give clear errors"
if "$HEARTH" quantize "$SRC_MODEL" "$tmp/x.gguf" Q7_Z >"$tmp/bad.log" 2>&1; then fail "unknown type accepted"; fi
grep -q "unknown quantization type 'Q7_Z'" "$tmp/bad.log" || fail "unclear error for an unknown type"
if "$HEARTH" quantize "$tmp/missing.gguf" "$tmp/x.gguf" Q4_0 >"$tmp/bad.log" 2>&1; then fail "missing input accepted"; fi
grep -qiE "not found|no such file" "$tmp/bad.log" || fail "unclear error for a missing input"
if "$HEARTH" quantize "$SRC_MODEL" "$tmp/no/such/dir/x.gguf" Q4_0 >"$tmp/bad.log" 2>&1; then fail "missing dir accepted"; fi
grep -q "cannot create" "$tmp/bad.log" || fail "unclear error for a missing directory"
if [[ $(id -u) -ne 0 ]]; then
  mkdir "$tmp/ro" && chmod 555 "$tmp/ro"
  if "$HEARTH" quantize "$SRC_MODEL" "$tmp/ro/x.gguf" Q4_0 >"$tmp/bad.log" 2>&1; then fail "read-only dir accepted"; fi
  grep -q "Permission denied" "$tmp/bad.log" || fail "unclear error for a read-only directory"
  no_output "$tmp/ro" "x.gguf"
fi
no_output "$tmp" "x.gguf"

step "make a ~80 MB F32 model"
python3 - "$tmp/big.gguf" <<'EOF'
import random, struct, sys
random.seed(5)
E, L, F, V, H, KV = 512, 4, 2048, 4096, 8, 4
pool = struct.pack("<65536f", *[random.gauss(0, 0.02) for _ in range(65536)])
def s(x):
    b = x.encode(); return struct.pack("<Q", len(b)) + b
kv = [("general.architecture", 8, s("llama")), ("general.name", 8, s("big e2e")),
      ("llama.block_count", 4, struct.pack("<I", L)), ("llama.embedding_length", 4, struct.pack("<I", E)),
      ("llama.feed_forward_length", 4, struct.pack("<I", F)), ("llama.attention.head_count", 4, struct.pack("<I", H)),
      ("llama.attention.head_count_kv", 4, struct.pack("<I", KV)), ("llama.context_length", 4, struct.pack("<I", 2048)),
      ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5))]
ts = [("token_embd.weight", [E, V]), ("output_norm.weight", [E]), ("output.weight", [E, V])]
for l in range(L):
    b = f"blk.{l}."
    ts += [(b + "attn_norm.weight", [E]), (b + "attn_q.weight", [E, E]), (b + "attn_k.weight", [E, E * KV // H]),
           (b + "attn_v.weight", [E, E * KV // H]), (b + "attn_output.weight", [E, E]), (b + "ffn_norm.weight", [E]),
           (b + "ffn_gate.weight", [E, F]), (b + "ffn_up.weight", [E, F]), (b + "ffn_down.weight", [F, E])]
h = b"GGUF" + struct.pack("<IQQ", 3, len(ts), len(kv))
for k, t, v in kv: h += s(k) + struct.pack("<I", t) + v
off = 0
for n, ne in ts:
    h += s(n) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", 0, off)
    nb = 4
    for d in ne: nb *= d
    off += (nb + 31) // 32 * 32
h += b"\0" * ((32 - len(h) % 32) % 32)
with open(sys.argv[1], "wb") as f:
    f.write(h)
    for n, ne in ts:
        nb = 4
        for d in ne: nb *= d
        data = (pool * (nb // len(pool) + 1))[:nb] if len(ne) > 1 else struct.pack(f"<{ne[0]}f", *([1.0] * ne[0]))
        f.write(data + b"\0" * ((32 - nb % 32) % 32))
EOF
big_size=$(stat -c %s "$tmp/big.gguf")
(( big_size > 50000000 )) || fail "big model is only $big_size bytes"

step "bounded memory: the peak RSS stays well below the input's size"
if [[ -x /usr/bin/time ]]; then
  /usr/bin/time -f '%M' -o "$tmp/rss" "$HEARTH" quantize "$tmp/big.gguf" "$tmp/big-q8.gguf" Q8_0 -t 2 >"$tmp/q8.log" 2>&1 ||
    fail "quantizing the big model failed"
  rss_kb=$(tail -1 "$tmp/rss")
  echo "   peak RSS ${rss_kb} KiB for a $((big_size / 1024)) KiB input"
  (( rss_kb * 1024 < big_size / 2 )) || fail "peak RSS ${rss_kb} KiB is not below half the input's size"
  rm -f "$tmp/big-q8.gguf"
fi

# Starts quantizing the big model in the background; returns once it has converted a tensor.
start_big() {  # output log
  "$HEARTH" quantize "$tmp/big.gguf" "$1" IQ4_XS -t 1 >"$2" 2>"$2.err.log" &
  pid=$!
  for _ in $(seq 600); do
    grep -qE '^\[ *[0-9]+/[0-9]+\] .* -> ' "$2" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || fail "quantize ended before it could be interrupted"
    sleep 0.05
  done
  fail "no progress after 30 s"
}

step "SIGINT mid-way: an existing output is left untouched, no temporary file"
echo "previous output" >"$tmp/big-q.gguf"
start_big "$tmp/big-q.gguf" "$tmp/int.log"
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 130 ]] || fail "exit status $rc after SIGINT (expected 130)"
grep -q "interrupted (SIGINT)" "$tmp/int.log.err.log" || fail "no interruption message"
[[ "$(cat "$tmp/big-q.gguf")" == "previous output" ]] || fail "the existing output was modified"
[[ -z "$(find "$tmp" -maxdepth 1 -name 'big-q.gguf.tmp-*')" ]] || fail "temporary file left after SIGINT"

step "SIGTERM mid-way: no output at all"
start_big "$tmp/big-t.gguf" "$tmp/term.log"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
[[ $rc -eq 143 ]] || fail "exit status $rc after SIGTERM (expected 143)"
no_output "$tmp" "big-t.gguf"

step "file-size limit (a full disk's write error): clear error, nothing left"
rc=0
(ulimit -f 4096 && exec "$HEARTH" quantize "$tmp/big.gguf" "$tmp/big-f.gguf" F16 -t 2) >"$tmp/full.log" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || fail "exit status $rc with a file-size limit (expected 1)"
grep -q "cannot write .*big-f.gguf" "$tmp/full.log" || fail "unclear error for a failed write"
no_output "$tmp" "big-f.gguf"

echo "quantize e2e: all passed"

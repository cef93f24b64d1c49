#!/usr/bin/env bash
# e2e: `hearth run` on the real stories260K model reproduces the reference's greedy text, and the
# first commands behave for a user (show, logits, bench, bad input).
set -euo pipefail
: "${HEARTH:?}" "${HEARTH_FIXTURES:?}"
M="$HEARTH_FIXTURES/models/stories260K-f32.gguf"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Greedy generation: the prompt (as the SentencePiece decoder prints it) and 128 tokens. The fixture
# ends with the reference program's two extra newlines; compare without trailing newlines.
"$HEARTH" run "$M" -p "Once upon a time" -n 128 --temp 0 >"$tmp/out.txt"
python3 - "$tmp/out.txt" "$HEARTH_FIXTURES/models/stories260K.greedy.txt" <<'PY'
import sys
a = open(sys.argv[1], 'rb').read().rstrip(b'\n')
b = open(sys.argv[2], 'rb').read().rstrip(b'\n')
if a != b:
    i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
    sys.exit(f"greedy text differs at byte {i}:\n ours: {a[i-20:i+40]!r}\n  ref: {b[i-20:i+40]!r}")
PY

# Same seed, same text; the prompt from stdin when it is not a terminal.
a=$("$HEARTH" run "$M" -p "Once upon a time" -n 32 --temp 0.9 --seed 7)
b=$("$HEARTH" run "$M" -p "Once upon a time" -n 32 --temp 0.9 --seed 7)
[[ "$a" == "$b" ]] || { echo "same seed gave different text"; exit 1; }
c=$(echo "Once upon a time" | "$HEARTH" run "$M" -n 16 --temp 0)
[[ "$c" == " Once upon a time"* ]] || { echo "stdin prompt not used: $c"; exit 1; }

# show: text and JSON.
"$HEARTH" show "$M" | grep -q "architecture *llama"
"$HEARTH" show "$M" --json | python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["architecture"]=="llama" and j["block_count"]==5, j'

# logits: rows x n_vocab floats.
"$HEARTH" logits "$M" --tokens "1 403 407" --out "$tmp/l.f32"
[[ $(stat -c %s "$tmp/l.f32") -eq $((3 * 512 * 4)) ]] || { echo "logits file has the wrong size"; exit 1; }

# bench --json has the fields a script needs.
"$HEARTH" bench "$M" -p 16 -n 8 -r 1 --json | python3 -c 'import json,sys; j=json.load(sys.stdin); [j[k] for k in ("pp_tok_s","tg_tok_s","bandwidth_gb_s","tg_roofline")]; assert j["tg_tok_s"]>0'
# bench --parallel: batched generation of several sequences, each with a rate and the gain over one.
"$HEARTH" bench "$M" -p 0 -n 8 -r 1 --parallel 3,1 --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
p = j["parallel"]
assert [e["sequences"] for e in p] == [3, 1], p
assert all(e["tok_s"] > 0 for e in p), p
# the gain is relative to the one-sequence rate wherever it appears in the list
assert abs(p[0]["vs_one_sequence"] - p[0]["tok_s"] / p[1]["tok_s"]) < 1e-9, p'
if "$HEARTH" bench "$M" -p 0 -n 4 --parallel 0 2>/dev/null; then echo "bench --parallel 0 accepted"; exit 1; fi
if "$HEARTH" bench "$M" -p 4 -n 0 --parallel 2 2>/dev/null; then echo "bench --parallel with -n 0 accepted"; exit 1; fi

# Bad input: clear errors, no crash.
if "$HEARTH" run "$tmp/missing.gguf" -p hi 2>"$tmp/err"; then echo "missing model accepted"; exit 1; fi
grep -Eq "not found|no such file" "$tmp/err"
head -c 1000 "$M" >"$tmp/trunc.gguf"
if "$HEARTH" run "$tmp/trunc.gguf" -p hi 2>"$tmp/err"; then echo "truncated model accepted"; exit 1; fi
grep -qi "error" "$tmp/err"
if "$HEARTH" logits "$M" --tokens "1 99999" --out "$tmp/x" 2>"$tmp/err"; then echo "bad token accepted"; exit 1; fi
grep -q "out of range" "$tmp/err"
echo "run_test: ok"

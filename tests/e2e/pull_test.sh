#!/usr/bin/env bash
# End-to-end test of `hearth pull`, `list`, `rm` and `cp` against a local fake registry
# (tests/e2e/fake_registry.py: an Ollama-style registry, a Hugging Face-style hub and plain files on a free
# loopback port). Everything lives in a temporary folder; the server is stopped by a trap.
set -euo pipefail

HEARTH=${HEARTH:?set HEARTH to the hearth binary}
SRC=${HEARTH_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
server_pid=""
cleanup() {
  local rc=$?
  set +e
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  jobs -p | xargs -r kill -9 2>/dev/null
  if [[ $rc -ne 0 ]]; then
    echo "--- server log (last 40 lines)" >&2
    tail -40 "$tmp/server.log" >&2 || true
  fi
  rm -rf "$tmp"
  exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

# Never reach the user's real stores, proxies or tokens.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy HF_TOKEN HUGGING_FACE_HUB_TOKEN HF_ENDPOINT
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
export HOME="$tmp/user-home"
export HEARTH_HOME="$tmp/hearth"
export OLLAMA_MODELS="$tmp/no-ollama"
export HF_HUB_CACHE="$tmp/no-hf-cache"
export HEARTH_RETRY_DELAY_MS=100
mkdir -p "$HOME"

python3 "$SRC/tests/e2e/fake_registry.py" --dir "$tmp/srv" --port-file "$tmp/port" --log "$tmp/server.log" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$tmp/port" ]] && break; sleep 0.1; done
[[ -s "$tmp/port" ]] || fail "the fake registry did not start"
port=$(cat "$tmp/port")
base="http://127.0.0.1:$port"
export HEARTH_REGISTRY="$base"
export HEARTH_HF_ENDPOINT="$base/hf"

blobs="$HEARTH_HOME/models/blobs"
manifests="$HEARTH_HOME/models/manifests/registry.ollama.ai/library"

# Runs hearth expecting success; output in $tmp/out.
ok() { "$HEARTH" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; fail "hearth $* failed"; }; }
# Runs hearth expecting failure with a message matching $1.
fails_with() {
  local pattern=$1
  shift
  if "$HEARTH" "$@" >"$tmp/out" 2>&1; then cat "$tmp/out" >&2; fail "hearth $* succeeded"; fi
  grep -qi -- "$pattern" "$tmp/out" || { cat "$tmp/out" >&2; fail "hearth $* did not say '$pattern'"; }
}
has() { grep -q -- "$1" "$tmp/out" || { cat "$tmp/out" >&2; fail "expected '$1' in the output of the last command"; }; }
lacks() { if grep -q -- "$1" "$tmp/out"; then cat "$tmp/out" >&2; fail "unexpected '$1'"; fi; }
# Every blob's content matches its name; no manifest references a missing blob.
check_store() {
  local f d
  for f in "$blobs"/sha256-*; do
    [[ -e "$f" ]] || continue
    [[ "$f" == *.partial ]] && continue
    d=$(sha256sum "$f" | cut -d' ' -f1)
    [[ "sha256-$d" == "$(basename "$f")" ]] || fail "blob $f has sha256 $d"
  done
  while IFS= read -r -d '' f; do
    for d in $(grep -o 'sha256:[0-9a-f]\{64\}' "$f"); do
      [[ -f "$blobs/sha256-${d#sha256:}" ]] || fail "manifest $f references missing blob $d"
    done
  done < <(find "$HEARTH_HOME/models/manifests" -type f -print0)
}
store_snapshot() { (cd "$HEARTH_HOME/models" && find blobs manifests -type f | sort); }
count_requests() { grep -c -- "$1" "$tmp/server.log" || true; }

step "Ollama-style pull"
ok pull tiny
has "pulled tiny:latest"
[[ -f "$manifests/tiny/latest" ]] || fail "no manifest for tiny:latest"
for media in model template system license params; do
  grep -q "application/vnd.ollama.image.$media" "$manifests/tiny/latest" || fail "the $media layer was not stored"
done
grep -q '"temperature": 0.5' "$blobs"/sha256-* 2>/dev/null || fail "the params layer was not stored"
[[ $(count_requests "GET /cdn/sha256:") -eq 6 ]] || fail "expected 6 blob downloads (config + 5 layers)"
check_store
ok list
has "tiny:latest"
has "Q4_K_M"
ok list --json
python3 - "$tmp/out" <<'PY' || fail "list --json is wrong"
import json, sys
models = json.load(open(sys.argv[1]))
[m] = [m for m in models if m["name"] == "tiny:latest"]
assert m["quantization"] == "Q4_K_M" and m["architecture"] == "llama" and m["source"] == "hearth", m
assert m["size"] > 262144, m
PY

step "pulling again downloads nothing"
before=$(count_requests "GET /cdn/")
ok pull library/tiny:latest
[[ $(count_requests "GET /cdn/") -eq $before ]] || fail "blobs were downloaded again"
has "already present"

step "cp, a second tag sharing the model blob, rm keeps shared blobs"
ok cp tiny tiny-copy
has "copied tiny:latest to tiny-copy:latest"
ok pull tiny:v2
model_blob=$(grep -B2 -A2 'image.model' "$manifests/tiny/v2" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
params_v1=$(python3 -c 'import json,sys; print([l["digest"] for l in json.load(open(sys.argv[1]))["layers"] if l["mediaType"].endswith("params")][0])' "$manifests/tiny/latest")
[[ -n "$model_blob" && -n "$params_v1" ]] || fail "cannot read the manifests"
ok list
has "tiny-copy:latest"
has "tiny:v2"
ok rm tiny
[[ ! -f "$manifests/tiny/latest" ]] || fail "rm left the manifest"
[[ -f "$blobs/sha256-${params_v1#sha256:}" ]] || fail "rm deleted a blob tiny-copy still uses"
ok rm tiny-copy
[[ ! -f "$blobs/sha256-${params_v1#sha256:}" ]] || fail "rm kept an unused blob"
[[ -f "$blobs/sha256-${model_blob#sha256:}" ]] || fail "rm deleted the model blob tiny:v2 still uses"
ok list
lacks "tiny-copy"
has "tiny:v2"
fails_with "not found" rm tiny
fails_with "not found" cp nothing-here other
check_store

step "Hugging Face pull picks Q4_K_M"
ok pull hf.co/user/tiny-GGUF
has "pulled hf.co/user/tiny-GGUF:latest"
grep -q "GET /hfcdn/user/tiny-GGUF/tiny-Q4_K_M.gguf" "$tmp/server.log" || fail "Q4_K_M was not the file downloaded"
grep -q "cursor=3" "$tmp/server.log" || fail "the paginated file listing was not followed"
grep -q "mmproj" "$tmp/server.log" && fail "the projector file was downloaded"
ok pull hf.co/user/tiny-GGUF:q8_0
grep -q "GET /hfcdn/user/tiny-GGUF/tiny-Q8_0.gguf" "$tmp/server.log" || fail "Q8_0 was not downloaded"
ok list --json
python3 - "$tmp/out" <<'PY' || fail "list does not show the Hugging Face models"
import json, sys
models = {m["name"]: m for m in json.load(open(sys.argv[1]))}
assert models["hf.co/user/tiny-GGUF:latest"]["quantization"] == "Q4_K_M", models
assert models["hf.co/user/tiny-GGUF:Q8_0"]["quantization"] == "Q8_0", models
PY
fails_with "no GGUF file for quantization Q5_K_M" pull hf.co/user/tiny-GGUF:Q5_K_M
has "available: Q2_K, Q4_K_M, Q8_0"

step "Hugging Face split model"
ok pull hf.co/user/split-GGUF
grep -q "split-Q4_K_M-00002-of-00002.gguf" "$tmp/server.log" || fail "the second part was not downloaded"
[[ $(grep -c '"application/vnd.ollama.image.model"' "$HEARTH_HOME/models/manifests/hf.co/user/split-GGUF/latest") -eq 2 ]] ||
  fail "the split model's manifest does not have two model layers"

step "Hugging Face private repository and 404"
fails_with "private or gated" pull hf.co/user/private-GGUF
HF_TOKEN=sekrit ok pull hf.co/user/private-GGUF
grep -q "GET /hf/api/models/user/private-GGUF/tree/main?recursive=true range=- auth=yes" "$tmp/server.log" ||
  fail "HF_TOKEN was not sent"
fails_with "no such model" pull hf.co/user/nothing-GGUF

step "URL pull"
ok pull "$base/files/url-model-Q5_K_M.gguf"
has "pulled url-model-q5_k_m:latest"
ok list
has "url-model-q5_k_m:latest"
has "Q5_K_M"
want=$(sha256sum "$tmp/srv/files/url-model-Q5_K_M.gguf" | cut -d' ' -f1)
ok pull "$base/files/url-model-Q5_K_M.gguf" --name url-checked --sha256 "$want"
fails_with "sha256 mismatch" pull "$base/files/url-model-Q5_K_M.gguf" --name url-wrong --sha256 "$(printf '0%.0s' $(seq 64))"
fails_with "not a GGUF file" pull "$base/files/not-a-model.gguf"
fails_with "not found" pull "$base/files/missing.gguf"

step "local file: copy and link"
ok pull "$tmp/srv/files/local-model-Q6_K.gguf"
has "pulled local-model-q6_k:latest"
ok pull "$tmp/srv/files/local-model-Q6_K.gguf" --link --name linked
grep -q "\"path\": \"$tmp/srv/files/local-model-Q6_K.gguf\"" "$manifests/linked/latest" || fail "--link did not reference the file"
ok list --json
grep -q '"name": "linked:latest"' "$tmp/out" || fail "the linked model is not listed"
fails_with "no such file" pull "$tmp/nowhere.gguf"

step "names are validated"
fails_with "invalid model name" pull 'library/../../etc:x'
fails_with "invalid model name" pull 'bad name'
fails_with "invalid model name" cp tiny:v2 '.hidden'
fails_with "unsupported URL scheme" pull "file:///etc/passwd"
[[ ! -e "$HEARTH_HOME/models/etc" && ! -e "$HEARTH_HOME/etc" ]] || fail "a traversal escaped"

step "404, 401 and transient 503"
fails_with "no such model" pull does-not-exist
fails_with "access denied" pull secret
ok pull flaky
[[ $(count_requests "GET /v2/library/flaky/manifests/latest") -eq 3 ]] || fail "the 503s were not retried"

step "not enough disk space: an error before any download"
snap_before=$(store_snapshot)
fails_with "not enough disk space" pull huge
[[ "$(store_snapshot)" == "$snap_before" ]] || fail "the failed pull changed the store"

step "a damaged partial download is detected and fetched again"
q2=$(sha256sum "$tmp/srv/hf/user/tiny-GGUF/tiny-Q2_K.gguf" | cut -d' ' -f1)
head -c 1000 /dev/urandom >"$blobs/sha256-$q2.partial"
ok pull hf.co/user/tiny-GGUF:Q2_K
has "does not match; starting again"
grep -q "GET /hfcdn/user/tiny-GGUF/tiny-Q2_K.gguf range=bytes=1000- " "$tmp/server.log" || fail "the partial was not resumed first"
grep -q "GET /hfcdn/user/tiny-GGUF/tiny-Q2_K.gguf range=- " "$tmp/server.log" || fail "the file was not fetched again"
[[ -f "$blobs/sha256-$q2" ]] || fail "the blob is not in the store"
check_store

step "dropped connection: the next pull resumes with Range"
HEARTH_PULL_RETRIES=0 fails_with "interrupted" pull drop
ls "$blobs"/*.partial >/dev/null 2>&1 || fail "no partial download was kept"
[[ ! -d "$manifests/drop" ]] || fail "a manifest was written for an incomplete pull"
ok pull drop
drop_digest=$(grep -B2 -A2 'image.model' "$manifests/drop/latest" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
grep -q "GET /cdn/$drop_digest range=bytes=[1-9][0-9]*- " "$tmp/server.log" || fail "the second pull did not resume with Range"
ls "$blobs"/*.partial >/dev/null 2>&1 && fail "a partial file was left behind"
check_store

step "dropped connection: a pull retries and resumes by itself"
ok pull drop2
drop2_digest=$(grep -B2 -A2 'image.model' "$manifests/drop2/latest" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
grep -q "GET /cdn/$drop2_digest range=bytes=[1-9][0-9]*- " "$tmp/server.log" || fail "no Range request after the drop"
has "resuming at"

step "corrupted blob: sha256 mismatch, store unchanged"
snap_before=$(store_snapshot)
fails_with "sha256 mismatch" pull corrupt
[[ "$(store_snapshot)" == "$snap_before" ]] || fail "the failed pull changed the store"
[[ ! -d "$manifests/corrupt" ]] || fail "a manifest was written for a corrupt model"

step "two concurrent pulls of the same model"
"$HEARTH" pull slow2 >"$tmp/c1" 2>&1 &
p1=$!
"$HEARTH" pull slow2 >"$tmp/c2" 2>&1 &
p2=$!
wait $p1 || { cat "$tmp/c1" >&2; fail "the first concurrent pull failed"; }
wait $p2 || { cat "$tmp/c2" >&2; fail "the second concurrent pull failed"; }
[[ -f "$manifests/slow2/latest" ]] || fail "no manifest after the concurrent pulls"
slow2_digest=$(grep -B2 -A2 'image.model' "$manifests/slow2/latest" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
[[ $(count_requests "GET /cdn/$slow2_digest") -eq 1 ]] || fail "the model blob was downloaded twice"
ls "$blobs"/*.partial >/dev/null 2>&1 && fail "a partial file was left behind"
check_store

step "kill -9 during a pull, then pull again"
"$HEARTH" pull slow >"$tmp/k" 2>&1 &
pk=$!
for _ in $(seq 100); do
  part=$(ls "$blobs"/*.partial 2>/dev/null | head -1 || true)
  [[ -n "$part" && $(stat -c %s "$part" 2>/dev/null || echo 0) -gt 100000 ]] && break
  sleep 0.1
done
kill -9 $pk
wait $pk 2>/dev/null || true
[[ ! -d "$manifests/slow" ]] || fail "a manifest exists for a killed pull"
check_store
ok list
lacks "slow:latest"
ok pull slow
slow_digest=$(grep -B2 -A2 'image.model' "$manifests/slow/latest" | grep -o 'sha256:[0-9a-f]\{64\}' | head -1)
grep -q "GET /cdn/$slow_digest range=bytes=[1-9][0-9]*- " "$tmp/server.log" || fail "the pull after kill -9 did not resume"
ls "$blobs"/*.partial >/dev/null 2>&1 && fail "a partial file was left behind"
check_store

step "models from Ollama's store and the Hugging Face cache are listed and used in place"
mkdir -p "$tmp/ollama/manifests/registry.ollama.ai"
cp -r "$tmp/srv/manifests/library" "$tmp/ollama/manifests/registry.ollama.ai/"
cp -r "$tmp/srv/blobs" "$tmp/ollama/blobs"
snap="$tmp/hf-cache/models--someone--cached-GGUF/snapshots/0123abcd"
mkdir -p "$snap" "$tmp/hf-cache/models--someone--cached-GGUF/refs"
echo 0123abcd >"$tmp/hf-cache/models--someone--cached-GGUF/refs/main"
cp "$tmp/srv/hf/user/tiny-GGUF/tiny-Q8_0.gguf" "$snap/cached-Q8_0.gguf"
OLLAMA_MODELS="$tmp/ollama" HF_HUB_CACHE="$tmp/hf-cache" ok list --json
python3 - "$tmp/out" "$tmp/ollama" "$snap" <<'PY' || fail "external models are not listed"
import json, sys
models = json.load(open(sys.argv[1]))
by = {(m["name"], m["source"]): m for m in models}
o = by[("corrupt:latest", "ollama")]
assert o["path"].startswith(sys.argv[2] + "/blobs/sha256-") and o["quantization"] == "Q4_K_M", o
h = by[("hf.co/someone/cached-GGUF:Q8_0", "hf-cache")]
assert h["path"] == sys.argv[3] + "/cached-Q8_0.gguf" and h["quantization"] == "Q8_0", h
assert ("tiny:v2", "hearth") in by
PY
OLLAMA_MODELS="$tmp/ollama" fails_with "ollama rm" rm corrupt
[[ -f "$tmp/ollama/manifests/registry.ollama.ai/library/corrupt/latest" ]] || fail "rm touched Ollama's store"

step "final list"
ok list
cat "$tmp/out"
echo "pull_test: all passed"

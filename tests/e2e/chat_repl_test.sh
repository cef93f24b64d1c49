#!/usr/bin/env bash
# End-to-end test of the interactive chat (`hearth run MODEL` on a terminal), driven through a
# pseudo-terminal by tests/e2e/pty_chat.py (Python standard library only):
#  - qwen2-s (random weights): two turns, /set, cache reuse between turns (--verbose prints
#    "prompt: N tokens (M cached)" per turn), Ctrl-C during a long answer stops the answer and the
#    program goes on, /bye exits 0;
#  - stories260K (no chat template: ChatML fallback): /?, """ blocks and backslash continuation,
#    /show, /clear, the context policy (oldest turns dropped in a 128-token context, a message too
#    long for the context refused), Ctrl-C at the prompt, Ctrl-D exits 0; the history file is written.
set -euo pipefail

HEARTH=${HEARTH:?set HEARTH to the hearth binary}
FIX=${HEARTH_FIXTURES:?set HEARTH_FIXTURES to the fixtures folder}
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# The history goes to $HEARTH_HOME/history: never touch the user's.
export HEARTH_HOME="$tmp/home" HOME="$tmp/user-home"
unset HEARTH_LOG EDITRC
mkdir -p "$HOME"

echo "== qwen2-s: turns, /set, cache reuse, Ctrl-C during an answer, /bye"
python3 "$HERE/pty_chat.py" qwen "$HEARTH" "$FIX/models/qwen2-s-Q8_0.gguf" \
  --verbose --ignore-eos -c 2048 -t 1 || fail "qwen scenario"

echo "== stories260K: multi-line input, /show, /clear, context policy, Ctrl-C at the prompt, Ctrl-D"
python3 "$HERE/pty_chat.py" stories "$HEARTH" "$FIX/models/stories260K-f32.gguf" \
  --verbose --ignore-eos -n 8 -c 128 -t 1 || fail "stories scenario"

echo "== history file"
hist="$HEARTH_HOME/history"
[[ -s "$hist" ]] || fail "no history file at $hist"
# libedit's format: a header line, then one line per entry with spaces written as \040.
grep -q 'Hello,\\040who\\040are\\040you?' "$hist" || fail "the first message is not in the history"
grep -q 'num_predict' "$hist" || fail "the /set commands are not in the history"
[[ ! -e "$HOME/.hearth/history" ]] || fail "the history went to ~/.hearth despite HEARTH_HOME"

echo "ok"

"""e2e stress test of `hearth serve` (issue #6), over raw HTTP with Python's standard library.

1. Concurrency: 16 clients stream at once (OpenAI SSE and Ollama NDJSON, different prompts, temperature 0);
   each output must equal the output of the same request made alone. Then 16 long streams must all be
   running at the same time (none may finish before the last one has started).
2. Malformed requests: a suite of a few hundred cases over every route (bad JSON, wrong types, missing
   fields, unknown models, path traversal, wrong methods, bad headers, bodies over --max-body, prompts
   longer than the context). Each must get a 4xx (never a 5xx, never a dropped connection) with a JSON
   error in its API's shape. The server must still be alive and serving afterwards.
3. Disconnects: a client that goes away during generation, or during prompt processing, frees its
   sequence at once (hearth_active_sequences back to 0 within about a second), and the next request is
   served.

Every phase runs even when an earlier one fails; all failures are printed at the end. A server that dies
during the malformed suite is reported and restarted so the remaining cases still run."""
import http.client
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

from e2e_server import free_port  # noqa: E402 (the shared helper module next to this file)

HEARTH = os.environ["HEARTH"]
FIX = os.environ["HEARTH_FIXTURES"]
MODELS = {
    "stories": "stories260K-f32.gguf",  # the real (trained) model: fast, used by the malformed suite
    "llama": "llama-s-Q8_0.gguf",       # random weights, quantized: near-tied logits make it a strict check
    "qwen": "qwen2-s-Q8_0.gguf",
}
CTX = 2048              # tokens per sequence on the main server
MAX_BODY = 1 << 20      # --max-body on the main server
N_CLIENTS = 16
GEN_TOKENS = 48         # output length of the equality check
DISCONNECT_BOUND = 1.5  # seconds for a cancelled sequence to be freed (a decode step takes milliseconds)
PROMPT_DISCONNECT_BOUND = 2.5  # the same during prompt processing (pings every 200 ms, 512-token chunks)

FAILURES = []


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def short(b, n=160):
    if isinstance(b, (dict, list)):
        b = json.dumps(b)
    if isinstance(b, bytes):
        b = b.decode("utf-8", "replace")
    b = str(b).replace("\r", "\\r").replace("\n", "\\n")
    return b if len(b) <= n else f"{b[:n]}... ({len(b)} bytes)"


class Server:
    count = 0

    def __init__(self, home, env, *args):
        self.home, self.env, self.args = home, env, args
        self.start()

    def start(self):
        Server.count += 1
        self.port = free_port()
        self.log_path = os.path.join(self.home, f"serve-{Server.count}.log")
        self.proc = subprocess.Popen([HEARTH, "serve", "--port", str(self.port), *self.args], env=self.env,
                                     cwd=self.home, stdout=subprocess.DEVNULL, stderr=open(self.log_path, "w"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.request("GET", "/health", timeout=5)[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.log_tail()}")

    def log_tail(self, n=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def conn(self, timeout=60):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=60):
        c = self.conn(timeout)
        try:
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            c.request(method, path, body=body,
                      headers={"Content-Type": "application/json"} if headers is None else headers)
            r = c.getresponse()
            raw = r.read()
            return r.status, raw, r
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None):
        st, raw, r = self.request(method, path, body, headers)
        return st, (json.loads(raw) if raw.strip() else None), r

    def metric(self, name):
        st, raw, _ = self.request("GET", "/metrics", timeout=10)
        check(st == 200, f"/metrics answered {st}")
        m = re.search(rb"^" + re.escape(name.encode()) + rb" (\S+)$", raw, re.M)
        check(m is not None, f"/metrics has no {name}")
        return float(m.group(1))

    def wait_idle(self, patience=15.0):
        """Seconds until hearth_active_sequences is 0, or None if it stays above 0 for `patience` s."""
        t0 = time.time()
        while time.time() - t0 < patience:
            if self.metric("hearth_active_sequences") == 0:
                return time.time() - t0
            time.sleep(0.01)
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("the server did not stop within 10 s of SIGTERM")

    def restart(self):
        try:
            self.stop()
        except AssertionError:
            pass
        self.start()


class Stream:
    """A streaming request (OpenAI SSE under /v1/, Ollama NDJSON under /api/) read piece by piece."""

    def __init__(self, port, path, body, timeout=120):
        self.sse = path.startswith("/v1/")
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.content_type = self.resp.getheader("Content-Type", "")
        self.text, self.pieces, self.tokens, self.finish = "", 0, None, None
        self.done, self.error = False, None
        self.t_first = self.t_done = None
        if self.status != 200:
            self.error = f"status {self.status}: {short(self.resp.read())}"
            self.done = True

    def _line(self, line):
        """Handles one line; returns the content piece it carried ("" for none)."""
        line = line.decode("utf-8").rstrip("\n")
        if self.sse:
            if not line.startswith("data: "):
                return ""  # blank separators and ": ping" comments
            data = line[6:]
            if data == "[DONE]":
                self.done = True
                return ""
            j = json.loads(data)
            if "error" in j:
                self.error = j["error"]
                return ""
            if j.get("usage"):
                self.tokens = j["usage"]["completion_tokens"]
            for ch in j.get("choices", []):
                if ch.get("finish_reason"):
                    self.finish = ch["finish_reason"]
                return (ch["delta"].get("content") or "") if "delta" in ch else ch.get("text", "")
            return ""
        if not line.strip():
            return ""
        j = json.loads(line)
        if "error" in j:
            self.error = j["error"]
            self.done = True
            return ""
        piece = j["message"]["content"] if "message" in j else j.get("response", "")
        if j.get("done"):
            self.done = True
            self.tokens, self.finish = j.get("eval_count"), j.get("done_reason")
        return piece

    def next_piece(self):
        """Reads until a non-empty piece of text arrives (True) or the stream ends (False)."""
        while not self.done:
            line = self.resp.readline()
            if not line:
                if not self.done:
                    self.error = self.error or "the stream ended without its final message"
                    self.done = True
                break
            piece = self._line(line)
            if piece:
                self.text += piece
                self.pieces += 1
                if self.t_first is None:
                    self.t_first = time.time()
                return True
        if self.t_done is None:
            self.t_done = time.time()
        return False

    def read_all(self):
        while self.next_piece():
            pass
        self.close()
        return self

    def result(self):
        return (self.text, self.tokens, self.finish)

    def abort(self, rst=True):
        """Closes the connection abruptly: RST (SO_LINGER 0), or FIN via shutdown."""
        sock = self.conn.sock
        if sock is not None:
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_RDWR)
        self.close()

    def close(self):
        try:
            self.resp.close()
        finally:
            self.conn.close()


def phase(name, fn, *args):
    t0 = time.time()
    log(f"== {name}")
    try:
        fn(*args)
        log(f"   ok ({time.time() - t0:.1f} s)")
    except Exception as e:  # noqa: BLE001 - every failure is collected and reported
        msg = str(e) if isinstance(e, AssertionError) else f"{type(e).__name__}: {e}"
        FAILURES.append(f"{name}: {msg}")
        log(f"   FAILED ({time.time() - t0:.1f} s): {msg}")


# ---------------------------------------------------------------------------------------------------
# 1. Concurrency

PROMPTS = ["Once upon a time", "The cat sat on", "A dragon flew over the", "In the morning, Tom",
           "Why is the sky blue?", "Lily had a red ball", "The little boat sailed", "Write a poem about rain",
           "Sam and his dog went", "Mom baked a cake and", "The king of the forest", "Once there was a tiny frog",
           "The sun was hot and", "Ben found a shiny key", "The old tree said", "Tell me about the moon"]


def gen_spec(i, model, n):
    """Request i of the mix: OpenAI chat SSE, Ollama generate NDJSON (templated), OpenAI completion SSE,
    Ollama generate NDJSON (raw)."""
    p = PROMPTS[i % len(PROMPTS)]
    k = i % 4
    if k == 0:
        return "/v1/chat/completions", {"model": model, "stream": True, "stream_options": {"include_usage": True},
                                        "max_tokens": n, "temperature": 0, "messages": [{"role": "user", "content": p}]}
    if k == 1:
        return "/api/generate", {"model": model, "prompt": p, "options": {"num_predict": n, "temperature": 0}}
    if k == 2:
        return "/v1/completions", {"model": model, "stream": True, "stream_options": {"include_usage": True},
                                   "max_tokens": n, "temperature": 0, "prompt": p}
    return "/api/generate", {"model": model, "prompt": p, "raw": True, "options": {"num_predict": n, "temperature": 0}}


def concurrency_equality(srv, model):
    specs = [gen_spec(i, model, GEN_TOKENS) for i in range(N_CLIENTS)]
    solo = []
    for path, body in specs:
        st = Stream(srv.port, path, body).read_all()
        check(st.error is None and st.status == 200, f"solo {path} {short(body)}: {st.error}")
        check(st.tokens is not None and 0 < st.tokens <= GEN_TOKENS and st.text, f"solo {path}: {st.result()}")
        solo.append(st.result())
    distinct = len(set(r[0] for r in solo))
    check(distinct >= N_CLIENTS // 2, f"the {N_CLIENTS} requests gave only {distinct} different outputs")
    results = [None] * N_CLIENTS
    barrier = threading.Barrier(N_CLIENTS)

    def client(i):
        try:
            barrier.wait(30)
            results[i] = Stream(srv.port, *specs[i]).read_all()
        except Exception as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(N_CLIENTS)]
    [t.start() for t in threads]
    [t.join(180) for t in threads]
    problems = []
    for i, r in enumerate(results):
        path, body = specs[i]
        if not isinstance(r, Stream):
            problems.append(f"client {i} ({path}): {r!r}")
        elif r.error is not None:
            problems.append(f"client {i} ({path}): {r.error}")
        elif r.result() != solo[i]:
            t = r.result()[0]
            d = next((j for j in range(min(len(t), len(solo[i][0]))) if t[j] != solo[i][0][j]),
                     min(len(t), len(solo[i][0])))
            problems.append(f"client {i} ({path}, prompt {PROMPTS[i]!r}): concurrent output differs from the solo "
                            f"one at char {d}: solo {solo[i][0][max(0, d - 20):d + 30]!r} (tokens {solo[i][1]}), "
                            f"concurrent {t[max(0, d - 20):d + 30]!r} (tokens {r.result()[1]})")
    check(not problems, f"{len(problems)} of {N_CLIENTS} clients on '{model}' differ under concurrency:\n      "
          + "\n      ".join(problems))


def all_at_once(srv, model):
    """16 long streams: all must be producing text before any of them could have finished."""
    n = CTX - 200
    before = srv.metric("hearth_generated_tokens_total")
    started = []
    lock = threading.Lock()
    go = threading.Event()
    errors = []

    def client(i):
        try:
            path, body = gen_spec(i, model, n)
            st = Stream(srv.port, path, body)
            if st.next_piece():
                with lock:
                    started.append(time.time())
            else:
                errors.append(f"stream {i}: no text ({st.error})")
            go.wait(120)
            st.abort()
        except Exception as e:  # noqa: BLE001
            errors.append(f"stream {i}: {e!r}")

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(N_CLIENTS)]
    [t.start() for t in threads]
    deadline = t0 + 20
    while time.time() < deadline and len(started) + len(errors) < N_CLIENTS:
        time.sleep(0.02)
    n_started = len(started)
    go.set()
    [t.join(180) for t in threads]
    idle = srv.wait_idle()
    after = srv.metric("hearth_generated_tokens_total")
    check(not errors, f"stream errors: {errors}")
    check(n_started == N_CLIENTS, f"only {n_started} of {N_CLIENTS} streams (--parallel {N_CLIENTS}) produced text "
          f"within 20 s; the others waited for a running one to end (the HTTP server does not serve "
          f"{N_CLIENTS} streams at once)")
    check(after == before, f"{after - before:.0f} tokens came from streams of {n} tokens that ran to completion "
          f"before all {N_CLIENTS} had started: not all {N_CLIENTS} ran at once "
          f"(first text at {[round(t - t0, 2) for t in sorted(started)]} s)")
    check(idle is not None, "sequences still active 15 s after all 16 clients disconnected")


# ---------------------------------------------------------------------------------------------------
# 2. Malformed requests

class Case:
    def __init__(self, name, method, path, body=None, headers=None, api=None, expect=None, extra=None):
        self.name, self.method, self.path, self.body = name, method, path, body
        self.headers = headers
        self.api = api or ("ollama" if path.startswith("/api/") else "openai")
        self.expect = {expect} if isinstance(expect, int) else expect  # None: any 4xx
        self.extra = extra  # f(error message, raw body) -> problem string or None


class RawCase:
    """Bytes written to a socket as is (for what http.client cannot send)."""

    def __init__(self, name, data, api="any", expect=None, timeout=10.0):
        self.name, self.data, self.api, self.timeout = name, data, api, timeout
        self.expect = {expect} if isinstance(expect, int) else expect
        self.method, self.path, self.body, self.extra = "RAW", "", data, None


def raw_exchange(port, data, timeout):
    """Sends bytes, reads one HTTP response; returns (status, headers dict, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise ConnectionError(f"connection closed without a complete response ({buf[:100]!r})")
            buf += d
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        n = int(headers.get("content-length", "0"))
        while len(body) < n:
            d = s.recv(65536)
            if not d:
                raise ConnectionError("connection closed in the middle of the response body")
            body += d
        return status, headers, body[:n]
    finally:
        s.close()


def error_message(api, j):
    """The error message if `j` is an error in `api`'s shape, else raises AssertionError."""
    check(isinstance(j, dict) and "error" in j, "the body has no 'error'")
    e = j["error"]
    if api == "any":
        api = "openai" if isinstance(e, dict) else "ollama"
    if api == "openai":
        check(isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"]
              and isinstance(e.get("type"), str), f"not an OpenAI error object: {short(j)}")
        return e["message"]
    check(isinstance(e, str) and e, f"not an Ollama error (a non-empty string): {short(j)}")
    return e


def run_case(srv, c):
    """Returns a problem description, or None when the case behaved."""
    try:
        if isinstance(c, RawCase):
            status, headers, raw = raw_exchange(srv.port, c.data, c.timeout)
            ctype = headers.get("content-type", "")
        else:
            body = c.body
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            status, raw, r = srv.request(c.method, c.path, body, c.headers, timeout=30)
            ctype = r.getheader("Content-Type", "")
    except (OSError, http.client.HTTPException, ValueError) as e:
        return f"no response (dropped connection or hang): {e!r}"
    if not 400 <= status < 500:
        return f"status {status}, want 4xx: {short(raw, 300)}"
    if c.expect and status not in c.expect:
        return f"status {status}, want {sorted(c.expect)}: {short(raw, 300)}"
    if "application/json" not in ctype:
        return f"Content-Type {ctype!r}, want application/json: {short(raw)}"
    try:
        msg = error_message(c.api, json.loads(raw))
    except (ValueError, AssertionError) as e:
        return f"error body in the wrong shape ({c.api}): {e}: {short(raw)}"
    if c.extra:
        return c.extra(msg, raw)
    return None


def mentions_lengths(msg, raw):
    nums = [int(x) for x in re.findall(r"\d+", msg)]
    if CTX not in nums or not any(x > CTX for x in nums):
        return f"the message should give the prompt's length and the context ({CTX}): {msg!r}"
    return None


def passwd_probe():
    """Markers of /etc/passwd's content that must never be echoed back by an error."""
    try:
        with open("/etc/passwd", "rb") as f:
            head = f.read(8)
    except OSError:
        return []
    return [head[:4].hex(" ").encode(), head[:4].hex().encode(), head]


def no_leak(msg, raw):
    for m in passwd_probe():
        if m and m in raw:
            return f"the error discloses bytes of /etc/passwd ({m!r}): {msg!r}"
    return None


def with_(base, **kw):
    d = json.loads(json.dumps(base))
    d.update(kw)
    return d


def without(base, *keys):
    return {k: v for k, v in base.items() if k not in keys}


def deep(n):
    return "[" * n + "]" * n


def build_cases():
    C = []
    add = lambda *a, **k: C.append(Case(*a, **k))  # noqa: E731

    # Valid bodies each route accepts (checked first); the cases below break one thing at a time.
    oa_chat = {"model": "stories", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    oa_comp = {"model": "stories", "prompt": "hi", "max_tokens": 4}
    ol_gen = {"model": "stories", "prompt": "hi", "stream": False, "options": {"num_predict": 4}}
    ol_chat = {"model": "stories", "messages": [{"role": "user", "content": "hi"}], "stream": False,
               "options": {"num_predict": 4}}
    routes = [("POST", "/v1/chat/completions", oa_chat), ("POST", "/v1/completions", oa_comp),
              ("POST", "/api/generate", ol_gen), ("POST", "/api/chat", ol_chat),
              ("POST", "/api/show", {"model": "stories"}), ("POST", "/api/pull", {"model": "nosuch-model", "stream": False}),
              ("DELETE", "/api/delete", {"model": "nosuch-model"}),
              ("POST", "/api/copy", {"source": "stories", "destination": "stories-copy"})]
    long_text = "hello world " * 1500  # about 3000 tokens: more than the context of 2048

    # Bad JSON, on every route.
    for m, p, base in routes:
        good = json.dumps(base)
        add(f"truncated JSON {p}", m, p, good[:-3], expect=400)
        add(f"JSON array body {p}", m, p, "[1, 2, 3]", expect=400)
        add(f"JSON string body {p}", m, p, '"model"', expect=400)
        add(f"empty body {p}", m, p, "", expect=400)
        add(f"number out of double range {p}", m, p, good[:-1] + ', "x": 1e400}', expect=400)
        add(f"invalid UTF-8 in a string {p}", m, p, good[:-1].encode() + b', "x": "\xff\xfe\xc3"}', expect=400)
    # More bad JSON on the generation routes of each API.
    for m, p, base in routes[:4]:
        good = json.dumps(base)
        add(f"NaN literal {p}", m, p, good[:-1] + ', "temperature": NaN}', expect=400)
        add(f"100000 unclosed brackets {p}", m, p, "[" * 100000, expect=400)
        add(f"100000 nested objects unclosed {p}", m, p, '{"a":' * 100000, expect=400)
        add(f"trailing garbage {p}", m, p, good + " xyz", expect=400)
        add(f"two JSON documents {p}", m, p, good + good, expect=400)
        add(f"UTF-16 body with BOM {p}", m, p, good.encode("utf-16"), expect=400)
        add(f"two UTF-8 BOMs {p}", m, p, b"\xef\xbb\xbf\xef\xbb\xbf" + good.encode(), expect=400)
        add(f"lone surrogate escape {p}", m, p, good[:-1] + ', "x": "\\ud800"}', expect=400)
        add(f"raw control character in a string {p}", m, p, good[:-1] + ', "x": "a\nb"}', expect=400)
        add(f"single-quoted JSON {p}", m, p, good.replace('"', "'"), expect=400)
    add("negative number out of range", "POST", "/v1/completions", json.dumps(oa_comp)[:-1] + ', "seed": -1e400}',
        expect=400)
    add("huge integer max_tokens", "POST", "/v1/completions",
        json.dumps(oa_comp)[:-1].replace('"max_tokens": 4', '"max_tokens": 123456789012345678901234567890') + "}",
        expect=400)

    # OpenAI chat: every field with a wrong type or value.
    P = "/v1/chat/completions"
    bad_chat = [
        ("model missing", without(oa_chat, "model"), 400), ("model empty", with_(oa_chat, model=""), 400),
        ("model a number", with_(oa_chat, model=42), 400), ("model an array", with_(oa_chat, model=["stories"]), 400),
        ("unknown model", with_(oa_chat, model="no-such-model"), 404),
        ("messages missing", without(oa_chat, "messages"), 400), ("messages a string", with_(oa_chat, messages="hi"), 400),
        ("messages an object", with_(oa_chat, messages={"role": "user", "content": "hi"}), 400),
        ("messages empty", with_(oa_chat, messages=[]), 400), ("message a number", with_(oa_chat, messages=[1]), 400),
        ("message null", with_(oa_chat, messages=[None]), 400),
        ("message without role", with_(oa_chat, messages=[{"content": "hi"}]), 400),
        ("role a number", with_(oa_chat, messages=[{"role": 1, "content": "hi"}]), 400),
        ("role unknown", with_(oa_chat, messages=[{"role": "wizard", "content": "hi"}]), 400),
        ("content a number", with_(oa_chat, messages=[{"role": "user", "content": 5}]), 400),
        ("content an object", with_(oa_chat, messages=[{"role": "user", "content": {"text": "hi"}}]), 400),
        ("content part a number", with_(oa_chat, messages=[{"role": "user", "content": [5]}]), 400),
        ("content part without text", with_(oa_chat, messages=[{"role": "user", "content": [{"type": "text"}]}]), 400),
        ("image content part", with_(oa_chat, messages=[{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}}]}]), 400),
        ("tool_calls not an array", with_(oa_chat, messages=[{"role": "assistant", "content": "x", "tool_calls": "x"}]), 400),
        ("temperature a string", with_(oa_chat, temperature="hot"), 400), ("temperature negative", with_(oa_chat, temperature=-1), 400),
        ("temperature above 2", with_(oa_chat, temperature=3), 400), ("top_p above 1", with_(oa_chat, top_p=1.5), 400),
        ("top_p negative", with_(oa_chat, top_p=-0.1), 400), ("top_p a string", with_(oa_chat, top_p="all"), 400),
        ("max_tokens negative", with_(oa_chat, max_tokens=-1), 400), ("max_tokens a string", with_(oa_chat, max_tokens="10"), 400),
        ("max_tokens fractional", with_(oa_chat, max_tokens=1.5), 400), ("max_tokens 1e300", with_(oa_chat, max_tokens=1e300), 400),
        ("max_completion_tokens negative", with_(oa_chat, max_completion_tokens=-5), 400),
        ("n = 2", with_(oa_chat, n=2), 400), ("n = 0", with_(oa_chat, n=0), 400), ("n huge", with_(oa_chat, n=10 ** 12), 400),
        ("n a string", with_(oa_chat, n="1"), 400),
        ("stop an object", with_(oa_chat, stop={"a": 1}), 400), ("stop numbers", with_(oa_chat, stop=[1, 2]), 400),
        ("stop 17 strings", with_(oa_chat, stop=["x%d" % i for i in range(17)]), 400),
        ("stop string of 2000 bytes", with_(oa_chat, stop="x" * 2000), 400),
        ("logit_bias a string", with_(oa_chat, logit_bias="x"), 400), ("logit_bias an array", with_(oa_chat, logit_bias=[1]), 400),
        ("logit_bias key not a number", with_(oa_chat, logit_bias={"abc": 1}), 400),
        ("logit_bias negative key", with_(oa_chat, logit_bias={"-1": 1}), 400),
        ("logit_bias key with junk", with_(oa_chat, logit_bias={"12abc": 1}), 400),
        ("logit_bias key past the vocabulary", with_(oa_chat, logit_bias={"99999999": 1}), 400),
        ("logit_bias value a string", with_(oa_chat, logit_bias={"5": "x"}), 400),
        ("logit_bias value above 100", with_(oa_chat, logit_bias={"5": 1000}), 400),
        ("stream a string", with_(oa_chat, stream="yes"), 400), ("stream a number", with_(oa_chat, stream=1), 400),
        ("stream_options a string", with_(oa_chat, stream=True, stream_options="x"), 400),
        ("include_usage a string", with_(oa_chat, stream=True, stream_options={"include_usage": "yes"}), 400),
        ("presence_penalty above 2", with_(oa_chat, presence_penalty=5), 400),
        ("frequency_penalty a string", with_(oa_chat, frequency_penalty="x"), 400),
        ("seed a string", with_(oa_chat, seed="abc"), 400), ("seed fractional", with_(oa_chat, seed=1.5), 400),
        ("top_k negative", with_(oa_chat, top_k=-1), 400), ("min_p above 1", with_(oa_chat, min_p=2), 400),
        ("repeat_penalty negative", with_(oa_chat, repeat_penalty=-1), 400),
        ("tools a string", with_(oa_chat, tools="x"), 400),
        ("tools of numbers", with_(oa_chat, tools=[1, 2]), 400),
        ("keep_alive garbage", with_(oa_chat, keep_alive="forever-ish"), 400),
    ]
    for name, body, want in bad_chat:
        add(f"chat: {name}", "POST", P, body, expect=want)
    add("chat: prompt longer than the context", "POST", P,
        with_(oa_chat, messages=[{"role": "user", "content": long_text}]), expect=400, extra=mentions_lengths)
    add("chat: 100000-deep tools", "POST", P, json.dumps(oa_chat)[:-1] + ', "tools": ' + deep(100000) + "}", expect=400)
    add("chat: 100000-deep tool_calls", "POST", P, json.dumps(with_(oa_chat, messages=[
        {"role": "assistant", "content": "x", "tool_calls": "@"}])).replace('"@"', deep(100000)), expect=400)

    # OpenAI completions.
    P = "/v1/completions"
    for name, body, want in [
            ("prompt missing", without(oa_comp, "prompt"), 400), ("prompt a number", with_(oa_comp, prompt=42), 400),
            ("prompt null", with_(oa_comp, prompt=None), 400), ("prompt an object", with_(oa_comp, prompt={"a": 1}), 400),
            ("several prompts", with_(oa_comp, prompt=["a", "b"]), 400), ("token-id prompt", with_(oa_comp, prompt=[1, 2, 3]), 400),
            ("model missing", without(oa_comp, "model"), 400), ("unknown model", with_(oa_comp, model="nope"), 404),
            ("max_tokens negative", with_(oa_comp, max_tokens=-7), 400), ("temperature a string", with_(oa_comp, temperature="x"), 400),
            ("stream a string", with_(oa_comp, stream="true"), 400), ("stop an object", with_(oa_comp, stop={}), 400),
            ("n = 2", with_(oa_comp, n=2), 400)]:
        add(f"completions: {name}", "POST", P, body, expect=want)
    add("completions: prompt longer than the context", "POST", P, with_(oa_comp, prompt=long_text), expect=400,
        extra=mentions_lengths)

    # Model names that try to leave the store, on every route that takes one.
    for name in ["../../etc/passwd", "../../../../../../../../etc/passwd", "/etc/passwd", "stories/../../../etc/passwd"]:
        add(f"traversal {name!r} chat", "POST", "/v1/chat/completions", with_(oa_chat, model=name), expect={400, 404}, extra=no_leak)
        add(f"traversal {name!r} generate", "POST", "/api/generate", with_(ol_gen, model=name), expect={400, 404}, extra=no_leak)
        add(f"traversal {name!r} show", "POST", "/api/show", {"model": name}, expect={400, 404}, extra=no_leak)
        add(f"traversal {name!r} delete", "DELETE", "/api/delete", {"model": name}, expect={400, 404}, extra=no_leak)
        add(f"traversal {name!r} pull", "POST", "/api/pull", {"model": name, "stream": False}, expect={400, 404},
            extra=no_leak)
    add("traversal copy destination", "POST", "/api/copy", {"source": "stories", "destination": "../../evil"}, expect=400)
    add("absolute copy destination", "POST", "/api/copy", {"source": "stories", "destination": "/tmp/evil"}, expect=400)
    add("traversal copy source", "POST", "/api/copy", {"source": "../../etc/passwd", "destination": "x"}, expect={400, 404},
        extra=no_leak)

    # /v1/models/{id}.
    add("models: unknown id", "GET", "/v1/models/no-such-model", expect=404)
    add("models: encoded traversal id", "GET", "/v1/models/..%2F..%2Fetc%2Fpasswd", expect=404, extra=no_leak)
    add("models: NUL in the id", "GET", "/v1/models/stories%00x", expect=404)
    add("models: empty id", "GET", "/v1/models/", expect=404)

    # Ollama generate.
    P = "/api/generate"
    for name, body, want in [
            ("model missing", without(ol_gen, "model"), 400), ("model empty", with_(ol_gen, model=""), 400),
            ("model a number", with_(ol_gen, model=5), 400), ("unknown model", with_(ol_gen, model="no-such-model"), 404),
            ("load of an unknown model", {"model": "no-such-model"}, 404),
            ("unload of an unknown model", {"model": "no-such-model", "keep_alive": 0}, 404),
            ("prompt a number", with_(ol_gen, prompt=5), 400), ("prompt an array", with_(ol_gen, prompt=["a"]), 400),
            ("system a number", with_(ol_gen, system=5), 400), ("raw a string", with_(ol_gen, raw="yes"), 400),
            ("stream a string", with_(ol_gen, stream="yes"), 400),
            ("options a string", with_(ol_gen, options="fast"), 400), ("options an array", with_(ol_gen, options=[]), 400),
            ("temperature a string", with_(ol_gen, options={"num_predict": 4, "temperature": "x"}), 400),
            ("temperature negative", with_(ol_gen, options={"num_predict": 4, "temperature": -1}), 400),
            ("top_p above 1", with_(ol_gen, options={"num_predict": 4, "top_p": 2}), 400),
            ("top_k a string", with_(ol_gen, options={"num_predict": 4, "top_k": "x"}), 400),
            ("num_predict below -2", with_(ol_gen, options={"num_predict": -5}), 400),
            ("num_predict a string", with_(ol_gen, options={"num_predict": "10"}), 400),
            ("seed a string", with_(ol_gen, options={"num_predict": 4, "seed": "x"}), 400),
            ("stop an object", with_(ol_gen, options={"num_predict": 4, "stop": {"a": 1}}), 400),
            ("repeat_penalty a string", with_(ol_gen, options={"num_predict": 4, "repeat_penalty": "x"}), 400),
            ("repeat_last_n below -1", with_(ol_gen, options={"num_predict": 4, "repeat_last_n": -9}), 400),
            ("num_ctx a string", with_(ol_gen, options={"num_predict": 4, "num_ctx": "big"}), 400),
            ("keep_alive garbage", with_(ol_gen, keep_alive="forever-ish"), 400),
            ("keep_alive with a space", with_(ol_gen, keep_alive="5 minutes"), 400),
            ("keep_alive an array", with_(ol_gen, keep_alive=[1]), 400),
            ("keep_alive an object", with_(ol_gen, keep_alive={}), 400),
            ("keep_alive a boolean", with_(ol_gen, keep_alive=True), 400),
            ("format a number", with_(ol_gen, format=42), 400), ("format an array", with_(ol_gen, format=[1]), 400),
            ("format garbage", with_(ol_gen, format="garbage"), 400),
            ("images", with_(ol_gen, images=["aGk="]), 400), ("images a string", with_(ol_gen, images="x"), 400)]:
        add(f"generate: {name}", "POST", P, body, expect=want)
    add("generate: prompt longer than the context", "POST", P, with_(ol_gen, prompt=long_text), expect=400,
        extra=mentions_lengths)
    add("generate: raw prompt longer than the context", "POST", P, with_(ol_gen, prompt=long_text, raw=True), expect=400,
        extra=mentions_lengths)
    add("generate: streamed prompt longer than the context", "POST", P, with_(ol_gen, prompt=long_text, stream=True),
        expect=400, extra=mentions_lengths)

    # Ollama chat.
    P = "/api/chat"
    for name, body, want in [
            ("messages a string", with_(ol_chat, messages="hi"), 400),
            ("messages an object", with_(ol_chat, messages={"role": "user", "content": "hi"}), 400),
            ("message a number", with_(ol_chat, messages=[1]), 400),
            ("message without role", with_(ol_chat, messages=[{"content": "hi"}]), 400),
            ("role a number", with_(ol_chat, messages=[{"role": 3, "content": "hi"}]), 400),
            ("role unknown", with_(ol_chat, messages=[{"role": "wizard", "content": "hi"}]), 400),
            ("content a number", with_(ol_chat, messages=[{"role": "user", "content": 5}]), 400),
            ("content an array", with_(ol_chat, messages=[{"role": "user", "content": ["hi"]}]), 400),
            ("message images", with_(ol_chat, messages=[{"role": "user", "content": "hi", "images": ["aGk="]}]), 400),
            ("tools a string", with_(ol_chat, tools="x"), 400),
            ("model missing", without(ol_chat, "model"), 400), ("unknown model", with_(ol_chat, model="no-such-model"), 404),
            ("stream a string", with_(ol_chat, stream="no"), 400),
            ("options wrong type", with_(ol_chat, options={"num_predict": [4]}), 400),
            ("keep_alive garbage", with_(ol_chat, keep_alive="later"), 400),
            ("format garbage", with_(ol_chat, format="yaml"), 400)]:
        add(f"ollama chat: {name}", "POST", P, body, expect=want)
    add("ollama chat: prompt longer than the context", "POST", P,
        with_(ol_chat, messages=[{"role": "user", "content": long_text}]), expect=400, extra=mentions_lengths)
    add("ollama chat: 100000-deep tools", "POST", P, json.dumps(ol_chat)[:-1] + ', "tools": ' + deep(100000) + "}", expect=400)
    add("ollama chat: 100000-deep tool_calls", "POST", P, json.dumps(with_(ol_chat, messages=[
        {"role": "assistant", "content": "x", "tool_calls": "@"}])).replace('"@"', deep(100000)), expect=400)

    # Model management.
    for name, m, p, body, want in [
            ("show: model missing", "POST", "/api/show", {}, 400), ("show: model a number", "POST", "/api/show", {"model": 5}, 400),
            ("show: unknown model", "POST", "/api/show", {"model": "no-such-model"}, 404),
            ("pull: model missing", "POST", "/api/pull", {}, 400),
            ("pull: model a number", "POST", "/api/pull", {"model": 5}, 400),
            ("pull: stream a string", "POST", "/api/pull", {"model": "x", "stream": "x"}, 400),
            ("pull: insecure a string", "POST", "/api/pull", {"model": "x", "insecure": "x"}, 400),
            ("pull: invalid name", "POST", "/api/pull", {"model": "bad name!!", "stream": False}, 400),
            ("pull: invalid name, streamed", "POST", "/api/pull", {"model": "bad name!!"}, 400),
            ("pull: unreachable registry", "POST", "/api/pull", {"model": "no-such-model", "stream": False}, None),
            ("delete: model missing", "DELETE", "/api/delete", {}, 400),
            ("delete: model a number", "DELETE", "/api/delete", {"model": 5}, 400),
            ("delete: unknown model", "DELETE", "/api/delete", {"model": "no-such-model"}, 404),
            ("copy: destination missing", "POST", "/api/copy", {"source": "stories"}, 400),
            ("copy: source missing", "POST", "/api/copy", {"destination": "x"}, 400),
            ("copy: source a number", "POST", "/api/copy", {"source": 5, "destination": "x"}, 400),
            ("copy: destination empty", "POST", "/api/copy", {"source": "stories", "destination": ""}, 400),
            ("copy: unknown source", "POST", "/api/copy", {"source": "no-such-model", "destination": "x"}, 404)]:
        add(name, m, p, body, expect=want)

    # Unknown routes and wrong methods.
    for m, p in [("GET", "/v1/nothing"), ("POST", "/api/nothing"), ("GET", "/v2/models"), ("POST", "/api/embed"),
                 ("POST", "/api/embeddings"), ("POST", "/v1/embeddings"), ("POST", "/v1/chat/completions/extra"),
                 ("GET", "/%2e%2e/%2e%2e/etc/passwd"), ("GET", "/../../etc/passwd"), ("GET", "/api")]:
        add(f"unknown route {m} {p}", m, p, None if m == "GET" else "{}", expect=404)
    for m, p in [("GET", "/v1/chat/completions"), ("PUT", "/v1/completions"), ("DELETE", "/v1/models"),
                 ("DELETE", "/api/generate"), ("GET", "/api/chat"), ("GET", "/api/show"), ("GET", "/api/pull"),
                 ("POST", "/api/delete"), ("GET", "/api/copy"), ("POST", "/api/tags"), ("PATCH", "/api/ps"),
                 ("POST", "/metrics"), ("PUT", "/health")]:
        add(f"wrong method {m} {p}", m, p, None if m == "GET" else "{}", expect={404, 405})

    # Headers, Content-Type, sizes.
    J = {"Content-Type": "application/json"}
    add("oversized header (OpenAI route)", "POST", "/v1/chat/completions", oa_chat, headers=dict(J, **{"X-Big": "a" * 10000}),
        expect={400, 413, 431})
    add("oversized header (Ollama route)", "POST", "/api/generate", ol_gen, headers=dict(J, **{"X-Big": "a" * 10000}),
        expect={400, 413, 431})
    add("oversized cookie", "GET", "/api/tags", headers={"Cookie": "a=" + "b" * 20000}, expect={400, 413, 431})
    add("URI too long", "GET", "/v1/models/" + "a" * 9000, api="any", expect=414)
    add("query string too long", "POST", "/api/generate?" + "a" * 9000, "{}", api="any", expect=414)
    add("foreign Host header", "GET", "/v1/models", headers={"Host": "attacker.example"}, expect=403)
    add("multipart Content-Type", "POST", "/v1/chat/completions", oa_chat,
        headers={"Content-Type": "multipart/form-data; boundary=xyz"}, expect=400)
    add("form Content-Type, broken JSON", "POST", "/api/generate", "model=stories&prompt=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"}, expect=400)
    add("text/plain Content-Type, broken JSON", "POST", "/v1/completions", "{model: stories}",
        headers={"Content-Type": "text/plain"}, expect=400)
    add("body over --max-body (OpenAI)", "POST", "/v1/chat/completions", "x" * (MAX_BODY + 4096), expect=413)
    add("body over --max-body (Ollama)", "POST", "/api/chat", "x" * (MAX_BODY + 4096), expect=413)
    add("JSON body over --max-body", "POST", "/api/generate", with_(ol_gen, prompt="y" * (MAX_BODY + 10)), expect=413)
    add("invalid Content-Length", "POST", "/api/generate", None, headers={"Content-Length": "abc"}, expect=400)

    H = b"Host: 127.0.0.1\r\nConnection: close\r\n"
    RC = lambda *a, **k: C.append(RawCase(*a, **k))  # noqa: E731
    RC("unknown method token", b"BREW /api/tags HTTP/1.1\r\n" + H + b"\r\n", expect={400, 405})
    RC("bad HTTP version", b"GET /api/tags HTTP/9.9\r\n" + H + b"\r\n", expect=400)
    RC("NUL in the request line", b"GET /api/t\x00ags HTTP/1.1\r\n" + H + b"\r\n", expect=400)
    RC("bad chunk size", b"POST /api/generate HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
       expect=400)
    RC("chunk size of 2^64-1", b"POST /v1/completions HTTP/1.1\r\n" + H +
       b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n0\r\n\r\n", expect={400, 413})
    RC("chunked body that is not an object", b"POST /api/chat HTTP/1.1\r\n" + H +
       b"Transfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n", api="ollama", expect=400)
    RC("Content-Length over --max-body, body not sent",
       b"POST /v1/chat/completions HTTP/1.1\r\n" + H + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{"
       % (MAX_BODY * 64), expect=413, timeout=5.0)
    return C


def malformed_suite(srv):
    cases = build_cases()
    names = [c.name for c in cases]
    dup = {n for n in names if names.count(n) > 1}
    check(not dup, f"duplicate case names: {dup}")
    log(f"   {len(cases)} cases")
    check(len(cases) >= 100, f"only {len(cases)} cases")
    # The bodies the cases break are valid as they are.
    for p, body in [("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}),
                    ("/v1/completions", {"model": "stories", "prompt": "hi", "max_tokens": 4}),
                    ("/api/generate", {"model": "stories", "prompt": "hi", "stream": False, "options": {"num_predict": 4}}),
                    ("/api/chat", {"model": "stories", "messages": [{"role": "user", "content": "hi"}], "stream": False,
                                   "options": {"num_predict": 4}}),
                    ("/api/show", {"model": "stories"})]:
        st, raw, _ = srv.request("POST", p, body)
        check(st == 200, f"control request {p} {short(body)}: {st} {short(raw)}")
    problems = []
    for c in cases:
        err = run_case(srv, c)
        if not srv.alive() or (err and err.startswith("no response")):
            try:
                srv.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass
        if not srv.alive():
            err = f"{err or 'answered'}; THE SERVER DIED (exit status {srv.proc.returncode}); log: {srv.log_tail(3)!r}"
            srv.restart()
        if err:
            problems.append(f"[{c.name}] {c.method} {c.path[:60]} {short(c.body, 100)}\n        -> {err}")
    log(f"   {len(cases) - len(problems)} of {len(cases)} cases passed")
    # A valid request sent as a form, as `curl -d @request.json` does, is accepted when small; it must be
    # accepted when large too, rather than refused as "too large" far below --max-body.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    small = {"model": "stories", "prompt": "Once upon a time", "raw": True, "stream": False, "options": {"num_predict": 2}}
    st, raw, _ = srv.request("POST", "/api/generate", small, form)
    check(st == 200, f"small form-encoded request: {st} {short(raw)}")
    big = with_(small, system="z" * 9000)
    st, raw, _ = srv.request("POST", "/api/generate", big, form)
    if st != 200:
        problems.append(f"[form-encoded JSON of 9 KB] POST /api/generate (Content-Type x-www-form-urlencoded, "
                        f"far below --max-body {MAX_BODY})\n        -> status {st} (the same request of 200 bytes "
                        f"gets 200): {short(raw)}")
    # The server is still alive and serving.
    check(srv.alive(), "the server is not running after the suite")
    st, j, _ = srv.json("POST", "/v1/chat/completions", {"model": "stories", "max_tokens": 8, "temperature": 0,
                                                          "messages": [{"role": "user", "content": "Once upon a time"}]})
    check(st == 200 and j["usage"]["completion_tokens"] == 8, f"normal request after the suite: {st} {j}")
    check(not problems, f"{len(problems)} of {len(cases) + 1} cases misbehaved:\n      " + "\n      ".join(problems))


# ---------------------------------------------------------------------------------------------------
# 3. Disconnects

def served_after(srv, what):
    st, j, _ = srv.json("POST", "/api/generate", {"model": "qwen", "prompt": "after", "raw": True, "stream": False,
                                                  "options": {"num_predict": 5, "temperature": 0}})
    check(st == 200 and j.get("eval_count") == 5, f"request after {what}: {st} {j}")


def disconnect_decode(srv, path, rst):
    what = f"a {'RST' if rst else 'FIN'} disconnect from a {path} stream"
    srv.wait_idle()
    before = srv.metric("hearth_generated_tokens_total")
    body = {"model": "qwen", "stream": True, "temperature": 0}
    if path == "/api/generate":
        body.update(prompt="Tell me a long story", options={"num_predict": CTX - 100, "temperature": 0})
    else:
        body.update(max_tokens=CTX - 100, messages=[{"role": "user", "content": "Tell me a long story"}])
    st = Stream(srv.port, path, body)
    check(st.status == 200, f"stream: {st.error}")
    for _ in range(3):
        check(st.next_piece(), f"the stream ended early: {st.error}")
    check(srv.metric("hearth_active_sequences") == 1, "one active sequence while streaming")
    st.abort(rst)
    t = srv.wait_idle()
    check(t is not None, f"after {what}, hearth_active_sequences stayed above 0 for 15 s")
    log(f"   sequence freed {t * 1000:.0f} ms after {what}")
    check(t <= DISCONNECT_BOUND, f"after {what}, the sequence was freed only after {t:.2f} s (bound {DISCONNECT_BOUND} s)")
    check(srv.metric("hearth_generated_tokens_total") == before,
          "the generation ran to its end instead of being cancelled")
    served_after(srv, what)


def disconnect_prompt(srv, path):
    """A long prompt (about 12000 tokens: tens of seconds of prompt processing) is cut off 0.5 s in."""
    what = f"a disconnect during prompt processing ({path})"
    srv.wait_idle()
    before = srv.metric("hearth_generated_tokens_total")
    text = " ".join(f"word{i % 97}" for i in range(4500))
    if path == "/api/generate":
        body = {"model": "qwen", "prompt": text, "raw": True, "stream": False, "options": {"num_predict": 4}}
    else:
        body = {"model": "qwen", "prompt": text, "stream": True, "max_tokens": 4}
    st = Stream(srv.port, path, body)
    check(st.status == 200, f"request: {st.error}")
    t0 = time.time()
    while srv.metric("hearth_active_sequences") == 0:
        check(time.time() - t0 < 15, "the request never became active")
        time.sleep(0.01)
    time.sleep(0.5)
    check(srv.metric("hearth_active_sequences") == 1, "the prompt is still being processed 0.5 s in")
    st.abort(rst=True)
    t = srv.wait_idle(30)
    check(t is not None, f"after {what}, hearth_active_sequences stayed above 0 for 30 s")
    log(f"   sequence freed {t * 1000:.0f} ms after {what}")
    check(t <= PROMPT_DISCONNECT_BOUND,
          f"after {what}, the sequence was freed only after {t:.2f} s (bound {PROMPT_DISCONNECT_BOUND} s)")
    check(srv.metric("hearth_generated_tokens_total") == before, "the request ran to its end instead of being cancelled")
    served_after(srv, what)


# ---------------------------------------------------------------------------------------------------

def main():
    t_start = time.time()
    home = tempfile.mkdtemp(prefix="hearth-stress-")
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there: /api/pull never leaves the machine
    env.update(HEARTH_HOME=os.path.join(home, "hearth"), HOME=os.path.join(home, "user"),
               OLLAMA_MODELS=os.path.join(home, "no-ollama"), HF_HUB_CACHE=os.path.join(home, "no-hf"),
               HEARTH_REGISTRY=dead, HEARTH_HF_ENDPOINT=dead, HF_ENDPOINT=dead, HEARTH_PULL_RETRIES="0",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    os.makedirs(env["HOME"])
    for name, f in MODELS.items():
        subprocess.run([HEARTH, "pull", os.path.join(FIX, "models", f), "--name", name, "--link", "-q"], check=True,
                       env=env, stdout=subprocess.DEVNULL)

    srv = Server(home, env, "--parallel", str(N_CLIENTS), "--max-queue", "64", "-c", str(CTX),
                 "--max-body", str(MAX_BODY), "--keep-alive", "600")
    try:
        phase(f"concurrency: {N_CLIENTS} mixed streams equal their solo outputs (llama-s Q8_0)",
              concurrency_equality, srv, "llama")
        phase(f"concurrency: {N_CLIENTS} mixed streams equal their solo outputs (qwen2-s Q8_0)",
              concurrency_equality, srv, "qwen")
        phase(f"concurrency: {N_CLIENTS} long streams run at once", all_at_once, srv, "qwen")
        phase("malformed requests", malformed_suite, srv)
        phase("disconnect during generation (OpenAI SSE, RST)", disconnect_decode, srv, "/v1/chat/completions", True)
        phase("disconnect during generation (Ollama NDJSON, FIN)", disconnect_decode, srv, "/api/generate", False)
        phase("the server is alive at the end", lambda: check(srv.alive(), "the server died"))
    finally:
        try:
            srv.stop()
        except AssertionError as e:
            FAILURES.append(str(e))

    # Prompt processing long enough to disconnect in the middle of it needs a big context.
    big = Server(home, env, "--parallel", "1", "-c", "16384", "--keep-alive", "600")
    try:
        phase("disconnect during prompt processing (OpenAI SSE)", disconnect_prompt, big, "/v1/completions")
        phase("disconnect during prompt processing (Ollama, not streamed)", disconnect_prompt, big, "/api/generate")
    finally:
        try:
            big.stop()
        except AssertionError as e:
            FAILURES.append(str(e))

    log(f"total {time.time() - t_start:.1f} s")
    if FAILURES:
        log(f"server logs are in {home}")
        log(f"\nFAILED: {len(FAILURES)} check(s)")
        for f in FAILURES:
            log(f" - {f.splitlines()[0]}")
        sys.exit(1)
    shutil.rmtree(home, ignore_errors=True)
    log("server_stress_test: ok")


if __name__ == "__main__":
    main()

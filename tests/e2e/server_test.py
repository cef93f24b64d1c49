"""e2e: a real `hearth serve` on a free loopback port, driven over HTTP with Python's standard library.

Covers the OpenAI and Ollama APIs (streaming and not), model management, malformed requests (4xx JSON
errors, never 500), concurrency (continuous batching), a full queue (503 + Retry-After), cancellation on
disconnect, prefix reuse, the Host check and the API key."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from e2e_server import HEARTH, Server, check, free_port, sse_events

FIX = os.environ["HEARTH_FIXTURES"]
STORIES = os.path.join(FIX, "models", "stories260K-f32.gguf")
QWEN = os.path.join(FIX, "models", "qwen2-s-Q8_0.gguf")


def main():
    home = tempfile.mkdtemp(prefix="hearth-e2e-")
    subprocess.run([HEARTH, "pull", STORIES, "--name", "stories", "--link", "-q"], check=True,
                   env=dict(os.environ, HEARTH_HOME=home))
    subprocess.run([HEARTH, "pull", QWEN, "--name", "qwen", "--link", "-q"], check=True,
                   env=dict(os.environ, HEARTH_HOME=home))
    s = Server(home, "--parallel", "2", "--max-queue", "1", "-c", "2048")
    try:
        # Health and discovery.
        check(s.request("GET", "/")[0] == 200, "GET /")
        check(s.request("HEAD", "/")[0] == 200, "HEAD /")
        st, j, _ = s.json("GET", "/api/version")
        check(st == 200 and "version" in j, "version")
        st, j, _ = s.json("GET", "/v1/models")
        ids = [m["id"] for m in j["data"]]
        check(any("stories" in i for i in ids), f"/v1/models lists stories: {ids}")
        st, j, _ = s.json("GET", "/api/tags")
        check(any("stories" in m["name"] for m in j["models"]), "tags")
        st, j, _ = s.json("POST", "/api/show", {"model": "stories"})
        check(st == 200 and j["model_info"]["general.architecture"] == "llama", f"show {st} {j}")

        # OpenAI chat, non-streaming, greedy and reproducible.
        body = {"model": "stories", "messages": [{"role": "user", "content": "Once upon a time"}],
                "max_tokens": 24, "temperature": 0}
        st, a, _ = s.json("POST", "/v1/chat/completions", body)
        check(st == 200, f"chat {st} {a}")
        check(a["object"] == "chat.completion" and a["choices"][0]["message"]["role"] == "assistant", "chat shape")
        check(a["usage"]["completion_tokens"] == 24 and a["choices"][0]["finish_reason"] == "length", f"usage {a}")
        st, b, _ = s.json("POST", "/v1/chat/completions", body)
        check(a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"], "greedy repeatable")
        check(b["usage"]["prompt_tokens_details"]["cached_tokens"] > 0, "prefix reuse on the second request")

        # Streaming with usage.
        body2 = dict(body, stream=True, stream_options={"include_usage": True})
        st, raw, r = s.request("POST", "/v1/chat/completions", json.dumps(body2))
        check(st == 200 and r.getheader("Content-Type").startswith("text/event-stream"), "sse content type")
        ev = sse_events(raw)
        check(ev[-1] == "[DONE]", "ends with [DONE]")
        chunks = [json.loads(e) for e in ev[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        check(text == a["choices"][0]["message"]["content"], "stream text equals non-stream text")
        check(chunks[-1]["usage"]["completion_tokens"] == 24, "usage chunk")

        # Completions and stop strings.
        st, j, _ = s.json("POST", "/v1/completions", {"model": "stories", "prompt": "Once upon a time",
                                                       "max_tokens": 40, "temperature": 0, "stop": [" little"]})
        check(st == 200 and " little" not in j["choices"][0]["text"] and j["choices"][0]["finish_reason"] == "stop",
              f"stop string: {j}")

        # Ollama generate / chat, streaming NDJSON and not.
        st, raw, r = s.request("POST", "/api/generate", json.dumps(
            {"model": "stories", "prompt": "Once upon a time", "raw": True, "options": {"num_predict": 12, "temperature": 0}}))
        lines = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
        check(lines[-1]["done"] and lines[-1]["eval_count"] == 12, f"generate stream {lines[-1]}")
        gen_text = "".join(l.get("response", "") for l in lines)
        check(gen_text.startswith(", there was"), f"raw generate continues the prompt: {gen_text!r}")
        st, j, _ = s.json("POST", "/api/chat", {"model": "stories", "stream": False,
                                                 "messages": [{"role": "user", "content": "hello"}],
                                                 "options": {"num_predict": 8}})
        check(st == 200 and j["done"] and j["message"]["role"] == "assistant", f"chat {j}")
        st, j, _ = s.json("GET", "/api/ps")
        check(any("stories" in m["name"] for m in j["models"]), "ps lists the loaded model")
        # `hearth ps` asks the running server, like `ollama ps`.
        out = subprocess.run([HEARTH, "ps", "--host", f"127.0.0.1:{s.port}"], capture_output=True, text=True,
                             timeout=30)
        check(out.returncode == 0 and "NAME" in out.stdout and "stories" in out.stdout, f"hearth ps: {out}")
        dead = subprocess.run([HEARTH, "ps", "--host", f"127.0.0.1:{free_port()}"], capture_output=True,
                              text=True, timeout=30)
        check(dead.returncode != 0 and "no hearth server answers" in dead.stderr, f"hearth ps, no server: {dead}")

        # Malformed requests: 4xx with a JSON error, never 500.
        bad = [
            ("/v1/chat/completions", "{not json", 400),
            ("/v1/chat/completions", "[1,2]", 400),
            ("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": "hi"}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": []}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "wizard", "content": "x"}]}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": 5}]}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": "x"}], "n": 5}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, 400),
            ("/v1/chat/completions", {"model": "stories", "messages": [{"role": "user", "content": "x"}], "logit_bias": {"abc": 1}}, 400),
            ("/v1/chat/completions", {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}, 404),
            ("/v1/completions", {"model": "stories", "prompt": 42}, 400),
            ("/api/generate", {"model": "stories", "prompt": "x", "options": {"temperature": "x"}}, 400),
            ("/api/generate", {"model": "stories", "prompt": "x", "keep_alive": "forever-ish"}, 400),
            ("/api/chat", {"model": "stories", "messages": {"role": "user"}}, 400),
            ("/api/show", {"model": "no-such-model"}, 404),
            ("/api/copy", {"source": "no-such-model", "destination": "x"}, 404),
        ]
        for path, b, want in bad:
            st, raw, _ = s.request("POST", path, b if isinstance(b, str) else json.dumps(b))
            check(st == want, f"{path} {b!r}: status {st}, want {want}: {raw[:200]!r}")
            check("error" in json.loads(raw), f"{path}: error body {raw[:200]!r}")
        st, raw, _ = s.request("POST", "/v1/chat/completions", "x" * (40 << 20))
        check(st == 413, f"huge body: {st}")
        st, raw, _ = s.request("GET", "/v1/nothing")
        check(st == 404 and "error" in json.loads(raw), "unknown route")
        st, raw, _ = s.request("GET", "/api/tags", headers={"Host": "attacker.example"})
        check(st == 403, "Host header check (DNS rebinding)")

        # Concurrency: two streams on the qwen model run at once (continuous batching).
        results = {}

        def gen(i):
            st, j, _ = s.json("POST", "/v1/chat/completions", {"model": "qwen", "max_tokens": 48, "seed": i,
                                                               "messages": [{"role": "user", "content": f"story {i}"}]})
            results[i] = (st, j)

        s.json("POST", "/v1/chat/completions", {"model": "qwen", "max_tokens": 1, "messages": [{"role": "user", "content": "warm"}]})
        threads = [threading.Thread(target=gen, args=(i,)) for i in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        check(all(results[i][0] == 200 and results[i][1]["usage"]["completion_tokens"] > 0 for i in range(2)),
              f"parallel requests: {results}")

        # A full queue answers 503 with Retry-After: 2 running + 1 queued, the rest are refused.
        statuses = []
        lock = threading.Lock()

        def hog():
            st, raw, r = s.request("POST", "/v1/chat/completions", json.dumps(
                {"model": "qwen", "max_tokens": 400, "messages": [{"role": "user", "content": "long"}]}))
            with lock:
                statuses.append((st, r.getheader("Retry-After")))

        hogs = [threading.Thread(target=hog) for _ in range(6)]
        [t.start() for t in hogs]
        [t.join() for t in hogs]
        check(any(st == 503 and ra for st, ra in statuses), f"queue full gives 503: {statuses}")
        check(any(st == 200 for st, _ in statuses), f"some requests served: {statuses}")

        # Cancellation: a client that goes away stops its generation.
        c = s.conn()
        c.request("POST", "/v1/chat/completions", json.dumps(
            {"model": "qwen", "max_tokens": 1900, "stream": True, "messages": [{"role": "user", "content": "go on"}]}),
            {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read1(64) if hasattr(r, "read1") else r.read(64)
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        t0 = time.time()
        active = None
        while time.time() - t0 < 5:
            st, j, _ = s.json("GET", "/api/ps")
            active = sum(m.get("active", 0) for m in j["models"])
            if active == 0:
                break
            time.sleep(0.05)
        check(active == 0, "a disconnected client's generation stops")
        st, raw, _ = s.request("GET", "/metrics")
        check(b"hearth_generated_tokens_total" in raw and b"hearth_queue_length" in raw, "metrics")

        # Copy and delete through the Ollama API.
        check(s.request("POST", "/api/copy", json.dumps({"source": "stories", "destination": "stories2"}))[0] == 200, "copy")
        check(s.request("DELETE", "/api/delete", json.dumps({"model": "stories2"}))[0] == 200, "delete")
        check(s.request("DELETE", "/api/delete", json.dumps({"model": "stories2"}))[0] == 404, "delete twice")
    finally:
        s.stop()

    # API key.
    s = Server(home, "--api-key", "sekret")
    try:
        check(s.request("GET", "/api/tags")[0] == 401, "no key: 401")
        check(s.request("GET", "/api/tags", headers={"Authorization": "Bearer sekret"})[0] == 200, "key: 200")
        check(s.request("GET", "/health")[0] == 200, "health needs no key")
    finally:
        s.stop()
    print("server_test: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAILED:", e)
        sys.exit(1)

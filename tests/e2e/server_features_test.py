"""e2e: the server features the official clients use beyond plain generation: GET /v1/models/{id} with
the name resolution of generation requests, logprobs (OpenAI chat and completions, streaming and not;
Ollama generate and chat), JSON mode (OpenAI response_format, Ollama format) and Ollama's human
parameter sizes. A real `hearth serve` on a free loopback port, Python's standard library as client.

The fixture models have random weights (qwen) or are tiny (stories): their output is nonsense, so JSON
mode producing parseable JSON at temperature 0.8 really tests the constraint, not the model."""
import json
import math
import os
import subprocess
import sys
import tempfile

from e2e_server import HEARTH, Server, check

FIX = os.environ["HEARTH_FIXTURES"]
STORIES = os.path.join(FIX, "models", "stories260K-f32.gguf")
QWEN = os.path.join(FIX, "models", "qwen2-s-Q8_0.gguf")


def sse_chunks(raw):
    out = []
    for line in raw.decode().split("\n"):
        if line.startswith("data: ") and line != "data: [DONE]":
            out.append(json.loads(line[6:]))
    return out


def check_entry(e, n_top, where):
    """One OpenAI-chat / Ollama logprob entry: shapes, sorted alternatives, probabilities <= 1."""
    check(isinstance(e["token"], str) and isinstance(e["logprob"], float), f"{where}: entry types {e}")
    check(-9999.0 <= e["logprob"] <= 0.0, f"{where}: logprob in [-9999, 0]: {e['logprob']}")
    check(isinstance(e["bytes"], list) and all(0 <= b < 256 for b in e["bytes"]), f"{where}: bytes {e}")
    if "\ufffd" not in e["token"]:
        check(bytes(e["bytes"]).decode() == e["token"], f"{where}: bytes spell the token: {e}")
    top = e["top_logprobs"]
    check(len(top) == n_top, f"{where}: {n_top} alternatives, got {len(top)}")
    lps = [t["logprob"] for t in top]
    check(lps == sorted(lps, reverse=True), f"{where}: alternatives sorted: {lps}")
    check(sum(math.exp(x) for x in lps) <= 1.0 + 1e-4, f"{where}: probabilities sum <= 1: {lps}")
    for t in top:
        check(set(t) == {"token", "logprob", "bytes"}, f"{where}: alternative fields {t}")
    # The chosen token is one of the alternatives, or less likely than all of them.
    if top:
        chosen = [t for t in top if t["token"] == e["token"]]
        check(any(abs(t["logprob"] - e["logprob"]) < 1e-4 for t in chosen) or e["logprob"] <= lps[-1] + 1e-4,
              f"{where}: chosen token consistent with the alternatives: {e}")


def test_models_by_id(s):
    for name in ["stories", "stories:latest", "qwen", QWEN]:
        st, j, _ = s.json("GET", "/v1/models/" + name)
        check(st == 200, f"/v1/models/{name}: {st} {j}")
        check(j["id"] == name and j["object"] == "model" and isinstance(j["created"], int) and j["owned_by"],
              f"/v1/models/{name} body {j}")
    st, j, _ = s.json("GET", "/v1/models/no-such-model")
    check(st == 404 and j["error"]["type"] == "invalid_request_error" and j["error"]["code"] == "model_not_found",
          f"unknown model: 404 in OpenAI shape: {st} {j}")
    st, j, _ = s.json("GET", "/v1/models/bad::name")
    check(st == 404 and "error" in j, f"invalid name: 404: {st} {j}")
    # A path is a model only if it is a GGUF file; nothing about other files is told.
    for path in ["/etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fhostname", "%2Fnonexistent.gguf"]:
        st, j, _ = s.json("GET", "/v1/models/" + path)
        check(st == 404 and j["error"]["code"] == "model_not_found", f"{path}: 404, got {st} {j}")


def test_chat_logprobs(s):
    for model in ["stories", "qwen"]:
        body = {"model": model, "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 12,
                "temperature": 0, "logprobs": True, "top_logprobs": 5}
        st, j, _ = s.json("POST", "/v1/chat/completions", body)
        check(st == 200, f"chat logprobs {st} {j}")
        ch = j["choices"][0]
        content = ch["logprobs"]["content"]
        check(len(content) == j["usage"]["completion_tokens"], f"{model}: one entry per token")
        for i, e in enumerate(content):
            check_entry(e, 5, f"{model} chat token {i}")
            # Greedy: the chosen token is the most likely one.
            check(e["token"] == e["top_logprobs"][0]["token"] and abs(e["logprob"] - e["top_logprobs"][0]["logprob"]) < 1e-5,
                  f"{model}: greedy token is top-1: {e}")
        if model == "stories":
            check("".join(e["token"] for e in content) == ch["message"]["content"], "tokens spell the content")
        # Same request, same tokens and numbers (up to rounding: the second reuses the cached prompt, so
        # the batches differ).
        st, j2, _ = s.json("POST", "/v1/chat/completions", body)
        again = j2["choices"][0]["logprobs"]["content"]
        check([e["token"] for e in again] == [e["token"] for e in content], f"{model}: same tokens")
        check(all(abs(a["logprob"] - b["logprob"]) < 1e-3 for a, b in zip(again, content)),
              f"{model}: logprobs are reproducible")
        # Without logprobs: null.
        st, j3, _ = s.json("POST", "/v1/chat/completions", dict(body, logprobs=False, top_logprobs=None))
        check(st == 200 and j3["choices"][0]["logprobs"] is None, "logprobs off: null")

    # Sampling: the chosen token need not be the top one, but its logprob is reported.
    body = {"model": "stories", "messages": [{"role": "user", "content": "Tell me"}], "max_tokens": 30,
            "temperature": 1.5, "seed": 5, "logprobs": True, "top_logprobs": 2}
    st, j, _ = s.json("POST", "/v1/chat/completions", body)
    for i, e in enumerate(j["choices"][0]["logprobs"]["content"]):
        check_entry(e, 2, f"sampled token {i}")

    # top_logprobs 0: entries with empty alternatives.
    st, j, _ = s.json("POST", "/v1/chat/completions", dict(body, top_logprobs=0, max_tokens=3))
    for e in j["choices"][0]["logprobs"]["content"]:
        check_entry(e, 0, "top_logprobs 0")

    # Streaming: each content chunk carries the entries of its tokens.
    body = {"model": "stories", "messages": [{"role": "user", "content": "Once upon a time"}], "max_tokens": 16,
            "temperature": 0, "logprobs": True, "top_logprobs": 3, "stream": True,
            "stream_options": {"include_usage": True}}
    st, raw, _ = s.request("POST", "/v1/chat/completions", body)
    chunks = sse_chunks(raw)
    entries, text = [], ""
    for c in chunks:
        for choice in c["choices"]:
            d = choice["delta"]
            if d.get("content") and choice["logprobs"] is None:
                raise AssertionError(f"a content chunk without logprobs: {c}")
            if choice["logprobs"]:
                entries += choice["logprobs"]["content"]
            text += d.get("content") or ""
    usage = chunks[-1]["usage"]
    check(len(entries) == usage["completion_tokens"], f"stream: one entry per token ({len(entries)} vs {usage})")
    check("".join(e["token"] for e in entries) == text, "stream: tokens spell the text")
    for i, e in enumerate(entries):
        check_entry(e, 3, f"stream token {i}")


def test_completion_logprobs(s):
    prompt = "Once upon a time"
    body = {"model": "stories", "prompt": prompt, "max_tokens": 10, "temperature": 0, "logprobs": 3}
    st, j, _ = s.json("POST", "/v1/completions", body)
    check(st == 200, f"completions logprobs {st} {j}")
    lp = j["choices"][0]["logprobs"]
    n = j["usage"]["completion_tokens"]
    check(len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == len(lp["text_offset"]) == n,
          f"completions: parallel arrays of {n}: {lp}")
    check("".join(lp["tokens"]) == j["choices"][0]["text"], "completions: tokens spell the text")
    check(lp["text_offset"][0] == len(prompt), f"text_offset counts from the prompt start: {lp['text_offset']}")
    for i in range(1, n):
        check(lp["text_offset"][i] == lp["text_offset"][i - 1] + len(lp["tokens"][i - 1]), "text_offset advances")
    for tok, val, top in zip(lp["tokens"], lp["token_logprobs"], lp["top_logprobs"]):
        check(isinstance(top, dict) and 1 <= len(top) <= 4, f"top_logprobs object of <= logprobs+1 entries: {top}")
        check(tok in top and abs(top[tok] - val) < 1e-6, f"the sampled token is in top_logprobs: {tok} {top}")
        check(abs(max(top.values()) - val) < 1e-5, "greedy: the sampled token is the most likely")
        check(sum(math.exp(v) for v in top.values()) <= 1.0 + 1e-4, "probabilities sum <= 1")
    # Streaming: offsets continue across chunks.
    st, raw, _ = s.request("POST", "/v1/completions", dict(body, stream=True))
    offs, toks = [], []
    for c in sse_chunks(raw):
        for choice in c["choices"]:
            if choice["logprobs"]:
                offs += choice["logprobs"]["text_offset"]
                toks += choice["logprobs"]["tokens"]
    check(offs == lp["text_offset"] and toks == lp["tokens"], "streamed completion logprobs match")


def test_logprob_errors(s):
    base = {"model": "stories", "messages": [{"role": "user", "content": "x"}], "max_tokens": 2}
    for extra in [{"logprobs": True, "top_logprobs": 21}, {"logprobs": True, "top_logprobs": -1},
                  {"logprobs": "yes"}, {"top_logprobs": 3}]:
        st, j, _ = s.json("POST", "/v1/chat/completions", dict(base, **extra))
        check(st == 400 and j["error"]["type"] == "invalid_request_error", f"chat {extra}: 400, got {st} {j}")
    for lp in [6, -1, True, "3", 1.5]:
        st, j, _ = s.json("POST", "/v1/completions", {"model": "stories", "prompt": "x", "logprobs": lp})
        check(st == 400 and j["error"]["type"] == "invalid_request_error", f"completions logprobs={lp}: 400, got {st}")
    st, j, _ = s.json("POST", "/api/generate", {"model": "stories", "prompt": "x", "top_logprobs": 21})
    check(st == 400 and "error" in j, f"ollama top_logprobs 21: 400, got {st}")


def test_ollama_logprobs(s):
    st, j, _ = s.json("POST", "/api/generate", {"model": "stories", "prompt": "Once upon a time", "raw": True,
                                             "stream": False, "logprobs": True, "top_logprobs": 4,
                                             "options": {"temperature": 0, "num_predict": 8}})
    check(st == 200 and len(j["logprobs"]) == j["eval_count"], f"ollama generate logprobs: {st} {j}")
    check("".join(e["token"] for e in j["logprobs"]) == j["response"], "ollama: tokens spell the response")
    for i, e in enumerate(j["logprobs"]):
        check_entry(e, 4, f"ollama generate token {i}")
        check(e["token"] == e["top_logprobs"][0]["token"], "ollama greedy token is top-1")
    st, raw, _ = s.request("POST", "/api/chat", {"model": "stories", "messages": [{"role": "user", "content": "hi"}],
                                              "logprobs": True, "options": {"temperature": 0, "num_predict": 6}})
    lines = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
    entries = [e for l in lines if not l["done"] for e in l["logprobs"]]
    check(len(entries) == lines[-1]["eval_count"], f"ollama chat stream: one entry per token: {lines}")
    for e in entries:
        check_entry(e, 0, "ollama chat")
    st, j, _ = s.json("POST", "/api/generate", {"model": "stories", "prompt": "x", "stream": False,
                                             "options": {"num_predict": 2}})
    check("logprobs" not in j, "no logprobs unless asked")


def openai_json(s, model, seed, chat=True, stream=False, rf=None, max_tokens=120, temperature=0.8):
    rf = rf or {"type": "json_object"}
    if chat:
        body = {"model": model, "messages": [{"role": "user", "content": f"Describe cat number {seed} as JSON"}],
                "temperature": temperature, "seed": seed, "response_format": rf, "stream": stream}
    else:
        body = {"model": model, "prompt": f"The JSON for item {seed}:", "temperature": temperature, "seed": seed,
                "response_format": rf, "stream": stream}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    path = "/v1/chat/completions" if chat else "/v1/completions"
    if not stream:
        st, j, _ = s.json("POST", path, body)
        check(st == 200, f"json mode {st} {j}")
        c = j["choices"][0]
        return (c["message"]["content"] if chat else c["text"]), c["finish_reason"]
    st, raw, _ = s.request("POST", path, body)
    text, finish = "", None
    for c in sse_chunks(raw):
        for ch in c["choices"]:
            text += (ch["delta"].get("content") or "") if chat else ch["text"]
            finish = ch["finish_reason"] or finish
    return text, finish


def parse_object(text, where):
    try:
        v = json.loads(text)
    except ValueError as e:
        raise AssertionError(f"{where}: output is not JSON ({e}): {text!r}")
    check(isinstance(v, dict), f"{where}: a JSON object: {text!r}")
    return v


def test_json_mode(s):
    stats = {"stop": 0, "length": 0}
    for model in ["qwen", "stories"]:
        for seed in range(6):
            for chat, stream in [(True, False), (False, False), (True, True)]:
                text, finish = openai_json(s, model, seed, chat=chat, stream=stream)
                parse_object(text, f"{model} seed {seed} chat={chat} stream={stream}")
                check(finish in ("stop", "length"), f"finish_reason {finish}")
                stats[finish] += 1
    # No max_tokens: the context (2048 here) is the budget.
    text, finish = openai_json(s, "qwen", 99, max_tokens=None)
    parse_object(text, "no max_tokens")
    # A tiny budget still closes the object; an impossible one is cut.
    for seed in range(3):
        text, finish = openai_json(s, "qwen", seed, max_tokens=2)
        check(json.loads(text) == {} and finish in ("stop", "length"), f"max_tokens 2: '{{}}': {text!r} {finish}")
    text, finish = openai_json(s, "qwen", 3, max_tokens=1)
    check(finish == "length", f"max_tokens 1: cut: {text!r} {finish}")
    # Greedy decoding is constrained too.
    parse_object(openai_json(s, "qwen", 1, temperature=0)[0], "greedy")
    # json_schema: the top-level type decides; text is no constraint.
    text, _ = openai_json(s, "qwen", 4, rf={"type": "json_schema", "json_schema": {
        "name": "cat", "schema": {"type": "object", "properties": {"name": {"type": "string"}}}}})
    parse_object(text, "json_schema object")
    text, _ = openai_json(s, "qwen", 4, rf={"type": "json_schema", "json_schema": {"name": "l", "schema": {"type": "array"}}})
    check(isinstance(json.loads(text), list), f"json_schema array: {text!r}")
    st, j, _ = s.json("POST", "/v1/chat/completions", {"model": "qwen", "messages": [{"role": "user", "content": "x"}],
                                                    "max_tokens": 5, "response_format": {"type": "text"}})
    check(st == 200, "response_format text")
    for rf in [{"type": "xml"}, "json", {"type": "json_schema"}, {"type": "json_schema", "json_schema": {"schema": 3}},
               {"type": "json_schema", "json_schema": {"schema": {"type": "tuple"}}}, {}]:
        st, j, _ = s.json("POST", "/v1/chat/completions", {"model": "qwen", "messages": [{"role": "user", "content": "x"}],
                                                        "response_format": rf})
        check(st == 400 and j["error"]["type"] == "invalid_request_error", f"response_format {rf}: 400, got {st} {j}")

    # Ollama: format "json" and a schema, streaming and not.
    for seed in range(4):
        for path, key in [("/api/generate", "response"), ("/api/chat", "message")]:
            body = {"model": "qwen", "format": "json", "stream": False,
                    "options": {"temperature": 0.8, "seed": seed, "num_predict": 100}}
            if key == "response":
                body["prompt"] = f"json {seed}"
            else:
                body["messages"] = [{"role": "user", "content": f"json {seed}"}]
            st, j, _ = s.json("POST", path, body)
            check(st == 200, f"ollama format json {st} {j}")
            parse_object(j[key] if key == "response" else j[key]["content"], f"ollama {path} seed {seed}")
        st, raw, _ = s.request("POST", "/api/generate", {
            "model": "stories", "prompt": "A story as JSON", "format": {"type": "object", "properties": {"a": {"type": "integer"}}},
            "options": {"temperature": 0.8, "seed": seed, "num_predict": 100}})
        lines = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
        parse_object("".join(l["response"] for l in lines), f"ollama streamed schema seed {seed}")
    for fmt in ["yaml", 5, ["json"], {"type": "foo"}]:
        st, j, _ = s.json("POST", "/api/generate", {"model": "qwen", "prompt": "x", "format": fmt})
        check(st == 400 and "error" in j, f"format {fmt!r}: 400, got {st} {j}")
    st, j, _ = s.json("POST", "/api/generate", {"model": "qwen", "prompt": "x", "format": "", "stream": False,
                                             "options": {"num_predict": 3}})
    check(st == 200, "format '' is no constraint")
    print(f"json mode: {sum(stats.values())} OpenAI outputs parsed, finish_reason {stats}")


def test_parameter_sizes(s):
    st, j, _ = s.json("POST", "/api/show", {"model": "stories"})
    check(st == 200 and j["details"]["parameter_size"] == "293K", f"stories: 293K, got {j['details']}")
    st, j, _ = s.json("POST", "/api/show", {"model": "qwen"})
    check(j["details"]["parameter_size"] == "2.89M", f"qwen: 2.89M, got {j['details']}")
    st, j, _ = s.json("GET", "/api/tags")
    sizes = {m["name"]: m["details"]["parameter_size"] for m in j["models"]}
    check(sizes.get("stories:latest") == "293K" and sizes.get("qwen:latest") == "2.89M", f"tags: {sizes}")


def main():
    home = tempfile.mkdtemp(prefix="hearth-e2e-features-")
    for path, name in [(STORIES, "stories"), (QWEN, "qwen")]:
        subprocess.run([HEARTH, "pull", path, "--name", name, "--link", "-q"], check=True,
                       env=dict(os.environ, HEARTH_HOME=home))
    s = Server(home, "--parallel", "2", "-c", "2048")
    try:
        test_models_by_id(s)
        test_chat_logprobs(s)
        test_completion_logprobs(s)
        test_logprob_errors(s)
        test_ollama_logprobs(s)
        test_json_mode(s)
        test_parameter_sizes(s)
    finally:
        s.stop()
    print("server_features_test: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAILED:", e)
        sys.exit(1)

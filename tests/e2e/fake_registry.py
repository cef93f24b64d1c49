#!/usr/bin/env python3
"""A fake model registry for hearth's pull tests (Python 3 standard library only).

Serves, from files it generates at start-up under --dir:
  * an Ollama-style registry: GET /v2/<ns>/<model>/manifests/<tag>, GET /v2/<ns>/<model>/blobs/<digest>
    (blobs redirect to /cdn/<digest>, as the real registry redirects to its CDN);
  * a Hugging Face-style hub under /hf: GET /hf/api/models/<user>/<repo>/tree/main (paginated with a Link
    header, LFS sha256s), GET /hf/<user>/<repo>/resolve/main/<file> (redirects to /hfcdn/<file>);
  * plain files under /files/<name>.
Range requests are honoured (206 / 416). Some models misbehave on purpose (see MODELS below): a connection
dropped in the middle of a blob, a corrupted blob, a slow blob, a manifest that fails with 503 twice, a
model that needs credentials, a model too big for any disk. Every request is logged to --log as one line:
  <METHOD> <path> range=<Range header or -> auth=<yes|no>
The chosen port is written to --port-file once the server listens.
"""
import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qs, unquote

# ---------------------------------------------------------------------------------------------- GGUF files
GGUF_UINT16, GGUF_UINT32, GGUF_INT32, GGUF_STRING = 2, 4, 5, 8
FILE_TYPES = {"F16": 1, "Q4_0": 2, "Q8_0": 7, "Q2_K": 10, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18}


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def make_gguf(name, quant, data_bytes, seed, split=None):
    """A small valid GGUF v3 file: a few metadata keys and one F32 tensor of data_bytes bytes."""
    kv = [("general.architecture", GGUF_STRING, "llama"), ("general.name", GGUF_STRING, name),
          ("general.file_type", GGUF_UINT32, FILE_TYPES.get(quant, 0))]
    if split:
        index, count = split
        kv += [("split.no", GGUF_UINT16, index - 1), ("split.count", GGUF_UINT16, count),
               ("split.tensors.count", GGUF_INT32, count)]
    n_floats = data_bytes // 4
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 1, len(kv)))
    for key, typ, val in kv:
        out += gguf_string(key) + struct.pack("<I", typ)
        if typ == GGUF_STRING:
            out += gguf_string(val)
        elif typ == GGUF_UINT16:
            out += struct.pack("<H", val)
        elif typ == GGUF_UINT32:
            out += struct.pack("<I", val)
        else:
            out += struct.pack("<i", val)
    tensor = "blk.%d.weight" % ((split[0] - 1) if split else 0)
    out += gguf_string(tensor) + struct.pack("<I", 1) + struct.pack("<Q", n_floats) + struct.pack("<I", 0)
    out += struct.pack("<Q", 0)  # offset in the data section
    out += b"\0" * ((-len(out)) % 32)
    # Deterministic bytes; clearing each float's top exponent bit keeps the values finite.
    data = bytearray(random.Random(seed).randbytes(n_floats * 4))
    data[3::4] = bytes(b & 0xBF for b in data[3::4])
    out += data
    return bytes(out)


# --------------------------------------------------------------------------------------------- the content
def sha256(b):
    return hashlib.sha256(b).hexdigest()


class Content:
    def __init__(self, root):
        self.root = root
        self.blobs = {}          # hex -> bytes
        self.manifests = {}      # (ns, model, tag) -> bytes
        self.behaviour = {}      # hex -> "drop" | "corrupt" | "slow" | "slow-always"
        self.hf = {}             # (user, repo) -> [(path, bytes)]
        self.files = {}          # name -> bytes
        os.makedirs(os.path.join(root, "blobs"), exist_ok=True)
        os.makedirs(os.path.join(root, "files"), exist_ok=True)

    def blob(self, data):
        h = sha256(data)
        self.blobs[h] = data
        with open(os.path.join(self.root, "blobs", "sha256-" + h), "wb") as f:
            f.write(data)
        return {"digest": "sha256:" + h, "size": len(data)}

    def ollama_model(self, model, tag, gguf, params=None, template="{{ .Prompt }}", system=None, behaviour=None):
        layers = []
        m = self.blob(gguf)
        m["mediaType"] = "application/vnd.ollama.image.model"
        layers.append(m)
        if behaviour:
            self.behaviour[m["digest"][7:]] = behaviour
        for media, text in (("template", template), ("system", system), ("license", "MIT licence, for tests")):
            if text is not None:
                l = self.blob(text.encode())
                l["mediaType"] = "application/vnd.ollama.image." + media
                layers.append(l)
        if params is not None:
            l = self.blob(json.dumps(params).encode())
            l["mediaType"] = "application/vnd.ollama.image.params"
            layers.append(l)
        config = self.blob(json.dumps({"model_format": "gguf", "model_family": "llama", "file_type": "Q4_K_M"}).encode())
        config["mediaType"] = "application/vnd.docker.container.image.v1+json"
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": config, "layers": layers}
        body = json.dumps(manifest, indent=2).encode()
        self.manifests[("library", model, tag)] = body
        d = os.path.join(self.root, "manifests", "library", model)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, tag), "wb") as f:
            f.write(body)
        return m["digest"]

    def hf_repo(self, user, repo, files):
        self.hf[(user, repo)] = files
        d = os.path.join(self.root, "hf", user, repo)
        os.makedirs(d, exist_ok=True)
        for path, data in files:
            with open(os.path.join(d, path.replace("/", "_")), "wb") as f:
                f.write(data)

    def file(self, name, data):
        self.files[name] = data
        with open(os.path.join(self.root, "files", name), "wb") as f:
            f.write(data)


def build(root):
    c = Content(root)
    KB = 1024
    tiny = make_gguf("tiny", "Q4_K_M", 256 * KB, 1)
    c.ollama_model("tiny", "latest", tiny, params={"temperature": 0.5, "stop": ["<|end|>"]},
                   system="You are a test.")
    c.ollama_model("tiny", "v2", tiny, params={"temperature": 0.9})  # shares the model blob
    c.ollama_model("drop", "latest", make_gguf("drop", "Q4_K_M", 1024 * KB, 2), behaviour="drop")
    c.ollama_model("drop2", "latest", make_gguf("drop2", "Q4_K_M", 1024 * KB, 3), behaviour="drop")
    c.ollama_model("corrupt", "latest", make_gguf("corrupt", "Q4_K_M", 512 * KB, 4), behaviour="corrupt")
    c.ollama_model("slow", "latest", make_gguf("slow", "Q8_0", 4096 * KB, 5), behaviour="slow")
    c.ollama_model("slow2", "latest", make_gguf("slow2", "Q8_0", 2048 * KB, 6), behaviour="slow-always")
    c.ollama_model("flaky", "latest", make_gguf("flaky", "Q4_0", 64 * KB, 7))
    c.ollama_model("secret", "latest", make_gguf("secret", "Q4_0", 64 * KB, 8))
    # A manifest whose model claims 512 TiB: no disk has room for it.
    huge = json.loads(c.manifests[("library", "flaky", "latest")])
    huge["layers"][0]["size"] = 1 << 49
    huge["layers"][0]["digest"] = "sha256:" + sha256(b"huge")
    c.manifests[("library", "huge", "latest")] = json.dumps(huge).encode()
    c.hf_repo("user", "tiny-GGUF", [
        ("README.md", b"# tiny\n"),
        ("tiny-Q2_K.gguf", make_gguf("tiny", "Q2_K", 96 * KB, 10)),
        ("tiny-Q4_K_M.gguf", make_gguf("tiny", "Q4_K_M", 128 * KB, 11)),
        ("tiny-Q8_0.gguf", make_gguf("tiny", "Q8_0", 160 * KB, 12)),
        ("mmproj-tiny-F16.gguf", make_gguf("mmproj", "F16", 32 * KB, 13)),
        ("extra/notes.txt", b"notes\n"),
    ])
    c.hf_repo("user", "split-GGUF", [
        ("Q4_K_M/split-Q4_K_M-00001-of-00002.gguf", make_gguf("split", "Q4_K_M", 96 * KB, 20, (1, 2))),
        ("Q4_K_M/split-Q4_K_M-00002-of-00002.gguf", make_gguf("split", "Q4_K_M", 96 * KB, 21, (2, 2))),
        ("split-Q8_0.gguf", make_gguf("split", "Q8_0", 128 * KB, 22)),
    ])
    c.hf_repo("user", "private-GGUF", [("private-Q4_K_M.gguf", make_gguf("private", "Q4_K_M", 64 * KB, 30))])
    c.file("url-model-Q5_K_M.gguf", make_gguf("url-model", "Q5_K_M", 192 * KB, 40))
    c.file("local-model-Q6_K.gguf", make_gguf("local-model", "Q6_K", 128 * KB, 41))
    c.file("not-a-model.gguf", b"<html><body>Sign in to download</body></html>\n")
    return c


# ------------------------------------------------------------------------------------------------- serving
class State:
    lock = threading.Lock()
    requests = {}  # counters per key


def count(key):
    with State.lock:
        State.requests[key] = State.requests.get(key, 0) + 1
        return State.requests[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    content = None
    log_file = None
    hf_token = "sekrit"
    page_size = 3

    def log_message(self, fmt, *args):  # quiet stderr; the request log is ours
        pass

    def log_request_line(self):
        line = "%s %s range=%s auth=%s\n" % (self.command, self.path, self.headers.get("Range") or "-",
                                              "yes" if self.headers.get("Authorization") else "no")
        with State.lock:
            with open(self.log_file, "a") as f:
                f.write(line)

    def send_plain(self, status, body=b"", ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, message):
        self.send_plain(status, json.dumps({"errors": [{"code": "ERROR", "message": message}]}).encode())

    def redirect(self, location):
        self.send_plain(307, b"", "text/plain", {"Location": location})

    def send_data(self, data, behaviour=None):
        """Serves bytes with Range support; `behaviour` makes it misbehave."""
        total = len(data)
        rng = self.headers.get("Range")
        start = 0
        if rng:
            if not rng.startswith("bytes=") or not rng[6:].endswith("-"):
                return self.error(400, "unsupported range")
            start = int(rng[6:-1])
            if start >= total:
                return self.send_plain(416, b"", "text/plain", {"Content-Range": "bytes */%d" % total})
        body = data[start:]
        if behaviour == "corrupt":
            b = bytearray(body)
            b[len(b) // 2] ^= 0xFF
            body = bytes(b)
        self.send_response(206 if rng else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, total - 1, total))
        self.end_headers()
        try:
            if behaviour == "drop" and count("drop:" + sha256(data)) == 1:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            slow = behaviour == "slow-always" or (behaviour == "slow" and not rng)
            if slow:
                chunk = 64 * 1024
                for i in range(0, len(body), chunk):
                    self.wfile.write(body[i:i + chunk])
                    self.wfile.flush()
                    time.sleep(chunk / (1024 * 1024))  # about 1 MB/s
                return
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log_request_line()
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        c = self.content
        try:
            if parts[:1] == ["v2"] and len(parts) == 5:
                return self.ollama(parts[1], parts[2], parts[3], parts[4])
            if parts[:1] == ["cdn"] and len(parts) == 2:
                h = parts[1][7:] if parts[1].startswith("sha256:") else ""
                if h not in c.blobs:
                    return self.error(404, "blob unknown")
                return self.send_data(c.blobs[h], c.behaviour.get(h))
            if parts[:1] == ["hf"]:
                return self.hub(parts[1:], parse_qs(url.query))
            if parts[:1] == ["hfcdn"] and len(parts) >= 4:
                user, repo, path = parts[1], parts[2], "/".join(parts[3:])
                for p, data in c.hf.get((user, repo), []):
                    if p == path:
                        return self.send_data(data)
                return self.error(404, "no such file")
            if parts[:1] == ["files"] and len(parts) == 2 and parts[1] in c.files:
                return self.send_data(c.files[parts[1]])
            return self.error(404, "not found")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def ollama(self, ns, model, kind, ref):
        c = self.content
        if model == "secret" and not self.headers.get("Authorization"):
            return self.error(401, "unauthorized")
        if kind == "manifests":
            if model == "flaky" and count("flaky") <= 2:
                return self.error(503, "try again")
            body = c.manifests.get((ns, model, ref))
            if body is None:
                return self.error(404, "manifest unknown")
            return self.send_plain(200, body, "application/vnd.docker.distribution.manifest.v2+json")
        if kind == "blobs":
            if not ref.startswith("sha256:") or ref[7:] not in c.blobs:
                return self.error(404, "blob unknown")
            return self.redirect("/cdn/" + ref)
        return self.error(404, "not found")

    def hub(self, parts, query):
        c = self.content
        if len(parts) >= 5 and parts[0] == "api" and parts[1] == "models" and parts[4] == "tree":
            user, repo = parts[2], parts[3]
        elif len(parts) >= 5 and parts[2] == "resolve" and parts[3] == "main":
            user, repo = parts[0], parts[1]
        else:
            return self.error(404, "not found")
        files = c.hf.get((user, repo))
        if files is None:
            return self.send_plain(404, b'{"error":"Repository not found"}')
        if repo == "private-GGUF" and self.headers.get("Authorization") != "Bearer " + self.hf_token:
            return self.send_plain(401, b'{"error":"Invalid credentials"}')
        if parts[0] == "api":
            start = int(query.get("cursor", ["0"])[0])
            page = files[start:start + self.page_size]
            entries = []
            for path, data in page:
                e = {"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": path}
                if path.endswith(".gguf"):
                    e["lfs"] = {"oid": sha256(data), "size": len(data), "pointerSize": 134}
                entries.append(e)
            headers = {}
            if start + self.page_size < len(files):
                host = self.headers.get("Host")
                headers["Link"] = '<http://%s/hf/api/models/%s/%s/tree/main?recursive=true&cursor=%d>; rel="next"' % (
                    host, user, repo, start + self.page_size)
            return self.send_plain(200, json.dumps(entries).encode(), "application/json", headers)
        path = "/".join(parts[4:])
        for p, _ in files:
            if p == path:
                return self.redirect("/hfcdn/%s/%s/%s" % (user, repo, path))
        return self.send_plain(404, b'{"error":"Entry not found"}')


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that go away (a killed pull, a dropped keep-alive connection) are part of the tests.
        if isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True, help="where to generate the content")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    Handler.content = build(args.dir)
    Handler.log_file = args.log
    open(args.log, "w").close()
    server = Server(("127.0.0.1", 0), Handler)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())

"""Helpers shared by the server end-to-end tests: a real `hearth serve` on a free loopback port (HEARTH is
the binary, HEARTH_HOME a temporary store) and small HTTP utilities, Python standard library only."""
import http.client
import json
import os
import socket
import subprocess
import time

HEARTH = os.environ["HEARTH"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, home, *args):
        self.port = free_port()
        env = dict(os.environ, HEARTH_HOME=home)
        self.proc = subprocess.Popen([HEARTH, "serve", "--port", str(self.port), *args], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(os.path.join(home, "serve.log"), "w"))
        for _ in range(200):
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method, path, body=None, headers=None):
        c = self.conn()
        data = body if isinstance(body, (bytes, str)) or body is None else json.dumps(body)
        c.request(method, path, body=data, headers=headers or {"Content-Type": "application/json"})
        r = c.getresponse()
        raw = r.read()
        c.close()
        return r.status, raw, r

    def json(self, method, path, body=None, headers=None):
        st, raw, r = self.request(method, path, body, headers)
        return st, (json.loads(raw) if raw.strip() else None), r

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def sse_events(raw):
    out = []
    for line in raw.decode().split("\n"):
        if line.startswith("data: "):
            out.append(line[6:])
    return out

#!/usr/bin/env python3
"""Drives `hearth run MODEL` (the interactive chat) through a pseudo-terminal, like a user at a
keyboard, and checks what the chat prints. Standard library only.

Usage: pty_chat.py SCENARIO HEARTH MODEL [extra hearth run arguments...]
SCENARIO is `qwen` (two turns, /set, Ctrl-C during an answer, cache reuse, /bye) or `stories`
(a model without a chat template: multi-line input, /show, /clear, Ctrl-C at the prompt, Ctrl-D).
Exits 0 when every check passed; prints the transcript on failure.
"""
import os
import pty
import re
import select
import signal
import sys
import time


class Fail(Exception):
    pass


class Term:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.environ["TERM"] = "xterm"
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.buf = b""  # everything read so far
        self.pos = 0  # where the next expect() starts looking
        self.status = None

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise Fail("the program closed the terminal (exited?)")
        self.buf += data
        return True

    def expect(self, pattern, timeout=60.0):
        """Waits for a regex (bytes) after the current position; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out waiting for %r" % pattern)
            self._read(left)

    def wait_output(self, timeout=60.0):
        """Waits for any new bytes after the current position."""
        deadline = time.monotonic() + timeout
        while len(self.buf) <= self.pos:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail("timed out waiting for output")
            self._read(left)

    def send(self, data):
        os.write(self.fd, data if isinstance(data, bytes) else data.encode())

    def line(self, text):
        self.send(text + "\r")

    def alive(self):
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = status
        return False

    def wait_exit(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > deadline:
                raise Fail("the program did not exit")
            try:
                self._read(0.05)
            except Fail:
                pass
        return os.waitstatus_to_exitcode(self.status)

    def kill(self):
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)


PROMPT = rb">>> "


def scenario_qwen(t):
    t.expect(rb"/\? for help")
    t.expect(PROMPT)
    t.line("/set num_predict 12")
    t.expect(rb"Set parameter 'num_predict' to '12'")
    t.expect(PROMPT)
    t.line("/set temperature 0")
    t.expect(rb"Set parameter 'temperature' to '0'")
    t.expect(PROMPT)
    t.line("/set top_k nonsense")
    t.expect(rb"Invalid value 'nonsense' for top_k")
    t.expect(PROMPT)

    # Turn 1.
    t.line("Hello, who are you?")
    m1 = t.expect(rb"prompt: (\d+) tokens \((\d+) cached\)")
    t.expect(rb"generation: 12 tokens .*finish: length")
    t.expect(PROMPT)
    # Turn 2: the conversation so far is cached, only the new message is processed.
    t.line("Tell me more.")
    m2 = t.expect(rb"prompt: (\d+) tokens \((\d+) cached\)")
    n1, n2, cached2 = int(m1.group(1)), int(m2.group(1)), int(m2.group(2))
    # The previous prompt is reused (the last token or two may tokenize differently once the answer
    # follows them).
    if not (n2 > n1 and cached2 > 0 and cached2 >= n1 - 2):
        raise Fail("turn 2: %d tokens, %d cached; turn 1 had %d tokens (no cache reuse)" % (n2, cached2, n1))
    print("turn 1: %d prompt tokens; turn 2: %d prompt tokens, %d cached" % (n1, n2, cached2))
    t.expect(PROMPT)

    # Ctrl-C during a long answer stops the answer, not the program.
    t.line("/set num_predict 100000")
    t.expect(PROMPT)
    t.line("Write a very long story.")
    t.wait_output()
    # Wait for the first bytes of the answer (anything after the echoed line).
    t.expect(rb"Write a very long story\.\r?\n")
    t.wait_output()
    start = time.monotonic()
    t.send(b"\x03")
    m = t.expect(rb"generation: (\d+) tokens .*finish: (\w+)")
    if m.group(2) != b"cancelled":
        raise Fail("the long answer finished with %r, not cancelled" % m.group(2))
    t.expect(PROMPT)
    if not t.alive():
        raise Fail("the program died after Ctrl-C")
    print("Ctrl-C stopped the answer after %s tokens, prompt back in %.2f s" %
          (m.group(1).decode(), time.monotonic() - start))

    # The conversation continues after the interruption (and still reuses the cache).
    t.line("/set num_predict 5")
    t.expect(PROMPT)
    t.line("Are you still there?")
    m3 = t.expect(rb"prompt: (\d+) tokens \((\d+) cached\)")
    if int(m3.group(2)) <= n2:
        raise Fail("turn after Ctrl-C: only %s tokens cached" % m3.group(2).decode())
    t.expect(PROMPT)
    t.line("/bye")
    code = t.wait_exit()
    if code != 0:
        raise Fail("exit code %d after /bye" % code)


def scenario_stories(t):
    t.expect(rb"/\? for help")
    t.expect(PROMPT)
    t.line("/?")
    t.expect(rb"/set parameter value")
    t.expect(PROMPT)
    # A """ block and a trailing backslash both give multi-line input.
    t.line('/set system """You tell')
    t.expect(rb"\.\.\. ")
    t.line('short stories."""')
    t.expect(rb"Set the system message")
    t.expect(PROMPT)
    t.line("/show system")
    t.expect(rb"System message\r?\nYou tell\r?\nshort stories\.\r?\n")
    t.expect(PROMPT)
    t.line("/set system first \\")
    t.expect(rb"\.\.\. ")
    t.line("second")
    t.expect(rb"Set the system message")
    t.expect(PROMPT)
    t.line("/show system")
    t.expect(rb"System message\r?\nfirst \r?\nsecond\r?\n")
    t.expect(PROMPT)
    t.line("/show")
    t.expect(rb"architecture +llama")
    t.expect(rb"chat template +none \(ChatML fallback\)")
    t.expect(rb"num_predict +8")
    t.expect(PROMPT)
    t.line('"""Once upon')
    t.expect(rb"\.\.\. ")
    t.line('a time"""')
    t.expect(rb"no chat template; using ChatML")
    t.expect(rb"generation: \d+ tokens")
    t.expect(PROMPT)
    t.line("/clear")
    t.expect(rb"Cleared the conversation")
    t.expect(PROMPT)
    # The context (128 tokens) policy: the oldest turns are dropped, the system message is kept.
    t.line("/set num_predict 30")
    t.expect(PROMPT)
    t.line("Once upon a time")
    t.expect(rb"prompt: \d+ tokens")
    t.expect(PROMPT)
    t.line("Tell me another one")
    t.expect(rb"dropped the oldest 1 turn; the system message is kept")
    t.expect(rb"prompt: \d+ tokens")
    t.expect(PROMPT)
    t.line("/set num_predict -1")  # with --ignore-eos: until the context is full
    t.expect(PROMPT)
    t.line("Go on")
    t.expect(rb"context of 128 tokens is full: the answer was cut off")
    t.expect(rb"finish: length")
    t.expect(PROMPT)
    t.line("/set num_predict 4")
    t.expect(PROMPT)
    t.line("And then?")
    t.expect(rb"dropped the oldest \d+ turns?; the system message is kept")
    t.expect(rb"generation: 4 tokens")
    t.expect(PROMPT)
    t.line("story " * 150)
    t.expect(rb"does not fit in the context of 128 tokens; it was not sent")
    t.expect(PROMPT)
    t.line("/show info")
    t.expect(rb"conversation +2 messages")  # the long message was not kept
    t.expect(PROMPT)
    # Ctrl-C at the prompt clears the line; the typed text is not sent.
    cleared_at = t.pos
    t.send("some text")
    t.expect(rb"some text")
    t.send(b"\x03")
    t.expect(PROMPT)
    t.send(b"\x03")
    t.expect(rb"Use Ctrl-D or /bye to quit")
    t.expect(PROMPT)
    t.line("/nonsense")
    t.expect(rb"Unknown command '/nonsense'")
    t.expect(PROMPT)
    if not t.alive():
        raise Fail("the program died")
    t.send(b"\x04")  # Ctrl-D on an empty line quits
    code = t.wait_exit()
    if code != 0:
        raise Fail("exit code %d after Ctrl-D" % code)
    if b"prompt:" in t.buf[cleared_at:]:
        raise Fail("the line cleared with Ctrl-C was sent to the model")


def main():
    scenario, hearth, model = sys.argv[1:4]
    argv = [hearth, "run", model] + sys.argv[4:]
    t = Term(argv)
    try:
        {"qwen": scenario_qwen, "stories": scenario_stories}[scenario](t)
    except Fail as e:
        t.kill()
        sys.stdout.write("---- transcript ----\n%s\n--------------------\n" %
                         t.buf.decode("utf-8", "replace"))
        print("FAIL (%s): %s" % (scenario, e))
        return 1
    if os.environ.get("PTY_CHAT_SHOW"):
        sys.stdout.write(t.buf.decode("utf-8", "replace") + "\n")
    print("ok: %s" % scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())

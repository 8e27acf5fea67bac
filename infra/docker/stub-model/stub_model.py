#!/usr/bin/python3
"""An OpenAI-compatible stand-in model for the compose test: /v1/chat/completions and /v1/embeddings.

Deterministic: a prompt that asks for a rating ("Rating:") gets "Rating: n ### Reason: ..." with n from a hash of the
prompt (so ratings vary and datasets have pairs to rank); any other prompt gets a short answer derived from it.
Embeddings are 64-dimensional bags of words, unit length. STUB_LATENCY_MS delays every answer. Never use it for
anything but tests.
"""
import hashlib
import json
import math
import re
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


LATENCY = int(os.environ.get("STUB_LATENCY_MS", "0")) / 1000


def stable_hash(text):
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def embed(text):
    v = [0.0] * 64
    for word in re.split(r"[ ?.,!\n]+", text.lower()):
        if word:
            v[stable_hash(word) % 64] += 1.0
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v] if norm else v


def reply(prompt):
    h = stable_hash(prompt)
    if "Rating:" in prompt:
        return f"Rating: {1 + h % 7} ### Reason: reason {h % 1000}"
    return f"Answer {h % 100000}: be kind and honest, and help safely."


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/health", "/v1/models"):
            self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self):
        time.sleep(LATENCY)
        length = int(self.headers.get("content-length", "0"))
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._send(400, {"error": {"message": "body is not JSON"}})
            return
        if self.path.endswith("/chat/completions"):
            prompt = "\n".join(str(m.get("content", "")) for m in request.get("messages", []))
            text = reply(prompt)
            self._send(200, {
                "id": f"stub-{stable_hash(prompt)}", "object": "chat.completion", "model": request.get("model", "stub-model"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()),
                          "total_tokens": len(prompt.split()) + len(text.split())},
            })
        elif self.path.endswith("/embeddings"):
            texts = request.get("input", [])
            texts = [texts] if isinstance(texts, str) else texts
            self._send(200, {
                "object": "list", "model": request.get("model", "stub-embedding"),
                "data": [{"object": "embedding", "index": i, "embedding": embed(t)} for i, t in enumerate(texts)],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            })
        else:
            self._send(404, {"error": {"message": "not found"}})

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a society's burst of concurrent calls must not be refused at accept()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    Server(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()

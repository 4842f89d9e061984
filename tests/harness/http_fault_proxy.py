#!/usr/bin/env python3
"""An HTTP/1.1 proxy on 127.0.0.1 in front of a real S3 server that injects faults into the first
N requests (one request per connection: it answers "Connection: close"):
  status:CODE:N    answer the first N requests itself with CODE and an S3 error body
                   (503 SlowDown, 500 InternalError, 403 AccessDenied, otherwise a generic code),
                   never forwarding
  match:CODE:N:TEXT  the same for the first N requests whose request line contains TEXT (e.g.
                   ".manifest.json"); every other request is forwarded
  reset:N:BYTES    forward GET requests; the first N whose response reaches BYTES are reset there
  pass             forward everything (PORT_FILE.log still records each response's status line)
  slow:N:MS        hold each of the first N requests MS milliseconds before forwarding it
Every injected fault increments the number in PORT_FILE.faults, so a test can tell the faults
really happened; PORT_FILE.log has the status line of every response relayed.

usage: http_fault_proxy.py TARGET_HOST:PORT FAULT PORT_FILE
Writes the listening port to PORT_FILE, then serves until killed."""
import os
import socket
import struct
import sys
import threading
import time

lock = threading.Lock()
state = {"seen": 0, "faults": 0}


def count_fault(port_file):
    with lock:
        state["faults"] += 1
        with open(port_file + ".faults.tmp", "w") as f:
            f.write(str(state["faults"]))
        os.rename(port_file + ".faults.tmp", port_file + ".faults")


def read_request(sock):
    """Returns (head_lines, body) of one request, answering Expect: 100-continue itself."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, None
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    kept = [lines[0]]
    expect = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        n = name.strip().lower()
        if n == "content-length":
            length = int(value.strip())
        if n == "expect":
            expect = True
            continue
        if n in ("connection", "keep-alive"):
            continue
        kept.append(line)
    kept.append("Connection: close")
    if expect:
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = rest
    while len(body) < length:
        data = sock.recv(min(1 << 20, length - len(body)))
        if not data:
            return None, None
        body += data
    return kept, body


def answer_error(client, code):
    names = {503: ("Service Unavailable", "SlowDown"), 500: ("Internal Server Error", "InternalError"),
             403: ("Forbidden", "AccessDenied")}
    reason, s3code = names.get(code, ("Error", "InternalError"))
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>injected by "
            "http_fault_proxy</Message></Error>" % s3code).encode()
    client.sendall(("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                    "Connection: close\r\n\r\n" % (code, reason, len(body))).encode() + body)


def take(kind, budget):
    """Counts one more fault of `kind` ("resets", "matches") while fewer than `budget` were made."""
    with lock:
        if state.get(kind, 0) >= budget:
            return False
        state[kind] = state.get(kind, 0) + 1
        return True


def relay_response(upstream, client, reset, port_file):
    """Copies the response. With reset = (budget, after): once `after` bytes have passed, and
    while fewer than `budget` resets were made, resets the client connection instead."""
    passed = 0
    first = b""
    while True:
        data = upstream.recv(65536)
        if not data:
            break
        if len(first) < 200:
            first += data[:200]
        if reset is not None and passed + len(data) >= reset[1] and take("resets", reset[0]):
            client.sendall(data[:max(0, reset[1] - passed)])
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            count_fault(port_file)
            log(port_file, "reset after %d bytes" % reset[1])
            return
        client.sendall(data)
        passed += len(data)
    log(port_file, first.split(b"\r\n", 1)[0].decode("latin-1"))


def log(port_file, line):
    with lock:
        with open(port_file + ".log", "a") as f:
            f.write(line + "\n")


def serve(client, target, fault, port_file):
    upstream = None
    try:
        lines, body = read_request(client)
        if lines is None:
            return
        with lock:
            state["seen"] += 1
            nth = state["seen"]
        kind, args = fault[0], fault[1:]
        method = lines[0].split(" ", 1)[0]
        if kind == "status" and nth <= int(args[1]):
            count_fault(port_file)
            answer_error(client, int(args[0]))
            return
        if kind == "match" and args[2] in lines[0] and take("matches", int(args[1])):
            count_fault(port_file)
            log(port_file, "injected %s for %s" % (args[0], lines[0]))
            answer_error(client, int(args[0]))
            return
        reset = (int(args[0]), int(args[1])) if kind == "reset" and method == "GET" else None
        if kind == "slow" and nth <= int(args[0]):
            count_fault(port_file)
            time.sleep(int(args[1]) / 1000.0)
        upstream = socket.create_connection(target)
        try:
            upstream.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        except OSError:
            pass  # a server refusing the request (a bad signature) may answer before reading its body
        relay_response(upstream, client, reset, port_file)
    except OSError as e:
        print("http_fault_proxy: connection ended: %s" % e, file=sys.stderr, flush=True)
    finally:
        for s in (client, upstream):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass


def main():
    target, fault, port_file = sys.argv[1], sys.argv[2].split(":"), sys.argv[3]
    host, port = target.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("http_fault_proxy: loopback targets only")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = ls.accept()
        threading.Thread(target=serve, args=(client, (host, int(port)), fault, port_file), daemon=True).start()


if __name__ == "__main__":
    main()

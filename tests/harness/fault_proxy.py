#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that injects one fault into the server->client byte stream of every
connection once `after` bytes have passed: `flip` corrupts one byte (XOR 0xFF) and goes on,
`cut` closes both sides, `stall` stops forwarding but keeps the connection open. Used to break a
real etcd snapshot stream (plain-text gRPC has no checksum of its own) at a known point.
`delay` holds the server's first bytes of each connection for `after` milliseconds, as a slow
handshake on a busy host does, then forwards everything.

usage: fault_proxy.py TARGET_HOST:PORT MODE AFTER_BYTES PORT_FILE
Writes the listening port to PORT_FILE, then serves until killed."""
import socket
import sys
import threading
import time


def pump(src, dst, fault):
    passed = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if fault is not None and fault[0] == "delay":
                if passed == 0:
                    time.sleep(fault[1] / 1000.0)
                passed += len(data)
                dst.sendall(data)
                continue
            if fault is not None and passed <= fault[1] < passed + len(data):
                mode, at = fault
                i = at - passed
                if mode == "flip":
                    data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
                elif mode == "cut":
                    dst.sendall(data[:i])
                    break
                elif mode == "stall":
                    dst.sendall(data[:i])
                    while True:  # hold both sockets open, forward nothing more
                        time.sleep(3600)
            passed += len(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    target, mode, after, port_file = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    host, port = target.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost"):
        sys.exit("fault_proxy: loopback targets only")
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    with open(port_file + ".tmp", "w") as f:
        f.write(str(ls.getsockname()[1]))
    import os
    os.rename(port_file + ".tmp", port_file)
    while True:
        client, _ = ls.accept()
        server = socket.create_connection((host, int(port)))
        threading.Thread(target=pump, args=(client, server, None), daemon=True).start()
        threading.Thread(target=pump, args=(server, client, (mode, after)), daemon=True).start()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the seed corpora of the libFuzzer targets into tests/fuzz/corpus/NAME/.

Run it again after changing it (the output is committed): python3 tests/fuzz/make_seeds.py
The record layouts follow include/tollgate_abi.h (user/decode/decode.c asserts the same sizes).
"""
import hashlib
import os
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

EV_CONNECT, EV_CLOSE, EV_PAYLOAD, EV_TLS_BIND, EV_EXEC, EV_EXIT = 1, 2, 3, 4, 5, 6
SRC_SKB, SRC_OPENSSL, SRC_GNUTLS = 1, 2, 3
OUT, IN = 0, 1
OTHER, REQUEST, RESPONSE, H2, H2_FRAMES = 0, 1, 2, 3, 4


def write(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- HTTP heads ----

REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET /v1/models?limit=10&api_key=sk-123 HTTP/1.1\r\nHost: api.openai.com\r\n"
    b"Authorization: Bearer sk-abc\r\nUser-Agent: python-httpx/0.27\r\nAccept: */*\r\n\r\n",
    b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.anthropic.com:443\r\n"
    b"Content-Type: application/json\r\nContent-Length: 27\r\nX-Api-Key: secret\r\n\r\n"
    b'{"model":"x","messages":[]}',
    b"PUT /upload HTTP/1.0\r\nHost: 10.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"CONNECT proxy.internal:3128 HTTP/1.1\r\nHost: proxy.internal:3128\r\n"
    b"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n",
    b"GET http://user:pw@[::1]:8080/a/b?x=1;token=t HTTP/1.1\r\nCookie: sid=1\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /very/long/path/that/was/cut?q=",
    b"GET /a HTTP/1.1\nHost: bare-lf\n folded: x\nBad Header: y\nContent-Length: 5\n"
    b"Content-Length: 6\n\n",
    b"PROPFIND /dav/ HTTP/1.1\r\nHost: dav\r\nDepth: 1\r\n",
    b"GET /p HTTP/1.1\r\nHost: a\r\n\r\nGET /q HTTP/1.1\r\nHost: a\r\n\r\n",
]

RESPONSES = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nok\n",
    b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 30\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.0 301 Moved\r\nLocation: /x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 200\r\n",
    b"HTTP/1.1 304 Not Modified\nETag: x\n\n",
]

QUERIES = [
    b"a=1&b=2",
    b"token=abc&page=2;api_key=k&x",
    b"password=&secret=s3cr3t&&key=1&monkey=2&sig=",
    b"=v&k=&%20=1&client_secret=zz",
]


def http_seeds():
    for r in REQUESTS:
        write("http_request", b"\x00" + r)
        write("http_request", b"\x01" + r[: len(r) // 2])
    for r in RESPONSES:
        write("http_response", b"\x00" + r)
        write("http_response", b"\x03" + r[: len(r) // 2])
    for q in QUERIES:
        write("redact", b"\xff" + q)
        write("redact", b"\x08" + q)
    for r in REQUESTS[:6]:
        write("redact", b"\x40" + r)


# ---- ring-buffer records ----

def hdr(typ, size, pid=4242, tid=4243, ts=1_000_000_000, cg=7, comm=b"agent"):
    return struct.pack("<HHIIIQQ16s", typ, size, pid, tid, 0, ts, cg, comm)


def addr(port=443, ip=(127, 0, 0, 1), family=2, proto=6):
    return struct.pack("<BBHHH16s", family, proto, port, 40000, 0, bytes(ip) + bytes(16 - len(ip)))


def connect(cookie, ts, port=443):
    return hdr(EV_CONNECT, 80, ts=ts) + struct.pack("<Q", cookie) + addr(port)


def close(cookie, ts):
    return hdr(EV_CLOSE, 56, ts=ts) + struct.pack("<Q", cookie)


def payload(conn, data, d, src, kind, ts, length=None, pid=4242, port=443, seq=0):
    cap = data if kind != OTHER else b""
    a = addr(port) if src == SRC_SKB else bytes(24)
    return (hdr(EV_PAYLOAD, 96 + len(cap), pid=pid, ts=ts) +
            struct.pack("<QIHBBB3sI", conn, length if length is not None else len(data),
                        len(cap), d, src, kind, bytes(3), seq) + a + cap)


def bind(conn, cookie, ts):
    return hdr(EV_TLS_BIND, 88, ts=ts) + struct.pack("<QQ", conn, cookie) + addr()


def exec_rec(ts):
    return hdr(EV_EXEC, 320, ts=ts) + struct.pack("<QQ", 8 << 20 | 1, 1234) + \
        b"/usr/bin/curl".ljust(256, b"\0")


TICK = None  # a control frame: flow_tick 2.5 s after the newest record


def frames(*recs):
    out = b""
    for r in recs:
        r = r or b""
        out += struct.pack("<H", len(r)) + r
    return out


def flow_seeds():
    ms = 1_000_000
    t = 1_000 * ms
    req, resp = REQUESTS[1], RESPONSES[0]
    # plaintext request/response on one socket
    write("flow", frames(connect(1, t, 80), payload(1, req, OUT, SRC_SKB, REQUEST, t + ms, port=80),
                         payload(1, resp, IN, SRC_SKB, RESPONSE, t + 2 * ms, port=80),
                         close(1, t + 3 * ms)))
    # TLS: request, bind to its socket, response head, body, close
    ssl = 0x7f00_1234_5678
    write("flow", frames(connect(2, t), payload(ssl, req, OUT, SRC_OPENSSL, REQUEST, t + ms),
                         bind(ssl, 2, t + ms + 1000),
                         payload(ssl, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", IN,
                                 SRC_OPENSSL, RESPONSE, t + 2 * ms, length=60),
                         payload(ssl, b"x" * 80, IN, SRC_OPENSSL, OTHER, t + 3 * ms),
                         close(2, t + 4 * ms)))
    # GnuTLS request never bound: held, then released by a tick; response after idle
    write("flow", frames(payload(9, REQUESTS[0], OUT, SRC_GNUTLS, REQUEST, t),
                         TICK,
                         payload(9, RESPONSES[1], IN, SRC_GNUTLS, RESPONSE, t + 5 * ms), TICK))
    # pipelined requests and responses, interim 100, then 101 upgrade
    write("flow", frames(connect(3, t, 80),
                         payload(3, REQUESTS[10], OUT, SRC_SKB, REQUEST, t + ms, port=80),
                         payload(3, RESPONSES[3] + RESPONSES[0], IN, SRC_SKB, RESPONSE, t + 2 * ms,
                                 port=80),
                         payload(3, b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", OUT, SRC_SKB,
                                 REQUEST, t + 3 * ms, port=80),
                         payload(3, RESPONSES[5], IN, SRC_SKB, RESPONSE, t + 4 * ms, port=80),
                         payload(3, b"\x81\x05hello", OUT, SRC_SKB, OTHER, t + 5 * ms, port=80),
                         close(3, t + 6 * ms)))
    # h2 preface over TLS, truncated capture, orphan response, exec/exit records
    write("flow", frames(exec_rec(t),
                         payload(5, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", OUT, SRC_OPENSSL, H2, t),
                         payload(6, REQUESTS[7], OUT, SRC_OPENSSL, REQUEST, t + ms, length=5000),
                         payload(7, RESPONSES[2], IN, SRC_OPENSSL, RESPONSE, t + ms),
                         hdr(EV_EXIT, 48, ts=t + 2 * ms), TICK))
    # more connections than the fuzz tables hold (4): eviction
    recs = []
    for i in range(8):
        recs.append(connect(100 + i, t + i * ms, 80))
        recs.append(payload(100 + i, REQUESTS[0], OUT, SRC_SKB, REQUEST, t + i * ms + 10, port=80))
    write("flow", frames(*recs, TICK))
    # malformed: size mismatch, unknown type, cap_len > len
    bad = bytearray(payload(1, REQUESTS[0], OUT, SRC_SKB, REQUEST, t))
    struct.pack_into("<I", bad, 56, 3)
    write("flow", frames(bytes(bad), hdr(99, 48), hdr(EV_CLOSE, 60) + bytes(8),
                         hdr(EV_CONNECT, 80)[:40]))


# ---- ELF files that define a TLS API (tiny: the fuzzer mutates whole files) ----

TINY_OPENSSL = r"""
__attribute__((noinline)) int ssl_read_internal(void *s, void *b, unsigned long n,
                                                unsigned long *r) { *r = n; return s && b; }
int SSL_write(void *s, const void *b, int n) { return s && b ? n : -1; }
int SSL_write_ex(void *s, const void *b, unsigned long n, unsigned long *w)
{ *w = n; return s && b; }
int SSL_read(void *s, void *b, int n)
{ unsigned long r; int ret = ssl_read_internal(s, b, (unsigned long)n, &r); return ret > 0 ? (int)r : ret; }
int SSL_read_ex(void *s, void *b, unsigned long n, unsigned long *r)
{ return ssl_read_internal(s, b, n, r); }
"""

TINY_GNUTLS = r"""
long gnutls_record_send(void *s, const void *b, unsigned long n) { return s && b ? (long)n : -1; }
long gnutls_record_recv(void *s, void *b, unsigned long n) { return s && b ? (long)n : -1; }
"""


def elf_seeds():
    with tempfile.TemporaryDirectory() as d:
        for name, src, opt in (("openssl", TINY_OPENSSL, "-O1"), ("openssl-O0", TINY_OPENSSL, "-O0"),
                               ("gnutls", TINY_GNUTLS, "-O2")):
            c, so = os.path.join(d, name + ".c"), os.path.join(d, name + ".so")
            with open(c, "w") as f:
                f.write(src)
            subprocess.run(["gcc", "-shared", "-fPIC", opt, "-nostdlib", "-s",
                            "-Wl,-z,max-page-size=16", "-Wl,-z,noseparate-code",
                            "-Wl,--hash-style=gnu", "-o", so, c], check=True)
            with open(so, "rb") as f:
                write("elf", f.read())
    with open("/usr/lib/x86_64-linux-gnu/libssl.so.3", "rb") as f:
        write("elf", f.read(4096))  # headers of the real library, cut short
    write("elf", b"\x7fELF\x02\x01\x01" + bytes(57))
    write("elf", b"#!/bin/sh\necho not an ELF file\n")


# ---- HTTP/2 (RFC 9113 frames, RFC 7541 HPACK literals without Huffman coding) ----

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2frame(typ, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([typ, flags]) + \
        struct.pack(">I", stream) + payload


def hpack(fields, index=False):
    """Literal fields, new names; with incremental indexing when @index (RFC 7541 6.2)."""
    out = b""
    for k, v in fields:
        out += bytes([0x40 if index else 0x00, len(k)]) + k + bytes([len(v)]) + v
    return out


def h2_client():
    req = [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", b"api.example.com"),
           (b":path", b"/api/customers/1?api_key=sk-1"), (b"authorization", b"Bearer x")]
    return (PREFACE + h2frame(4, 0, 0, bytes([0, 3, 0, 0, 0, 100])) +
            h2frame(1, 0x5, 1, hpack(req, index=True)) +
            h2frame(1, 0x5, 3, bytes([0x82, 0x87, 0xbe, 0x04, 3]) + b"/p2") +
            h2frame(1, 0x4 | 0x8 | 0x20, 5, bytes([2, 0, 0, 0, 0, 16]) +
                    hpack(req[:4]) + b"\0\0") +
            h2frame(3, 0, 5, bytes(4)))


def h2_server():
    return (h2frame(4, 0, 0) + h2frame(4, 1, 0) +
            h2frame(1, 0x4, 1, bytes([0x88]) + hpack([(b"content-length", b"3")])) +
            h2frame(0, 0x1, 1, b"ok\n") +
            h2frame(1, 0x0, 3, hpack([(b":status", b"429"), (b"retry-after", b"30")])) +
            h2frame(9, 0x5, 3, b""))


def http2_seeds():
    write("http2", bytes([1, 0, 63]) + h2_client())
    write("http2", bytes([1, 7, 0]) + h2_client())
    write("http2", bytes([0, 0, 63]) + h2_server())
    write("http2", bytes([0, 30, 1]) + h2_server())


def flow_h2_seeds():
    ms = 1_000_000
    t = 5_000_000_000
    ssl = 0x7f00_dead_beef
    c, sv = h2_client(), h2_server()
    write("flow", frames(payload(ssl, c[:40], OUT, SRC_OPENSSL, H2, t, seq=0),
                         payload(ssl, c[40:], OUT, SRC_OPENSSL, H2_FRAMES, t + 1, seq=1),
                         bind(ssl, 77, t + 2),
                         payload(ssl, sv, IN, SRC_OPENSSL, H2_FRAMES, t + ms, seq=0),
                         TICK, close(77, t + 3 * ms)))


if __name__ == "__main__":
    http2_seeds()
    flow_h2_seeds()
    http_seeds()
    flow_seeds()
    elf_seeds()

// SPDX-License-Identifier: GPL-2.0
/*
 * tls.bpf.c - uprobes on TLS libraries: the plaintext of HTTP over TLS.
 *
 * In:  a TLS write (SSL_write, SSL_write_ex, gnutls_record_send) with (session, buf, len)
 *      in the first three argument registers; a TLS read (SSL_read, SSL_read_ex, OpenSSL's
 *      internal read worker, gnutls_record_recv) at entry (session, buf, len[, size_t
 *      *readbytes]) and at return (the result).
 *      user/capture/tls_probe.c chooses the attach sites and passes the calling convention of each
 *      in the bpf cookie (TG_TLS_* bits): source library, int or size_t length, result
 *      returned directly or through argument 4.
 * Out: TG_EV_PAYLOAD records (source openssl/gnutls) with the first capture_bytes of each
 *      buffer that starts an HTTP message, every frame header and header block of an
 *      HTTP/2 session (HPACK needs every byte of them, user/flow/http2.c), and the length only
 *      of the other buffers of sessions that carried HTTP; tls_pending entries that let
 *      skb.bpf.c bind a session to its socket.
 *
 * Enforcement (enforce.bpf.h): a TLS write from a cgroup with a kill verdict gets the
 * process SIGKILLed before the plaintext is encrypted, so the request never leaves; an HTTP
 * request from a throttled cgroup gets a GCRA slot, and skb.bpf.c holds the socket's
 * payload until then.
 */
#include "enforce.bpf.h"
#include <bpf/bpf_tracing.h>

/* Arguments of a TLS read in progress, keyed by pid_tgid of the reading thread: written at
 * entry, deleted at return. A plain preallocated hash: an LRU hash took 28% of the entry
 * program's time in its list locking (perf, scripts/bench-overhead.sh). A thread killed
 * inside a read leaves its entry behind; user space deletes the entries of threads that
 * no longer exist (user/capture/tls_reads.c, every 10 s). Should the table still fill, further
 * reads are reported without their response and counted as TG_CNT_TLS_READS_FULL. */
struct tls_read_args {
	__u64 conn_id;
	__u64 buf;
	__u64 readbytes; /* size_t * for the _ex form, else 0 */
	__u64 cookie;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tls_read_args);
} tls_reads SEC(".maps");

/* Report the piece [start, end) of @buf with its first bytes (up to capture_bytes), or
 * only its length when @kind is OTHER (not the start of an HTTP message). A whole TLS
 * buffer is the piece [0, len) with seq 0. */
static __always_inline void emit_piece(__u64 conn_id, __u64 buf, __u64 start, __u64 end,
				       int dir, __u64 cookie, int kind, __u32 seq)
{
	struct tg_payload_buf *b;
	struct tg_payload_event *ev;
	__u32 zero = 0;
	__u64 n = end - start, cap;

	b = bpf_map_lookup_elem(&payload_scratch, &zero);
	if (!b)
		return;
	ev = TG_PBUF_EV(b);
	cap = kind == TG_KIND_OTHER ? 0 : tg_cap_len(n);
	if (cap && bpf_probe_read_user(TG_PBUF_DATA(b), cap, (const void *)(buf + start))) {
		tg_count(TG_CNT_READ_FAULT);
		cap = 0;
	}
	tg_fill_hdr(&ev->hdr, TG_EV_PAYLOAD, sizeof(*ev) + cap);
	ev->conn_id = conn_id;
	ev->len = n;
	ev->cap_len = cap;
	ev->dir = dir;
	ev->source = cookie & TG_TLS_SRC_MASK;
	ev->kind = kind;
	__builtin_memset(ev->_pad0, 0, sizeof(ev->_pad0));
	ev->seq = seq;
	__builtin_memset(&ev->addr, 0, sizeof(ev->addr));
	tg_output(ev, sizeof(*ev) + cap);
}

/* ---- HTTP/2: frames walked, so that every frame header and header block is captured ---- */

#define TG_H2_PREFACE_LEN 24 /* "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 3.4) */
#define TG_H2_WALK_MAX 64    /* frames walked per buffer */
#define TG_H2_PIECES 16      /* pieces per buffer */

/* One buffer's walk over its HTTP/2 frames (RFC 9113 4.1: 24-bit length, 8-bit type).
 * A per-CPU map, not the stack: values loaded from a map are plain scalars to the
 * verifier, so the paths of the walk end in states it can prune (kept on the stack, the
 * walk was too large to verify). */
struct h2_walk {
	__u64 start[TG_H2_PIECES]; /* where each piece starts */
	__u64 n;       /* pieces */
	__u64 pos;     /* the next frame header */
	__u64 cap_end; /* end of the last piece's captured bytes */
	__u64 cut;     /* 1 + where a frame header cut by the end of the buffer starts; 0: none */
	__u64 done;    /* 1: reached the end; 2: lost (a read fault, too many pieces) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct h2_walk);
} h2_walks SEC(".maps");

/* One frame: a frame header, or a header block (HEADERS, PUSH_PROMISE, CONTINUATION)
 * with its header, that the last piece does not capture whole starts a new piece.
 * Returns non-zero when the walk is over. */
static __always_inline int h2_walk_step(struct h2_walk *m, __u64 buf, __u64 len)
{
	__u64 pos = m->pos, flen, need, k;
	__u8 fh[4];
	int cut;

	if (pos >= len) {
		m->done = 1;
		return 1;
	}
	cut = len - pos < 9;
	if (!cut) {
		if (bpf_probe_read_user(fh, sizeof(fh), (const void *)(buf + pos))) {
			m->done = 2;
			return 1;
		}
		flen = (__u64)fh[0] << 16 | (__u64)fh[1] << 8 | fh[2];
		need = 9 + (fh[3] == 0x1 || fh[3] == 0x5 || fh[3] == 0x9 ? flen : 0);
	} else {
		flen = 0;
		need = len - pos; /* the cut header is kept for the next buffer */
	}
	k = m->n;
	if (pos + need > m->cap_end && pos > m->start[(k - 1) & (TG_H2_PIECES - 1)]) {
		if (k >= TG_H2_PIECES) {
			m->done = 2;
			return 1;
		}
		m->start[k] = pos;
		m->n = k + 1;
		m->cap_end = pos + (len - pos < capture_bytes ? len - pos : capture_bytes);
	}
	if (cut) {
		m->cut = pos + 1;
		m->pos = len;
		m->done = 1;
		return 1;
	}
	m->pos = pos + 9 + flen;
	return 0;
}

/*
 * emit_h2 - report one buffer of an HTTP/2 session as pieces (tollgate_abi.h), so that
 * user/flow/http2.c sees every frame header and, up to capture_bytes each, every header
 * block, while DATA payloads beyond them are only counted.
 * @w: the direction's walk state; @kind: H2_PREFACE (the client's first buffer) or
 * H2_FRAMES. A frame header cut by the buffer's end is finished from the next buffer. A
 * read fault, more than TG_H2_WALK_MAX frames or TG_H2_PIECES pieces in one buffer, or a
 * cut header that the next buffer is too short to finish loses the walk: one piece per
 * buffer from then on (user space notices the gap and stops decoding the direction).
 */
static __always_inline void emit_h2(struct tg_h2_walk *w, __u64 conn_id, const void *buf,
				    __u64 len, int dir, __u64 cookie, int kind)
{
	struct h2_walk *m;
	__u32 zero = 0, seq = w->seq;

	m = bpf_map_lookup_elem(&h2_walks, &zero);
	if (!m)
		return;
	m->start[0] = 0;
	m->n = 1;
	m->cap_end = len < capture_bytes ? len : capture_bytes;
	m->pos = w->next;
	m->cut = 0;
	m->done = 0;
	if (!w->lost && w->have) {
		/* the rest of a frame header cut by the last buffer opens this one */
		__u64 have = w->have & 7, rest = 9 - have;
		__u8 fh[4] = {};
		if (len < rest) {
			w->lost = 1;
		} else {
			for (__u64 j = 0; j < 4; j++) {
				if (j < have)
					fh[j] = w->part[j & 7];
				else if (bpf_probe_read_user(&fh[j], 1, (const __u8 *)buf + j - have))
					w->lost = 1;
			}
			m->pos = rest + ((__u64)fh[0] << 16 | (__u64)fh[1] << 8 | fh[2]);
		}
		w->have = 0;
	}
	if (!w->lost) {
		for (int i = 0; i < TG_H2_WALK_MAX; i++)
			if (h2_walk_step(m, (__u64)buf, len))
				break;
		if (m->done != 1)
			w->lost = 1;
	}
	if (w->lost) {
		m->n = 1;
		m->cut = 0;
	}
	for (__u32 i = 0; i < TG_H2_PIECES; i++) {
		__u64 n = m->n;
		if (i >= n)
			break;
		__u64 st = m->start[i], end = i + 1 < n ? m->start[(i + 1) & (TG_H2_PIECES - 1)] : len;
		emit_piece(conn_id, (__u64)buf, st, end, dir, cookie,
			   i ? TG_KIND_H2_FRAMES : kind, seq++);
	}
	w->seq = seq;
	w->next = m->pos > len ? m->pos - len : 0;
	if (m->cut) {
		__u64 at = m->cut - 1, n = len > at ? TG_CLAMP(len - at, 8) : 0;
		if (n && !bpf_probe_read_user(w->part, n, (const __u8 *)buf + at))
			w->have = n;
		else
			w->lost = 1;
	}
}

/*
 * emit_tls - report one plaintext buffer of a TLS session.
 * @conn_id: session address; @buf: user address of the plaintext; @len: its bytes
 * @v: the verdict on the writer's cgroup (tg_verdict_current at @now, CLOCK_MONOTONIC ns),
 *     looked up once by the caller; NULL and 0 for reads, which no verdict shapes
 */
static __always_inline void emit_tls(__u64 conn_id, const void *buf, __u64 len, int dir,
				     __u64 cookie, struct tg_verdict *v, __u64 now)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tg_tls_conn_key k = {.conn_id = conn_id, .tgid = id >> 32};
	struct tg_tls_conn *c, nc = {};
	__u8 peek[TG_PEEK_LEN] = {};
	__u64 n;
	int kind;

	if (len == 0 || len > 0x7fffffff)
		return;
	n = TG_CLAMP(len, TG_PEEK_LEN);
	if (bpf_probe_read_user(peek, n, buf)) {
		tg_count(TG_CNT_READ_FAULT);
		return;
	}
	kind = tg_classify(peek, n);
	c = bpf_map_lookup_elem(&tls_conns, &k);
	if (!c) {
		if (dir != TG_DIR_OUT || (kind != TG_KIND_REQUEST && kind != TG_KIND_H2_PREFACE)) {
			tg_count(TG_CNT_TLS_NON_HTTP);
			return;
		}
		if (kind == TG_KIND_H2_PREFACE) {
			nc.h2 = 1;
			nc.walk[TG_DIR_OUT].next = TG_H2_PREFACE_LEN;
		}
		bpf_map_update_elem(&tls_conns, &k, &nc, BPF_ANY);
		c = bpf_map_lookup_elem(&tls_conns, &k);
		if (!c)
			return;
	} else if (dir == TG_DIR_OUT && kind == TG_KIND_H2_PREFACE) {
		/* a new connection on a reused session address */
		c->h2 = 1;
		__builtin_memset(c->walk, 0, sizeof(c->walk));
		c->walk[TG_DIR_OUT].next = TG_H2_PREFACE_LEN;
	} else if (c->h2) {
		kind = TG_KIND_H2_FRAMES;
	}
	__u64 hold = 0;
	/* a request: an HTTP/1 request line, or an HTTP/2 write that starts with a HEADERS
	 * frame (type 1, RFC 9113 6.2) where the walk says a frame starts */
	if (dir == TG_DIR_OUT &&
	    (kind == TG_KIND_REQUEST || (kind == TG_KIND_H2_FRAMES && n >= 9 && peek[3] == 1 &&
					 !c->walk[TG_DIR_OUT].next && !c->walk[TG_DIR_OUT].have))) {
		if (v && v->action == TG_VERDICT_THROTTLE) {
			hold = tg_gcra_shape(&v->req_tat, now, v->interval_ns, v->tolerance_ns);
			if (hold > now) {
				tg_count(TG_CNT_REQ_DELAYED);
				if (c->bound)
					bpf_map_update_elem(&holds, &c->cookie, &hold, BPF_ANY);
			} else {
				hold = 0;
			}
		}
	}
	if (dir == TG_DIR_OUT && !c->bound) {
		struct tg_tls_pending p = {.conn_id = conn_id, .ts_ns = now,
					   .hold_until = hold};
		bpf_map_update_elem(&tls_pending, &id, &p, BPF_ANY);
	}

	if (kind == TG_KIND_H2_PREFACE || kind == TG_KIND_H2_FRAMES) {
		emit_h2(&c->walk[dir & 1], conn_id, buf, len, dir, cookie, kind);
		return;
	}
	emit_piece(conn_id, (__u64)buf, 0, len, dir, cookie, kind, 0);
}

/* Length argument as the site's calling convention has it (int or size_t). */
static __always_inline __u64 arg_len(__u64 raw, __u64 cookie)
{
	if (cookie & TG_TLS_NUM32) {
		__s32 v = (__s32)raw;
		return v < 0 ? 0 : (__u64)v;
	}
	return raw;
}

/*
 * Entry of a TLS write or read (one program for both, so each binary needs one entry link
 * and one return link per process): the cookie's TG_TLS_READ bit tells them apart.
 * Write: report the buffer now. Read: remember the arguments for tg_tls_exit.
 */
SEC("uprobe")
int BPF_KPROBE(tg_tls_enter, void *session, const void *buf, __u64 num, void *readbytes)
{
	__u64 cookie;
	__u64 id;
	struct tls_read_args a;

	if (empty_tls_probes)
		return 0;
	cookie = bpf_get_attach_cookie(ctx);
	if (!tg_watched())
		return 0;
	if (!(cookie & TG_TLS_READ)) {
		__u64 now = bpf_ktime_get_ns();
		struct tg_verdict *v = tg_verdict_current(now);
		if (v && v->action == TG_VERDICT_KILL) {
			/* before the plaintext is encrypted: this request never leaves */
			bpf_send_signal(9 /* SIGKILL */);
			tg_emit_blocked(NULL, TG_BLOCK_KILL, TG_HOOK_TLS, 0);
			return 0;
		}
		emit_tls((__u64)session, buf, arg_len(num, cookie), TG_DIR_OUT, cookie, v, now);
		return 0;
	}
	id = bpf_get_current_pid_tgid();
	a.conn_id = (__u64)session;
	a.buf = (__u64)buf;
	a.readbytes = (cookie & TG_TLS_RET_PTR) ? (__u64)readbytes : 0;
	a.cookie = cookie;
	/* preallocated, BPF_ANY: in practice this fails only when the table is full (-E2BIG) */
	if (bpf_map_update_elem(&tls_reads, &id, &a, BPF_ANY))
		tg_count(TG_CNT_TLS_READS_FULL);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_tls_exit, long ret)
{
	__u64 id;
	struct tls_read_args *a;
	__u64 got = 0;

	if (empty_tls_probes)
		return 0;
	id = bpf_get_current_pid_tgid();
	a = bpf_map_lookup_elem(&tls_reads, &id);
	if (!a)
		return 0;
	if (a->readbytes) {
		/* _ex form: 1 on success, bytes in *readbytes */
		if ((int)ret == 1 && bpf_probe_read_user(&got, sizeof(got), (void *)a->readbytes))
			got = 0;
		if ((int)ret != 1)
			got = 0;
	} else if (a->cookie & TG_TLS_NUM32) {
		got = (int)ret > 0 ? (__u64)(int)ret : 0;
	} else {
		got = ret > 0 ? (__u64)ret : 0;
	}
	if (got)
		emit_tls(a->conn_id, (const void *)a->buf, got, TG_DIR_IN, a->cookie, NULL, 0);
	bpf_map_delete_elem(&tls_reads, &id);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * tls.bpf.c - uprobes on TLS libraries: the plaintext of HTTP over TLS.
 *
 * In:  a TLS write (SSL_write, SSL_write_ex, gnutls_record_send) with (session, buf, len)
 *      in the first three argument registers; a TLS read (SSL_read, SSL_read_ex, OpenSSL's
 *      internal read worker, gnutls_record_recv) at entry (session, buf, len[, size_t
 *      *readbytes]) and at return (the result).
 *      user/tls_probe.c chooses the attach sites and passes the calling convention of each
 *      in the bpf cookie (TG_TLS_* bits): source library, int or size_t length, result
 *      returned directly or through argument 4.
 * Out: TG_EV_PAYLOAD records (source openssl/gnutls) with the first capture_bytes of each
 *      buffer that starts an HTTP message, and the length only of the other buffers of
 *      sessions that carried HTTP; tls_pending entries that let skb.bpf.c bind a session to
 *      its socket.
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
 * no longer exist (user/tls_reads.c, every 10 s). Should the table still fill, further
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
	struct tg_payload_buf *b;
	struct tg_payload_event *ev;
	__u8 peek[TG_PEEK_LEN] = {};
	__u32 zero = 0;
	__u64 n;
	__u64 cap = 0;
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
		bpf_map_update_elem(&tls_conns, &k, &nc, BPF_ANY);
		c = &nc;
	}
	__u64 hold = 0;
	if (dir == TG_DIR_OUT && kind == TG_KIND_REQUEST) {
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

	b = bpf_map_lookup_elem(&payload_scratch, &zero);
	if (!b)
		return;
	ev = TG_PBUF_EV(b);
	if (kind != TG_KIND_OTHER) {
		cap = tg_cap_len(len);
		if (cap && bpf_probe_read_user(TG_PBUF_DATA(b), cap, buf)) {
			tg_count(TG_CNT_READ_FAULT);
			cap = 0;
		}
	}
	tg_fill_hdr(&ev->hdr, TG_EV_PAYLOAD, sizeof(*ev) + cap);
	ev->conn_id = conn_id;
	ev->len = len;
	ev->cap_len = cap;
	ev->dir = dir;
	ev->source = cookie & TG_TLS_SRC_MASK;
	ev->kind = kind;
	__builtin_memset(ev->_pad0, 0, sizeof(ev->_pad0));
	__builtin_memset(&ev->addr, 0, sizeof(ev->addr));
	tg_output(ev, sizeof(*ev) + cap);
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

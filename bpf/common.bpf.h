/* SPDX-License-Identifier: GPL-2.0 */
/*
 * common.bpf.h - maps, load-time settings and helpers shared by every tollgate BPF program.
 *
 * Each bpf/<family>.bpf.c includes this header; the definitions are __weak so that the static
 * linker (bpftool gen object) merges them into one ring buffer, one set of counters, one
 * configuration. Maps are named by role.
 */
#ifndef TOLLGATE_COMMON_BPF_H
#define TOLLGATE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tollgate_abi.h"
#include "http_classify.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#define TG_ETH_P_IP 0x0800
#define TG_ETH_P_IPV6 0x86DD

/* ---- load-time settings (set by user/capture/loader.c before load) ---- */

/* Payload bytes copied per HTTP message start, in [TG_CAP_MIN, TG_CAP_MAX]. */
const volatile __u32 capture_bytes __weak = TG_CAP_DEFAULT;
/* 1: every cgroup is watched (host-wide mode); 0: only watched_cgroups and descendants. */
const volatile __u8 scope_all __weak = 1;
/* Wake the reader only once this many bytes wait in the ring buffer (user space also drains
 * it every few ms): waking it for every record costs an irq_work self-IPI per record, which
 * measured 5-20 us per program run on this VM instead of 0.5-2 us. */
const volatile __u32 ringbuf_wakeup_bytes __weak = 65536;
/* 1: the TLS probes return at once (scripts/bench-overhead.sh's "floor": the cost of the
 * traps at tollgate's sites, without tollgate's work). */
const volatile __u8 empty_tls_probes __weak = 0;
/* Bit L set: some watched cgroup sits at level L of the hierarchy (root = level 0). */
const volatile __u32 watch_level_mask __weak = 0;

/* ---- maps ---- */

/* The one ring buffer of records (struct tg_hdr ...). Size set at load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps") __weak;

/* Per-CPU counters, indexed by enum tg_counter. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps") __weak;

/* cgroup ids the user asked to watch (scope_all == 0); value unused. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u8);
} watched_cgroups SEC(".maps") __weak;

/* Scratch space to assemble a payload record before bpf_ringbuf_output() copies exactly
 * sizeof(header) + cap_len bytes of it (copy only what is needed). */
struct tg_payload_buf {
	__u8 raw[sizeof(struct tg_payload_event) + TG_CAP_MAX];
};

#define TG_PBUF_EV(b) ((struct tg_payload_event *)(b)->raw)
#define TG_PBUF_DATA(b) ((b)->raw + sizeof(struct tg_payload_event))

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_payload_buf);
} payload_scratch SEC(".maps") __weak;

/* TLS sessions seen carrying HTTP, keyed by (tgid, SSL*). Reads on other sessions are
 * only counted; bound != 0 once the session's socket is known (tg_tls_bind_event). */
struct tg_tls_conn_key {
	__u64 conn_id;
	__u32 tgid;
	__u32 _pad0;
};

/* Where the HTTP/2 frames of one direction of a session stand (tls.bpf.c). */
struct tg_h2_walk {
	__u32 next;   /* bytes from the start of the next buffer to the next frame header */
	__u32 seq;    /* pieces reported so far */
	__u8 part[8]; /* the start of a frame header cut by the end of the last buffer */
	__u8 have;    /* bytes in part (0: none) */
	__u8 lost;    /* the walk lost its place: buffers are reported as prefixes only */
	__u8 _pad0[6];
};

struct tg_tls_conn {
	__u8 bound;
	__u8 h2;      /* began with the HTTP/2 preface: every later buffer is captured */
	__u8 _pad0[6];
	__u64 cookie; /* the socket, once bound */
	struct tg_h2_walk walk[2]; /* by enum tg_dir */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_tls_conn_key);
	__type(value, struct tg_tls_conn);
} tls_conns SEC(".maps") __weak;

/* The TLS session bound to a socket (socket cookie -> tls_conns key): when the socket is
 * released, sock.bpf.c forgets the session. Without this a new session that reuses a freed
 * SSL* (a client reconnecting after the server closed a keep-alive connection) would
 * inherit the old socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tg_tls_conn_key);
} sock_tls SEC(".maps") __weak;

/* A TLS write whose socket is not known yet, keyed by pid_tgid of the writing thread;
 * the next TCP payload this thread sends binds the session to that socket. */
struct tg_tls_pending {
	__u64 conn_id;
	__u64 ts_ns;
	__u64 hold_until; /* a throttle gave this write a later slot (enforce.bpf.h) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct tg_tls_pending);
} tls_pending SEC(".maps") __weak;

/* Plaintext TCP connections that carried an HTTP request, keyed by socket cookie: only
 * their ingress payloads are reported; the sequence numbers tell retransmissions apart. */
struct tg_skb_flow {
	__u32 snd_nxt; /* next egress sequence number (seq + len of the newest payload) */
	__u32 rcv_nxt; /* next ingress sequence number */
	__u8 seen_in;  /* rcv_nxt is valid */
	__u8 _pad0[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tg_skb_flow);
} skb_flows SEC(".maps") __weak;

char LICENSE[] SEC("license") __weak = "GPL";

/* ---- helpers ---- */

static __always_inline void tg_count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Is @d (16 bytes, network order) an IPv4-mapped IPv6 address, ::ffff:a.b.c.d (RFC 4291
 * section 2.5.5.2)? A dual-stack AF_INET6 socket connecting to one runs connect6/sendmsg6
 * but sends IPv4 packets to a.b.c.d (bytes 12-15). */
static __always_inline int tg_v4mapped(const __u8 *d)
{
	__u32 w[3];

	__builtin_memcpy(w, d, sizeof(w));
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

/* Fill the common header from the current task. */
static __always_inline void tg_fill_hdr(struct tg_hdr *h, __u16 type, __u16 size)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->size = size;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->_pad0 = 0;
	h->ts_ns = bpf_ktime_get_ns();
	h->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

/* Copy a record into the ring buffer; a failure is counted, never silent. The reader is
 * woken by the record that crosses the watermark, not by every record above it. */
static __always_inline void tg_output(void *rec, __u64 size)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = avail < ringbuf_wakeup_bytes && avail + size >= ringbuf_wakeup_bytes
			      ? BPF_RB_FORCE_WAKEUP
			      : BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_output(&events, rec, size, flags))
		tg_count(TG_CNT_RINGBUF_DROPS);
}

/*
 * tg_watched - is the current task in a watched cgroup or one of its descendants?
 * In host-wide mode everything is watched. Otherwise the ancestors of the current cgroup
 * at the levels in watch_level_mask are looked up in watched_cgroups.
 */
static __always_inline int tg_watched(void)
{
	if (scope_all)
		return 1;
#pragma unroll
	for (int l = 0; l < TG_MAX_CGROUP_LEVEL; l++) {
		if (!(watch_level_mask & (1U << l)))
			continue;
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		if (id && bpf_map_lookup_elem(&watched_cgroups, &id))
			return 1;
	}
	return 0;
}

/* min(v, max) computed in one register the verifier can follow: clang otherwise tends to
 * test a zero-extended copy and pass the unchecked original to the helper. */
#define TG_CLAMP(v, max)                                                                   \
	({                                                                                 \
		__u64 __v = (v);                                                           \
		asm volatile("if %[x] <= %[m] goto +1; %[x] = %[m]"                        \
			     : [x] "+r"(__v)                                               \
			     : [m] "i"(max));                                              \
		__v;                                                                       \
	})

/* Bytes of a @len-byte payload to copy: min(len, capture_bytes), in [0, TG_CAP_MAX], with
 * the bound visible to the verifier at the point of use. */
static __always_inline __u64 tg_cap_len(__u64 len)
{
	__u64 cap = capture_bytes;

	if (len < cap)
		cap = len;
	return TG_CLAMP(cap, TG_CAP_MAX);
}

#endif /* TOLLGATE_COMMON_BPF_H */

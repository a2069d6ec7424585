// SPDX-License-Identifier: GPL-2.0
/*
 * skb.bpf.c - cgroup_skb/egress and cgroup_skb/ingress: plaintext HTTP/1.x on TCP, and
 * bytes and packets in/out per cgroup.
 *
 * In:  every IP packet a socket of an attached cgroup sends or receives (skb data starts
 *      at the IP header).
 * Out: TG_EV_PAYLOAD records (source skb): the first capture_bytes of a TCP payload that
 *      starts an HTTP request (egress) or response (ingress), and the length only of the
 *      other payloads on connections known to carry HTTP; TG_EV_TLS_BIND records when a
 *      thread sends its first TCP payload after a TLS write (user/flow/flow.c learns the TLS
 *      session's 5-tuple from it); per-cgroup counters in map cgroup_traffic.
 *
 * Enforcement (enforce.bpf.h): egress of a cgroup with a kill verdict is dropped; a
 * throttle verdict gives each plaintext HTTP request a slot (GCRA, tokenbucket.h), and the
 * TCP payload of a socket whose request must wait is dropped until its slot: TCP resends it
 * (tail loss probe, then RTO), so the request reaches the server no earlier than its slot.
 * Otherwise both programs return 1 (pass).
 */
#include "enforce.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* cgroup id */
	__type(value, struct tg_traffic);
} cgroup_traffic SEC(".maps");

/* What the IP and TCP headers of a packet say. */
struct pkt {
	struct tg_addr remote; /* the peer: destination on egress, source on ingress */
	__u32 seq;
	__u32 off; /* offset of the TCP payload from the IP header */
	__u32 len; /* bytes of TCP payload */
};

/* A TLS write is bound to the next TCP payload of the same thread within this time. */
#define TLS_BIND_WINDOW_NS (100ULL * 1000 * 1000)

/*
 * parse_tcp - find the TCP payload of an IPv4 or IPv6 packet.
 * Returns 1 with @p filled for TCP, 0 for other protocols and fragments, -1 when the
 * headers cannot be read (counted as TG_CNT_SKB_UNPARSED).
 */
static __always_inline int parse_tcp(struct __sk_buff *skb, int egress, struct pkt *p)
{
	struct tcphdr th;
	__u32 l3len;

	__builtin_memset(&p->remote, 0, sizeof(p->remote));
	if (skb->protocol == bpf_htons(TG_ETH_P_IP)) {
		struct iphdr ip;
		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
			return -1;
		if (ip.protocol != TG_IPPROTO_TCP)
			return 0;
		if (ip.frag_off & bpf_htons(0x3fff)) /* MF or a fragment offset */
			return 0;
		l3len = ip.ihl * 4;
		if (l3len < sizeof(ip))
			return -1;
		p->remote.family = AF_INET;
		__builtin_memcpy(p->remote.daddr, egress ? (void *)&ip.daddr : (void *)&ip.saddr, 4);
	} else if (skb->protocol == bpf_htons(TG_ETH_P_IPV6)) {
		struct ipv6hdr ip6;
		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
			return -1;
		if (ip6.nexthdr != TG_IPPROTO_TCP) /* extension headers are not followed */
			return 0;
		l3len = sizeof(ip6);
		p->remote.family = AF_INET6;
		__builtin_memcpy(p->remote.daddr, egress ? (void *)&ip6.daddr : (void *)&ip6.saddr,
				 16);
	} else {
		return 0;
	}
	if (bpf_skb_load_bytes(skb, l3len, &th, sizeof(th)))
		return -1;
	p->remote.protocol = TG_IPPROTO_TCP;
	p->remote.dport = bpf_ntohs(egress ? th.dest : th.source);
	p->remote.sport = bpf_ntohs(egress ? th.source : th.dest);
	p->seq = bpf_ntohl(th.seq);
	p->off = l3len + th.doff * 4;
	if (th.doff < 5 || p->off > skb->len)
		return -1;
	p->len = skb->len - p->off;
	return 1;
}

static __always_inline void count_traffic(struct __sk_buff *skb, int egress)
{
	__u64 cg = bpf_skb_cgroup_id(skb);
	struct tg_traffic *t = bpf_map_lookup_elem(&cgroup_traffic, &cg);

	if (!t) {
		struct tg_traffic z = {};
		bpf_map_update_elem(&cgroup_traffic, &cg, &z, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&cgroup_traffic, &cg);
		if (!t)
			return;
	}
	/* per-CPU value: plain adds are safe */
	if (egress) {
		t->bytes_out += skb->len;
		t->packets_out++;
	} else {
		t->bytes_in += skb->len;
		t->packets_in++;
	}
}

/* Emit a TG_EV_PAYLOAD record for the TCP payload described by @p. */
static __always_inline void emit_skb_payload(struct __sk_buff *skb, struct pkt *p, __u64 cookie,
					     int egress, int kind)
{
	__u32 zero = 0;
	__u64 cap = 0;
	struct tg_payload_buf *b = bpf_map_lookup_elem(&payload_scratch, &zero);

	struct tg_payload_event *ev;

	if (!b)
		return;
	ev = TG_PBUF_EV(b);
	if (kind != TG_KIND_OTHER) {
		cap = tg_cap_len(p->len);
		if (cap == 0 || bpf_skb_load_bytes(skb, p->off, TG_PBUF_DATA(b), cap))
			cap = 0;
	}
	if (egress && bpf_get_current_cgroup_id() == bpf_skb_cgroup_id(skb)) {
		/* sent from the owner's own context: the current task is the sender */
		tg_fill_hdr(&ev->hdr, TG_EV_PAYLOAD, 0);
	} else {
		/* softirq or another task: user space attributes it by socket cookie */
		__builtin_memset(&ev->hdr, 0, sizeof(ev->hdr));
		ev->hdr.type = TG_EV_PAYLOAD;
		ev->hdr.ts_ns = bpf_ktime_get_ns();
		ev->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
	}
	ev->hdr.size = sizeof(*ev) + cap;
	ev->conn_id = cookie;
	ev->len = p->len;
	ev->cap_len = cap;
	ev->dir = egress ? TG_DIR_OUT : TG_DIR_IN;
	ev->source = TG_SRC_SKB;
	ev->kind = kind;
	__builtin_memset(ev->_pad0, 0, sizeof(ev->_pad0));
	ev->addr = p->remote;
	tg_output(ev, sizeof(*ev) + cap);
}

/* A thread that just wrote TLS plaintext now sends TCP payload: bind the session. Returns
 * the time before which this payload must not leave (a throttled first request), or 0. */
static __always_inline __u64 bind_tls(struct __sk_buff *skb, struct pkt *p, __u64 cookie)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct tg_tls_pending *pend;
	struct tg_tls_bind_event ev;
	struct tg_tls_conn_key k = {};
	struct tg_tls_conn *c;
	__u64 hold = 0;

	if (bpf_get_current_cgroup_id() != bpf_skb_cgroup_id(skb))
		return 0;
	pend = bpf_map_lookup_elem(&tls_pending, &id);
	if (!pend)
		return 0;
	if (bpf_ktime_get_ns() - pend->ts_ns < TLS_BIND_WINDOW_NS) {
		tg_fill_hdr(&ev.hdr, TG_EV_TLS_BIND, sizeof(ev));
		ev.conn_id = pend->conn_id;
		ev.cookie = cookie;
		ev.addr = p->remote;
		tg_output(&ev, sizeof(ev));
		k.conn_id = pend->conn_id;
		k.tgid = id >> 32;
		c = bpf_map_lookup_elem(&tls_conns, &k);
		if (c) {
			c->cookie = cookie;
			c->bound = 1;
			bpf_map_update_elem(&sock_tls, &cookie, &k, BPF_ANY);
		}
		hold = pend->hold_until;
	}
	bpf_map_delete_elem(&tls_pending, &id);
	return hold;
}

/* Hold this socket's payload until @until (CLOCK_MONOTONIC): drop now, TCP resends. */
static __always_inline int hold_back(__u64 cookie, __u64 until)
{
	bpf_map_update_elem(&holds, &cookie, &until, BPF_ANY);
	tg_count(TG_CNT_HOLD_DROPS);
	return 0;
}

static __always_inline int on_skb(struct __sk_buff *skb, int egress)
{
	struct tg_skb_flow *f, nf = {};
	__u8 peek[TG_PEEK_LEN] = {};
	struct pkt p;
	__u64 cookie;
	__u64 n;
	int kind, r;

	__u64 now = bpf_ktime_get_ns(), *held, hold = 0;
	struct tg_verdict *v = egress ? tg_verdict_skb(skb, now) : NULL;

	if (v && v->action == TG_VERDICT_KILL) {
		tg_count(TG_CNT_KILL_DROPS);
		return 0;
	}
	count_traffic(skb, egress);
	r = parse_tcp(skb, egress, &p);
	if (r < 0)
		tg_count(TG_CNT_SKB_UNPARSED);
	if (r <= 0 || p.len == 0)
		return 1;
	cookie = bpf_get_socket_cookie(skb);
	if (egress) {
		/* holds are written only under a throttle verdict: with no verdict in force
		 * nothing is held (a verdict lifted releases its holds) */
		held = verdict_count ? bpf_map_lookup_elem(&holds, &cookie) : NULL;
		if (held) {
			if (now < *held) {
				tg_count(TG_CNT_HOLD_DROPS);
				return 0;
			}
			bpf_map_delete_elem(&holds, &cookie);
		}
		hold = bind_tls(skb, &p, cookie);
		if (hold > now)
			return hold_back(cookie, hold);
	}

	f = bpf_map_lookup_elem(&skb_flows, &cookie);
	if (f) {
		if (egress && (__s32)(p.seq - f->snd_nxt) < 0) {
			tg_count(TG_CNT_SKB_RETRANS);
			return 1;
		}
		if (!egress && f->seen_in && (__s32)(p.seq + p.len - f->rcv_nxt) <= 0) {
			tg_count(TG_CNT_SKB_RETRANS);
			return 1;
		}
	} else if (!egress) {
		return 1; /* ingress on a connection that never sent an HTTP request */
	}

	n = TG_CLAMP(p.len, TG_PEEK_LEN);
	if (n == 0 || bpf_skb_load_bytes(skb, p.off, peek, n))
		return 1;
	kind = tg_classify(peek, n);

	if (!f) {
		/* egress without flow state: only an HTTP request or h2 preface starts one */
		if (kind != TG_KIND_REQUEST && kind != TG_KIND_H2_PREFACE)
			return 1;
		nf.snd_nxt = p.seq + p.len;
		bpf_map_update_elem(&skb_flows, &cookie, &nf, BPF_ANY);
	} else if (egress) {
		f->snd_nxt = p.seq + p.len;
	} else {
		f->rcv_nxt = p.seq + p.len;
		f->seen_in = 1;
	}
	emit_skb_payload(skb, &p, cookie, egress, kind);
	if (v && v->action == TG_VERDICT_THROTTLE && kind == TG_KIND_REQUEST) {
		hold = tg_gcra_shape(&v->req_tat, now, v->interval_ns, v->tolerance_ns);
		if (hold > now) {
			tg_count(TG_CNT_REQ_DELAYED);
			return hold_back(cookie, hold);
		}
	}
	return 1;
}

SEC("cgroup_skb/egress")
int tg_skb_egress(struct __sk_buff *skb)
{
	return on_skb(skb, 1);
}

SEC("cgroup_skb/ingress")
int tg_skb_ingress(struct __sk_buff *skb)
{
	return on_skb(skb, 0);
}

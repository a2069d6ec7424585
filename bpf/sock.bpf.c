// SPDX-License-Identifier: GPL-2.0
/*
 * sock.bpf.c - socket-level hooks: cgroup/connect4,6, cgroup/sendmsg4,6, cgroup/sock_release.
 *
 * In:  connect() and unconnected UDP sendmsg() calls of tasks in the attached cgroups,
 *      and the release of their sockets.
 * Out: TG_EV_CONNECT and TG_EV_CLOSE records in the ring buffer; per (cgroup, destination)
 *      UDP send counts in map udp_sends (read by user space on its tick).
 *
 * They also enforce (enforce.bpf.h): a kill verdict or a network deny rule refuses the
 * connect or send, a throttle verdict polices TCP connects; returning 0 makes the task's
 * connect()/sendmsg() fail with EPERM. Otherwise they return 1 (allow).
 */
#include "enforce.bpf.h"

/* Sockets we reported a connect for: their release is reported as TG_EV_CLOSE. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);  /* socket cookie */
	__type(value, __u64); /* cgroup id at connect */
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tg_udp_key);
	__type(value, struct tg_udp_val);
} udp_sends SEC(".maps");

/* Fill @a from a sock_addr context (user_* fields are the destination being connected to).
 * @v6 is a constant: connect4/sendmsg4 contexts must not touch user_ip6 and vice versa.
 * An IPv4-mapped destination (::ffff:a.b.c.d on a dual-stack socket) is reported as the
 * IPv4 address a.b.c.d: that is where its packets go, and IPv4 network rules apply to it. */
static __always_inline void sockaddr_dest(struct bpf_sock_addr *ctx, struct tg_addr *a, int v6)
{
	__builtin_memset(a, 0, sizeof(*a));
	a->family = v6 ? AF_INET6 : AF_INET;
	a->protocol = ctx->protocol;
	a->dport = bpf_ntohs((__u16)ctx->user_port);
	if (!v6) {
		__u32 ip = ctx->user_ip4;
		__builtin_memcpy(a->daddr, &ip, 4);
	} else {
		__u32 ip6[4];
		ip6[0] = ctx->user_ip6[0];
		ip6[1] = ctx->user_ip6[1];
		ip6[2] = ctx->user_ip6[2];
		ip6[3] = ctx->user_ip6[3];
		if (ip6[0] == 0 && ip6[1] == 0 && ip6[2] == bpf_htonl(0x0000ffff)) {
			a->family = AF_INET;
			__builtin_memcpy(a->daddr, &ip6[3], 4);
		} else {
			__builtin_memcpy(a->daddr, ip6, 16);
		}
	}
}

static __always_inline int on_connect(struct bpf_sock_addr *ctx, int v6)
{
	struct tg_connect_event ev;
	__u64 cookie = bpf_get_socket_cookie(ctx);

	if (ctx->protocol != TG_IPPROTO_TCP && ctx->protocol != TG_IPPROTO_UDP)
		return 1;
	sockaddr_dest(ctx, &ev.addr, v6);
	if (!tg_enforce_sock(&ev.addr, ctx->protocol == TG_IPPROTO_TCP, TG_HOOK_CONNECT))
		return 0;
	tg_fill_hdr(&ev.hdr, TG_EV_CONNECT, sizeof(ev));
	ev.cookie = cookie;
	bpf_map_update_elem(&conns, &cookie, &ev.hdr.cgroup_id, BPF_ANY);
	tg_output(&ev, sizeof(ev));
	return 1;
}

static __always_inline int on_sendmsg(struct bpf_sock_addr *ctx, int v6)
{
	struct tg_udp_key k;
	struct tg_udp_val *v, nv = {};
	__u64 id;

	if (ctx->protocol != TG_IPPROTO_UDP)
		return 1;
	__builtin_memset(&k, 0, sizeof(k));
	k.cgroup_id = bpf_get_current_cgroup_id();
	sockaddr_dest(ctx, &k.addr, v6);
	if (!tg_enforce_sock(&k.addr, 0, TG_HOOK_SENDMSG))
		return 0;
	id = bpf_get_current_pid_tgid();
	v = bpf_map_lookup_elem(&udp_sends, &k);
	if (!v) {
		bpf_map_update_elem(&udp_sends, &k, &nv, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&udp_sends, &k);
		if (!v)
			return 1;
	}
	__sync_fetch_and_add(&v->count, 1);
	v->last_ns = bpf_ktime_get_ns();
	v->pid = id >> 32;
	v->tid = (__u32)id;
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	return 1;
}

SEC("cgroup/connect4")
int tg_connect4(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx, 0);
}

SEC("cgroup/connect6")
int tg_connect6(struct bpf_sock_addr *ctx)
{
	return on_connect(ctx, 1);
}

SEC("cgroup/sendmsg4")
int tg_sendmsg4(struct bpf_sock_addr *ctx)
{
	return on_sendmsg(ctx, 0);
}

SEC("cgroup/sendmsg6")
int tg_sendmsg6(struct bpf_sock_addr *ctx)
{
	return on_sendmsg(ctx, 1);
}

SEC("cgroup/sock_release")
int tg_sock_release(struct bpf_sock *sk)
{
	struct tg_close_event ev;
	__u64 cookie = bpf_get_socket_cookie(sk);
	struct tg_tls_conn_key *tk;

	if (!bpf_map_lookup_elem(&conns, &cookie))
		return 1;
	tk = bpf_map_lookup_elem(&sock_tls, &cookie);
	if (tk) {
		bpf_map_delete_elem(&tls_conns, tk);
		bpf_map_delete_elem(&sock_tls, &cookie);
	}
	bpf_map_delete_elem(&holds, &cookie);
	bpf_map_delete_elem(&conns, &cookie);
	bpf_map_delete_elem(&skb_flows, &cookie);
	tg_fill_hdr(&ev.hdr, TG_EV_CLOSE, sizeof(ev));
	ev.cookie = cookie;
	tg_output(&ev, sizeof(ev));
	return 1;
}

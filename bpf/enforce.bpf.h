/* SPDX-License-Identifier: GPL-2.0 */
/*
 * enforce.bpf.h - verdicts and network rules, shared by the hooks that enforce them.
 *
 * In:  map verdicts (cgroup id -> kill or throttle, with GCRA state), map holds (socket
 *      cookie -> CLOCK_MONOTONIC time before which its TCP payload must not leave), the
 *      network rule tries net_port / net_any, and the counts and level masks user space
 *      keeps in .bss so that the hot paths skip all of this when nothing is enforced.
 * Out: allow/deny decisions for the calling hook, TG_EV_BLOCKED records, counters.
 *
 * Everything lives in maps owned by the tollgate process and nothing is pinned: if
 * tollgate exits or dies, every verdict goes with it (fail open).
 */
#ifndef TOLLGATE_ENFORCE_BPF_H
#define TOLLGATE_ENFORCE_BPF_H

#include "common.bpf.h"
#include "tokenbucket.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* cgroup id */
	__type(value, struct tg_verdict);
} verdicts SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* socket cookie */
	__type(value, __u64); /* hold until, CLOCK_MONOTONIC ns */
} holds SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_net_key);
	__type(value, struct tg_net_rule);
} net_port SEC(".maps") __weak, net_any SEC(".maps") __weak;

/* Set by user space at run time (skeleton .bss). */
__u32 verdict_count __weak;      /* entries in verdicts; 0: skip lookups */
__u32 verdict_level_mask __weak; /* bit L: a verdict's cgroup sits at level L */
__u32 net_rule_count __weak;     /* rules in the tries; 0: skip lookups */
__u32 net_level_mask __weak;     /* bit L: a per-cgroup rule's cgroup sits at level L */

static __always_inline int tg_verdict_live(const struct tg_verdict *v, __u64 now)
{
	return v && (!v->expires_ns || now < v->expires_ns);
}

/* The verdict on the current task's cgroup or its nearest ancestor with one, or NULL. */
static __always_inline struct tg_verdict *tg_verdict_current(__u64 now)
{
	if (!verdict_count)
		return NULL;
#pragma unroll
	for (int l = TG_MAX_CGROUP_LEVEL - 1; l >= 0; l--) {
		if (!(verdict_level_mask & (1U << l)))
			continue;
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		struct tg_verdict *v = id ? bpf_map_lookup_elem(&verdicts, &id) : NULL;
		if (tg_verdict_live(v, now))
			return v;
	}
	return NULL;
}

/* The same for the cgroup of an skb's socket. A second loop rather than a shared one: an skb
 * is often handled in softirq context, where the current task's cgroup is not the
 * socket's, so the id must come from bpf_skb_ancestor_cgroup_id. */
static __always_inline struct tg_verdict *tg_verdict_skb(struct __sk_buff *skb, __u64 now)
{
	if (!verdict_count)
		return NULL;
#pragma unroll
	for (int l = TG_MAX_CGROUP_LEVEL - 1; l >= 0; l--) {
		if (!(verdict_level_mask & (1U << l)))
			continue;
		__u64 id = bpf_skb_ancestor_cgroup_id(skb, l);
		struct tg_verdict *v = id ? bpf_map_lookup_elem(&verdicts, &id) : NULL;
		if (tg_verdict_live(v, now))
			return v;
	}
	return NULL;
}

static __always_inline void tg_emit_blocked(const struct tg_addr *a, int reason, int hook,
					    __u32 rule_id)
{
	struct tg_blocked_event ev;

	tg_fill_hdr(&ev.hdr, TG_EV_BLOCKED, sizeof(ev));
	if (a)
		ev.addr = *a;
	else
		__builtin_memset(&ev.addr, 0, sizeof(ev.addr));
	ev.rule_id = rule_id;
	ev.reason = reason;
	ev.hook = hook;
	ev._pad0[0] = ev._pad0[1] = 0;
	tg_output(&ev, sizeof(ev));
}

/* The trie key of destination @a in @scope (struct tg_net_key). An IPv4-mapped IPv6
 * address is looked up as the IPv4 address it is, so IPv4 rules cover dual-stack sockets
 * (sockaddr_dest in sock.bpf.c already reports it so; this keeps every caller safe). */
static __always_inline void tg_net_key_fill(struct tg_net_key *k, __u64 scope,
					    const struct tg_addr *a, __u16 port)
{
	int v4 = a->family == AF_INET;
	int mapped = !v4 && tg_v4mapped(a->daddr);

	__builtin_memset(k, 0, sizeof(*k));
	k->prefixlen = TG_NET_KEY_FIXED_BITS + (v4 || mapped ? 32 : 128);
#pragma unroll
	for (int i = 0; i < 8; i++)
		k->data[i] = (scope >> (56 - 8 * i)) & 0xff;
	k->data[8] = mapped ? AF_INET : a->family;
	k->data[9] = port >> 8;
	k->data[10] = port & 0xff;
	if (mapped)
		__builtin_memcpy(&k->data[11], &a->daddr[12], 4);
	else
		__builtin_memcpy(&k->data[11], a->daddr, 16);
}

/* Rules of one scope: port-specific first, then any-port. 0: no rule of this scope. */
static __always_inline int tg_net_scope(__u64 scope, const struct tg_addr *a, __u32 *rule_id)
{
	struct tg_net_key k;
	struct tg_net_rule *r;

	tg_net_key_fill(&k, scope, a, a->dport);
	r = bpf_map_lookup_elem(&net_port, &k);
	if (!r) {
		tg_net_key_fill(&k, scope, a, 0);
		r = bpf_map_lookup_elem(&net_any, &k);
	}
	if (!r)
		return 0;
	*rule_id = r->rule_id;
	return r->verdict;
}

/*
 * tg_net_check - the network rules' verdict for a destination of the current task:
 * the most specific scope decides (the task's cgroup, then its ancestors from the nearest,
 * then the global rules); within a scope a port-specific rule beats an any-port one, and
 * the longest prefix wins. No matching rule: allow.
 */
static __always_inline int tg_net_check(const struct tg_addr *a, __u32 *rule_id)
{
	int v;

	if (!net_rule_count)
		return TG_NET_ALLOW;
#pragma unroll
	for (int l = TG_MAX_CGROUP_LEVEL - 1; l >= 1; l--) {
		if (!(net_level_mask & (1U << l)))
			continue;
		__u64 id = bpf_get_current_ancestor_cgroup_id(l);
		if (id && (v = tg_net_scope(id, a, rule_id)))
			return v;
	}
	v = tg_net_scope(0, a, rule_id);
	return v ? v : TG_NET_ALLOW;
}

/*
 * tg_enforce_sock - may the current task connect to / send to @a?
 * @tcp_connect: a TCP connect (the only thing a throttle polices here).
 * Returns 1 to allow, 0 to refuse (the caller returns 0: the task sees EPERM); a refusal
 * is reported as a TG_EV_BLOCKED record.
 */
static __always_inline int tg_enforce_sock(const struct tg_addr *a, int tcp_connect, int hook)
{
	__u64 now = bpf_ktime_get_ns();
	struct tg_verdict *v = tg_verdict_current(now);
	__u32 rule = 0;

	if (v) {
		if (v->action == TG_VERDICT_KILL) {
			tg_emit_blocked(a, TG_BLOCK_KILL, hook, 0);
			return 0;
		}
		if (v->action == TG_VERDICT_THROTTLE && tcp_connect &&
		    !tg_gcra_police(&v->conn_tat, now, v->interval_ns, v->tolerance_ns)) {
			tg_emit_blocked(a, TG_BLOCK_THROTTLE, hook, 0);
			return 0;
		}
	}
	if (tg_net_check(a, &rule) == TG_NET_DENY) {
		tg_emit_blocked(a, TG_BLOCK_NET, hook, rule);
		return 0;
	}
	return 1;
}

#endif /* TOLLGATE_ENFORCE_BPF_H */

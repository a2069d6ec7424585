/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tollgate_abi.h - the ABI between tollgate's BPF programs (bpf/) and its loader (user/).
 *
 * Everything in here is read by both sides: fixed-width types only, explicit padding, no
 * pointers, no bool, no long. Every ring-buffer record starts with struct tg_hdr; user space
 * _Static_asserts the sizes (user/decode/decode.c), so a layout change breaks the build, not the run.
 *
 * Data flow: BPF programs write records into one ring buffer (map "events"); user space
 * decodes them (user/decode/decode.c). The only data going the other way are load-time settings
 * (const volatile globals) and the maps named *_cfg / watched_cgroups.
 */
#ifndef TOLLGATE_ABI_H
#define TOLLGATE_ABI_H

#ifdef __bpf__
/* vmlinux.h already defines __u8 .. __u64 */
#else
#include <linux/types.h>
#endif

#define TG_COMM_LEN 16
/* Hard upper bound of payload bytes copied per record; the load-time setting
 * capture_bytes (default TG_CAP_DEFAULT) must be a value in [64, TG_CAP_MAX]. */
#define TG_CAP_MAX 4096
#define TG_CAP_DEFAULT 1024
#define TG_CAP_MIN 64
/* Bytes examined to classify a payload (see tg_classify in http_classify.h). */
#define TG_PEEK_LEN 16
#define TG_EXEC_PATH_LEN 256
/* Deepest cgroup level the watched-cgroup filter looks at (root is level 0). */
#define TG_MAX_CGROUP_LEVEL 16

/* Values the records carry (the kernel's own, restated so BPF code needs no libc). */
#define TG_IPPROTO_TCP 6
#define TG_IPPROTO_UDP 17

enum tg_event_type {
	TG_EV_CONNECT = 1,  /* struct tg_connect_event: a connect() from a watched cgroup */
	TG_EV_CLOSE = 2,    /* struct tg_close_event: a connected socket was released */
	TG_EV_PAYLOAD = 3,  /* struct tg_payload_event: a TCP payload or a TLS plaintext buffer */
	TG_EV_TLS_BIND = 4, /* struct tg_tls_bind_event: a TLS session was seen on a socket */
	TG_EV_EXEC = 5,     /* struct tg_exec_event: a process executed a program */
	TG_EV_EXIT = 6,     /* struct tg_hdr only: a process (thread group) exited */
	TG_EV_BLOCKED = 7,  /* struct tg_blocked_event: enforcement refused something */
	TG_EV_MAX,
};

/* Where a payload was captured. */
enum tg_source {
	TG_SRC_SKB = 1,     /* cgroup_skb egress/ingress: plaintext TCP */
	TG_SRC_OPENSSL = 2, /* OpenSSL SSL_write/SSL_read family */
	TG_SRC_GNUTLS = 3,  /* GnuTLS gnutls_record_send/recv */
};

enum tg_dir {
	TG_DIR_OUT = 0, /* egress skb, TLS write: the request direction */
	TG_DIR_IN = 1,  /* ingress skb, TLS read: the response direction */
};

/* What the first bytes of a payload look like (http_classify.h). */
enum tg_kind {
	TG_KIND_OTHER = 0,      /* not the start of an HTTP message: a body, or not HTTP */
	TG_KIND_REQUEST = 1,    /* starts with an HTTP/1.x method token and a space */
	TG_KIND_RESPONSE = 2,   /* starts with "HTTP/1." */
	TG_KIND_H2_PREFACE = 3, /* starts with the HTTP/2 connection preface "PRI * HTTP/2.0" */
	TG_KIND_H2_FRAMES = 4,  /* a later buffer of a TLS session that began with the preface:
				 * HTTP/2 frames (RFC 9113 4.1), captured like a message head */
};

/* Common header of every ring-buffer record (48 bytes). */
struct tg_hdr {
	__u16 type;      /* enum tg_event_type */
	__u16 size;      /* bytes of the whole record, header included */
	__u32 pid;       /* tgid; 0 when the hook ran outside the owner's context */
	__u32 tid;       /* thread id; 0 when unknown */
	__u32 _pad0;
	__u64 ts_ns;     /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, ns */
	__u64 cgroup_id; /* cgroup v2 id (inode number of the cgroup directory) */
	char comm[TG_COMM_LEN];
};

/* A transport endpoint. Addresses in network byte order, ports in host order. */
struct tg_addr {
	__u8 family;   /* AF_INET (2) or AF_INET6 (10); 0 when unknown */
	__u8 protocol; /* IPPROTO_TCP (6) or IPPROTO_UDP (17) */
	__u16 dport;   /* destination port, host byte order */
	__u16 sport;   /* source port, host byte order; 0 when unknown */
	__u16 _pad0;
	__u8 daddr[16]; /* IPv4 in the first 4 bytes, or IPv6 */
};

struct tg_connect_event {
	struct tg_hdr hdr;
	__u64 cookie; /* socket cookie: stable id of the socket for its lifetime */
	struct tg_addr addr;
};

struct tg_close_event {
	struct tg_hdr hdr;
	__u64 cookie;
};

/* A TCP payload (source skb) or a TLS plaintext buffer (source openssl/gnutls).
 * data[] holds cap_len bytes: the first bytes of the payload when kind is not OTHER,
 * nothing for OTHER (only the length is reported: copy only what is needed).
 * HTTP/2 sessions (kinds H2_PREFACE and H2_FRAMES) are reported in pieces: consecutive
 * spans of the direction's byte stream, len bytes each with the first cap_len captured;
 * a TLS buffer is one piece, or more when frame headers or header blocks lie beyond the
 * first capture_bytes (tls.bpf.c walks the frames). seq numbers the pieces of one
 * session direction from 0 (the preface's, and the first read's), so a piece lost in the
 * ring buffer shows as a gap. */
struct tg_payload_event {
	struct tg_hdr hdr;
	__u64 conn_id; /* skb: socket cookie; TLS: the SSL* / gnutls_session_t address */
	__u32 len;     /* bytes of the whole payload or buffer */
	__u16 cap_len; /* bytes in data[] (<= capture_bytes) */
	__u8 dir;      /* enum tg_dir */
	__u8 source;   /* enum tg_source */
	__u8 kind;     /* enum tg_kind */
	__u8 _pad0[3];
	__u32 seq;     /* HTTP/2 pieces: see above; 0 otherwise */
	struct tg_addr addr; /* skb: the remote endpoint; TLS: zero */
	__u8 data[];
};

/* The first TCP payload a thread sent right after a TLS write: binds the TLS session
 * (conn_id) to its socket, so TLS requests get the connection's 5-tuple. */
struct tg_tls_bind_event {
	struct tg_hdr hdr;
	__u64 conn_id; /* SSL* / gnutls_session_t */
	__u64 cookie;  /* socket cookie */
	struct tg_addr addr;
};

struct tg_exec_event {
	struct tg_hdr hdr;
	__u64 exe_dev; /* st_dev of the executable, kernel encoding (MAJOR<<20 | MINOR) */
	__u64 exe_ino; /* st_ino of the executable */
	char filename[TG_EXEC_PATH_LEN]; /* as passed to execve, NUL-terminated */
};

/* ---- enforcement (written by user/enforce/enforce.c, applied by the BPF programs) ---- */

enum tg_verdict_action {
	TG_VERDICT_THROTTLE = 1, /* police TCP connects, shape HTTP requests (tokenbucket.h) */
	TG_VERDICT_KILL = 2,     /* deny connect/sendmsg, drop egress, SIGKILL on TLS write/exec */
};

/* Value of map verdicts, keyed by cgroup id; applies to the cgroup and its descendants. */
struct tg_verdict {
	__u64 expires_ns;   /* CLOCK_MONOTONIC; 0: until cleared */
	__u64 req_tat;      /* GCRA state of HTTP requests (BPF updates it) */
	__u64 conn_tat;     /* GCRA state of TCP connects (BPF updates it) */
	__u64 interval_ns;  /* 1e9 / rate */
	__u64 tolerance_ns; /* (burst - 1) * interval */
	__u8 action;        /* enum tg_verdict_action */
	__u8 _pad0[7];
};

/* Key of the network rule tries (BPF_MAP_TYPE_LPM_TRIE). data: scope (8 bytes, big endian:
 * a cgroup id, 0 = every cgroup), family (1), port (2, big endian; 0 in the any-port trie),
 * address (16). A rule's prefixlen is 8*11 + its CIDR prefix length. */
#define TG_NET_KEY_DATA (8 + 1 + 2 + 16)
#define TG_NET_KEY_FIXED_BITS (8 * 11)
struct tg_net_key {
	__u32 prefixlen;
	__u8 data[TG_NET_KEY_DATA];
	__u8 _pad0; /* zero */
};

enum tg_net_verdict {
	TG_NET_ALLOW = 1,
	TG_NET_DENY = 2,
};

struct tg_net_rule {
	__u32 rule_id; /* index of the rule in the policy, for the log */
	__u8 verdict;  /* enum tg_net_verdict */
	__u8 _pad0[3];
};

enum tg_block_reason {
	TG_BLOCK_KILL = 1,     /* the cgroup has a kill verdict */
	TG_BLOCK_THROTTLE = 2, /* the cgroup is over its connect rate */
	TG_BLOCK_NET = 3,      /* a network deny rule matched */
};

enum tg_block_hook {
	TG_HOOK_CONNECT = 1,
	TG_HOOK_SENDMSG = 2,
	TG_HOOK_TLS = 3,
	TG_HOOK_EXEC = 4,
};

struct tg_blocked_event {
	struct tg_hdr hdr;
	struct tg_addr addr; /* connect/sendmsg destination; zero otherwise */
	__u32 rule_id;       /* TG_BLOCK_NET: the rule; 0 otherwise */
	__u8 reason;         /* enum tg_block_reason */
	__u8 hook;           /* enum tg_block_hook */
	__u8 _pad0[2];
};

/* Per-cgroup traffic counters (map cgroup_traffic, per CPU), all TCP/UDP/other IP. */
struct tg_traffic {
	__u64 bytes_out;
	__u64 bytes_in;
	__u64 packets_out;
	__u64 packets_in;
};

/* Unconnected UDP sends (cgroup/sendmsg4,6), counted per cgroup and destination. */
struct tg_udp_key {
	__u64 cgroup_id;
	struct tg_addr addr;
};

struct tg_udp_val {
	__u64 count;   /* sends so far */
	__u64 last_ns; /* CLOCK_MONOTONIC of the last send */
	__u32 pid;     /* last sender */
	__u32 tid;
	char comm[TG_COMM_LEN];
};

/* Per-CPU counters of things the BPF side lost or chose not to report (map counters). */
enum tg_counter {
	TG_CNT_RINGBUF_DROPS = 0, /* bpf_ringbuf_output/reserve failed: events lost */
	TG_CNT_TLS_NON_HTTP,      /* TLS buffers on sessions never seen carrying HTTP */
	TG_CNT_READ_FAULT,        /* bpf_probe_read_user of a TLS buffer failed */
	TG_CNT_SKB_RETRANS,       /* TCP payloads skipped as retransmissions */
	TG_CNT_SKB_UNPARSED,      /* IP packets whose headers could not be parsed */
	TG_CNT_KILL_DROPS,        /* egress packets dropped: kill verdict */
	TG_CNT_HOLD_DROPS,        /* egress packets held back (dropped, TCP resends): throttle */
	TG_CNT_REQ_DELAYED,       /* HTTP requests given a later slot by a throttle */
	TG_CNT_TLS_READS_FULL,    /* TLS reads not tracked, map tls_reads full: no response */
	TG_CNT_MAX,
};

/* bpf cookie bits of the TLS uprobes (user/capture/tls_probe.c sets them per attach site). */
#define TG_TLS_SRC_MASK 0x0fULL  /* enum tg_source */
#define TG_TLS_NUM32 0x10ULL     /* the length argument is a C int (SSL_write, SSL_read) */
#define TG_TLS_RET_PTR 0x20ULL   /* read size is returned through argument 4 (the _ex form) */
#define TG_TLS_READ 0x40ULL      /* the site is a read's entry (else a write) */

#endif /* TOLLGATE_ABI_H */

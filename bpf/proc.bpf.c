// SPDX-License-Identifier: GPL-2.0
/*
 * proc.bpf.c - raw_tp/sched_process_exec and raw_tp/sched_process_exit: tell user space
 * about programs it may need to attach TLS uprobes to.
 *
 * In:  every execve() and every thread-group exit on the host.
 * Out: TG_EV_EXEC records - host-wide mode: the first exec of each executable (by device
 *      and inode; map seen_exe); scoped mode: every exec in a watched cgroup, because TLS
 *      uprobes are attached per process there. TG_EV_EXIT records (scoped mode only): a
 *      watched process ended, so its per-process uprobes can go.
 *      A program started in a cgroup with a kill verdict is SIGKILLed right away (a
 *      container runtime that restarts it does not escape the verdict).
 */
#include "enforce.bpf.h"
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct exe_key {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct exe_key);
	__type(value, __u8);
} seen_exe SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_exec_event);
} exec_scratch SEC(".maps");

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tg_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct exe_key k = {};
	struct tg_exec_event *ev;
	struct inode *inode;
	__u32 zero = 0;
	__u8 one = 1;
	struct tg_verdict *v = tg_verdict_current(bpf_ktime_get_ns());

	if (v && v->action == TG_VERDICT_KILL) {
		bpf_send_signal(9 /* SIGKILL */);
		tg_emit_blocked(NULL, TG_BLOCK_KILL, TG_HOOK_EXEC, 0);
		return 0;
	}
	inode = BPF_CORE_READ(bprm, file, f_inode);
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	if (scope_all) {
		if (bpf_map_lookup_elem(&seen_exe, &k))
			return 0;
		bpf_map_update_elem(&seen_exe, &k, &one, BPF_ANY);
	} else if (!tg_watched()) {
		return 0;
	}
	ev = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!ev)
		return 0;
	tg_fill_hdr(&ev->hdr, TG_EV_EXEC, sizeof(*ev));
	ev->exe_dev = k.dev;
	ev->exe_ino = k.ino;
	/* the scratch is per CPU and reused: without this the bytes after the NUL would be
	 * the tail of an earlier exec's filename */
	__builtin_memset(ev->filename, 0, sizeof(ev->filename));
	if (bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename),
				      BPF_CORE_READ(bprm, filename)) < 0)
		ev->filename[0] = 0;
	/* exec records are rare and latency-critical (a probe must be attached before the
	 * new program's first TLS write): wake the reader at once */
	if (bpf_ringbuf_output(&events, ev, sizeof(*ev), BPF_RB_FORCE_WAKEUP)) {
		tg_count(TG_CNT_RINGBUF_DROPS);
		/* not reported: forget it, so that its next exec is reported */
		if (scope_all)
			bpf_map_delete_elem(&seen_exe, &k);
	}
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tg_exit, struct task_struct *p)
{
	struct tg_hdr h;
	__u64 id = bpf_get_current_pid_tgid();

	if (scope_all || (id >> 32) != (__u32)id || !tg_watched())
		return 0;
	tg_fill_hdr(&h, TG_EV_EXIT, sizeof(h));
	tg_output(&h, sizeof(h));
	return 0;
}

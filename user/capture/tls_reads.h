/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tls_reads.h - sweep the TLS reads in flight (map tls_reads, bpf/tls.bpf.c) of threads
 * that no longer exist.
 *
 * In:  map tls_reads (key: pid_tgid of the reading thread, as bpf_get_current_pid_tgid()
 *      returns it: tgid << 32 | tid, in the initial pid namespace) and /proc.
 * Out: the entries of dead threads deleted, and their count.
 *
 * An entry is written at a read's entry and deleted at its return; a thread killed while
 * blocked in SSL_read never returns, so its entry would stay until the table is full and
 * every later read goes unreported (TG_CNT_TLS_READS_FULL). The sweep runs from the 1 s
 * tick, every TLS_READS_SWEEP_NS, never on the per-record path.
 */
#ifndef TG_TLS_READS_H
#define TG_TLS_READS_H

#include <stdint.h>

#define TLS_READS_SWEEP_NS (10ULL * 1000000000ULL) /* between sweeps */

/* Has thread @pid_tgid (tgid << 32 | tid) ended? 1 when /proc/<tgid>/task/<tid> does not
 * exist (ENOENT), 0 when it exists or cannot be told (any other error: keep the entry). */
int tls_thread_gone(uint64_t pid_tgid);

/*
 * tls_reads_sweep - delete the entries of map @map_fd (tls_reads) whose thread is gone.
 * Keys are collected first and deleted after the walk (deleting during a hash walk would
 * restart it). Returns the number of entries deleted, or a negative errno when the map
 * cannot be walked (-ENOMEM, or the error of BPF_MAP_GET_NEXT_KEY).
 */
int tls_reads_sweep(int map_fd);

#endif

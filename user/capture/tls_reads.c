// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tls_reads.c - sweep the TLS reads of dead threads. See tls_reads.h.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tls_reads.h"

int tls_thread_gone(uint64_t pid_tgid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u/task/%u", (unsigned)(pid_tgid >> 32),
		 (unsigned)pid_tgid);
	return stat(path, &st) != 0 && errno == ENOENT;
}

int tls_reads_sweep(int map_fd)
{
	uint64_t key, next, *dead = NULL;
	size_t n = 0, cap = 0;
	int err = 0, deleted = 0, r;
	void *prev = NULL;

	while ((r = bpf_map_get_next_key(map_fd, prev, &next)) == 0) {
		key = next;
		prev = &key;
		if (!tls_thread_gone(key))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			uint64_t *d = realloc(dead, ncap * sizeof(*d));
			if (!d) {
				err = -ENOMEM;
				break;
			}
			dead = d;
			cap = ncap;
		}
		dead[n++] = key;
	}
	if (!err && r != -ENOENT)
		err = r; /* the walk ends with -ENOENT; anything else is a failure */
	/* delete what was found even after a failure: each key is a dead thread's */
	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(map_fd, &dead[i]) == 0)
			deleted++;
	free(dead);
	return err ? err : deleted;
}

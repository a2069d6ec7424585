/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * reaper.h - close uprobe link descriptors off the event loop.
 *
 * Releasing a uprobe link waits for RCU grace periods: ~46 ms per uprobe_multi link on
 * this kernel when done one after another, ~7.6 ms each when 8 threads release in parallel
 * (they share grace periods) - measured, see README "Measured". A process leaving a watched
 * cgroup drops 2-6 links; doing that inline would stall event processing. This is the one
 * place tollgate uses threads: they only ever call close().
 */
#ifndef TG_REAPER_H
#define TG_REAPER_H

#include <stdint.h>

struct reaper;

/* Start @nthreads closer threads. NULL on failure (the caller then closes inline). */
struct reaper *reaper_new(int nthreads);
/* Queue @fd for closing (closes inline when @r is NULL or the queue cannot grow). */
void reaper_close(struct reaper *r, int fd);
/* Descriptors queued but not closed yet. */
uint64_t reaper_pending(struct reaper *r);
/* Close everything queued, stop the threads, free. */
void reaper_free(struct reaper *r);

#endif

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * lru.h - a bounded hash table of fixed-size entries with least-recently-used eviction:
 * the detectors' per-cgroup, per-(cgroup, host), per-(cgroup, endpoint) ... state.
 *
 * Keys are two 64-bit words (a cgroup id and a hash). Every entry starts with a struct
 * lru_hdr; the rest is the caller's, zeroed when the entry is created. At most @cap
 * entries live; creating one more evicts the least recently used (counted in evictions).
 * Memory: entries are allocated in chunks of LRU_CHUNK as the table grows, never freed
 * until lru_free, so once a table has grown to its working size lookups and inserts do not
 * allocate. The index (open addressing, linear probing, 4 bytes a slot) doubles as the
 * table grows, keeping at least 2 slots per entry: at most 4 slots (16 bytes) per entry
 * when full, 2 (8 bytes) right after a doubling. Bytes per entry: entry size + up to 16.
 * Entry pointers stay valid until the entry is evicted or deleted.
 */
#ifndef TG_LRU_H
#define TG_LRU_H

#include <stddef.h>
#include <stdint.h>

#define LRU_CHUNK 1024

struct lru_hdr {
	uint64_t k1, k2;
	uint32_t prev, next; /* LRU list, entry number + 1; 0 = none */
};

struct lru {
	uint32_t cap;       /* max entries */
	uint32_t esize;     /* bytes per entry, header included */
	uint32_t mask;      /* index slots - 1 */
	uint32_t *index;    /* slot -> entry number + 1; 0 empty */
	char **chunks;
	uint32_t nchunks;
	uint32_t used;      /* entry numbers handed out so far */
	uint32_t count;     /* live entries */
	uint32_t head;      /* least recently used, entry number + 1 */
	uint32_t tail;      /* most recently used */
	uint32_t free_list; /* deleted entries, linked through next */
	uint64_t evictions; /* entries evicted to make room */
};

/* Set up a table of at most @cap (>= 1) entries of @esize bytes (>= sizeof(struct
 * lru_hdr)). Returns 0 or -ENOMEM / -EINVAL. */
int lru_init(struct lru *t, uint32_t cap, size_t esize);
void lru_free(struct lru *t);

/* Find an entry and make it the most recently used. NULL when absent. */
void *lru_find(struct lru *t, uint64_t k1, uint64_t k2);
/*
 * lru_get - find or create. A new entry is zeroed past its header; *@created (may be
 * NULL) tells which. Returns NULL only when memory for a new chunk cannot be had.
 */
void *lru_get(struct lru *t, uint64_t k1, uint64_t k2, int *created);
/* Remove @e (from lru_find/lru_get/lru_first/lru_next). */
void lru_del(struct lru *t, void *e);

/* Iterate from the least to the most recently used. lru_next of the entry just deleted
 * is not allowed: fetch the next one before deleting. */
void *lru_first(struct lru *t);
void *lru_next(struct lru *t, void *e);

/* Bytes this table holds now (index + allocated chunks). */
size_t lru_mem(const struct lru *t);
/* Bytes a full table would hold. */
size_t lru_mem_max(const struct lru *t);

#endif

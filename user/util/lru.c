// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * lru.c - bounded LRU hash table. See lru.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lru.h"

static inline struct lru_hdr *ent(const struct lru *t, uint32_t no1)
{
	uint32_t n = no1 - 1;
	return (struct lru_hdr *)(t->chunks[n / LRU_CHUNK] + (size_t)(n % LRU_CHUNK) * t->esize);
}

static inline uint32_t hslot(const struct lru *t, uint64_t k1, uint64_t k2)
{
	uint64_t h = (k2 ^ (k1 * 0x9E3779B97F4A7C15ULL)) * 0xBF58476D1CE4E5B9ULL;
	return (uint32_t)(h >> 32) & t->mask;
}

/* Index slots for a table of @n entries: a power of two >= 2n (load <= 1/2), >= 64. */
static uint64_t slots_for(uint64_t n)
{
	uint64_t slots = 64;

	while (slots < 2 * n)
		slots <<= 1;
	return slots;
}

int lru_init(struct lru *t, uint32_t cap, size_t esize)
{
	memset(t, 0, sizeof(*t));
	if (!cap || esize < sizeof(struct lru_hdr) || esize > (1u << 20) || cap > (1u << 30))
		return -EINVAL;
	t->cap = cap;
	t->esize = (uint32_t)((esize + 7) & ~(size_t)7);
	/* the index starts small and doubles with the table, so a small working set stays
	 * in cache however large the cap */
	uint64_t slots = slots_for(cap < 512 ? cap : 512);
	t->mask = (uint32_t)(slots - 1);
	t->index = calloc(slots, sizeof(*t->index));
	t->chunks = calloc((cap + LRU_CHUNK - 1) / LRU_CHUNK, sizeof(*t->chunks));
	if (!t->index || !t->chunks) {
		lru_free(t);
		return -ENOMEM;
	}
	return 0;
}

void lru_free(struct lru *t)
{
	if (t->chunks)
		for (uint32_t i = 0; i < t->nchunks; i++)
			free(t->chunks[i]);
	free(t->chunks);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

static inline uint32_t no_of(const struct lru *t, const struct lru_hdr *h)
{
	(void)t;
	/* the entry number is found through the index; entries store it implicitly via
	 * their neighbours, so recover it from the list links */
	return h->prev ? ent(t, h->prev)->next : t->head;
}

static void unlink_(struct lru *t, struct lru_hdr *h)
{
	if (h->prev)
		ent(t, h->prev)->next = h->next;
	else
		t->head = h->next;
	if (h->next)
		ent(t, h->next)->prev = h->prev;
	else
		t->tail = h->prev;
	h->prev = h->next = 0;
}

static void append(struct lru *t, struct lru_hdr *h, uint32_t no1)
{
	h->prev = t->tail;
	h->next = 0;
	if (t->tail)
		ent(t, t->tail)->next = no1;
	else
		t->head = no1;
	t->tail = no1;
}

/* Index slot holding entry @k1/@k2, or the empty slot where it would go. */
static uint32_t probe(const struct lru *t, uint64_t k1, uint64_t k2, int *found)
{
	uint32_t s = hslot(t, k1, k2);

	for (;;) {
		uint32_t no1 = t->index[s];
		if (!no1) {
			*found = 0;
			return s;
		}
		struct lru_hdr *h = ent(t, no1);
		if (h->k1 == k1 && h->k2 == k2) {
			*found = 1;
			return s;
		}
		s = (s + 1) & t->mask;
	}
}

/* Remove index slot @s, shifting later members of its probe run back (Knuth 6.4 R). */
static void index_remove(struct lru *t, uint32_t s)
{
	uint32_t i = s, j = s;

	for (;;) {
		j = (j + 1) & t->mask;
		uint32_t no1 = t->index[j];
		if (!no1)
			break;
		struct lru_hdr *h = ent(t, no1);
		uint32_t home = hslot(t, h->k1, h->k2);
		/* can the entry at j move to i? only if its home is not in (i, j] cyclically */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->index[i] = no1;
		i = j;
	}
	t->index[i] = 0;
}

void *lru_find(struct lru *t, uint64_t k1, uint64_t k2)
{
	int found;
	uint32_t s = probe(t, k1, k2, &found);

	if (!found)
		return NULL;
	uint32_t no1 = t->index[s];
	struct lru_hdr *h = ent(t, no1);
	if (t->tail != no1) {
		unlink_(t, h);
		append(t, h, no1);
	}
	return h;
}

static void remove_entry(struct lru *t, struct lru_hdr *h, uint32_t no1)
{
	int found;
	uint32_t s = probe(t, h->k1, h->k2, &found);

	if (found)
		index_remove(t, s);
	unlink_(t, h);
	(void)no1;
	t->count--;
}

/* Double the index (entries stay where they are). Returns 0 or -ENOMEM. */
static int grow_index(struct lru *t)
{
	uint64_t slots = (uint64_t)(t->mask + 1) * 2;
	uint32_t *old = t->index, *idx = calloc(slots, sizeof(*idx));
	int found;

	if (!idx)
		return -ENOMEM;
	t->index = idx;
	t->mask = (uint32_t)(slots - 1);
	for (uint32_t no1 = t->head; no1; no1 = ent(t, no1)->next) {
		struct lru_hdr *h = ent(t, no1);
		t->index[probe(t, h->k1, h->k2, &found)] = no1;
	}
	free(old);
	return 0;
}

void *lru_get(struct lru *t, uint64_t k1, uint64_t k2, int *created)
{
	struct lru_hdr *h;
	uint32_t no1;
	int found;

	if (created)
		*created = 0;
	h = lru_find(t, k1, k2);
	if (h)
		return h;
	if (t->count >= t->cap) {
		no1 = t->head;
		h = ent(t, no1);
		remove_entry(t, h, no1);
		t->evictions++;
	} else if (2ULL * (t->count + 1) > (uint64_t)t->mask + 1 && grow_index(t)) {
		return NULL;
	} else if (t->free_list) {
		no1 = t->free_list;
		h = ent(t, no1);
		t->free_list = h->next;
	} else {
		uint32_t n = t->used;
		if (n / LRU_CHUNK >= t->nchunks) {
			char *c = malloc((size_t)LRU_CHUNK * t->esize);
			if (!c)
				return NULL;
			t->chunks[t->nchunks++] = c;
		}
		no1 = ++t->used;
		h = ent(t, no1);
	}
	memset(h, 0, t->esize);
	h->k1 = k1;
	h->k2 = k2;
	t->index[probe(t, k1, k2, &found)] = no1;
	append(t, h, no1);
	t->count++;
	if (created)
		*created = 1;
	return h;
}

void lru_del(struct lru *t, void *e)
{
	struct lru_hdr *h = e;
	uint32_t no1 = no_of(t, h);

	remove_entry(t, h, no1);
	h->next = t->free_list;
	t->free_list = no1;
}

void *lru_first(struct lru *t)
{
	return t->head ? ent(t, t->head) : NULL;
}

void *lru_next(struct lru *t, void *e)
{
	struct lru_hdr *h = e;
	return h->next ? ent(t, h->next) : NULL;
}

size_t lru_mem(const struct lru *t)
{
	return (size_t)(t->mask + 1) * sizeof(*t->index) +
	       (size_t)t->nchunks * LRU_CHUNK * t->esize;
}

size_t lru_mem_max(const struct lru *t)
{
	uint32_t chunks = (t->cap + LRU_CHUNK - 1) / LRU_CHUNK;
	return (size_t)slots_for(t->cap) * sizeof(*t->index) +
	       (size_t)chunks * LRU_CHUNK * t->esize;
}

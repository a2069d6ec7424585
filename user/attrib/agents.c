// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * agents.c - container names and profiles per cgroup. See agents.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#include "agents.h"
#include "util.h"

struct agent {
	uint64_t id;
	UT_hash_handle hh;
	char *path, *name, *profile;
};

struct agents {
	struct agent *by_id;
};

struct agents *agents_new(void)
{
	return calloc(1, sizeof(struct agents));
}

static void agent_free(struct agent *g)
{
	free(g->path);
	free(g->name);
	free(g->profile);
	free(g);
}

void agents_free(struct agents *a)
{
	struct agent *g, *t;

	if (!a)
		return;
	HASH_ITER(hh, a->by_id, g, t) {
		HASH_DEL(a->by_id, g);
		agent_free(g);
	}
	free(a);
}

int agents_register(struct agents *a, uint64_t id, const char *path, const char *name,
		    const char *profile)
{
	struct agent *g, *old;

	/* the new registration first: on -ENOMEM the old one stays as it was */
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->id = id;
	g->path = strdup(path ? path : "");
	g->name = strdup(name ? name : "");
	g->profile = profile && *profile ? strdup(profile) : NULL;
	if (!g->path || !g->name || (profile && *profile && !g->profile)) {
		agent_free(g);
		return -ENOMEM;
	}
	HASH_FIND(hh, a->by_id, &id, sizeof(id), old);
	if (!old && HASH_COUNT(a->by_id) >= AGENTS_MAX)
		old = a->by_id; /* full: the oldest registration goes */
	if (old) {
		HASH_DEL(a->by_id, old);
		agent_free(old);
	}
	HASH_ADD(hh, a->by_id, id, sizeof(g->id), g);
	return 0;
}

const char *agents_name(const struct agents *a, uint64_t id)
{
	struct agent *g;

	HASH_FIND(hh, a->by_id, &id, sizeof(id), g);
	return g && g->name[0] ? g->name : NULL;
}

const char *agents_profile(const struct agents *a, uint64_t id)
{
	struct agent *g;

	HASH_FIND(hh, a->by_id, &id, sizeof(id), g);
	return g ? g->profile : NULL;
}

uint64_t agents_count(const struct agents *a)
{
	return HASH_COUNT(a->by_id);
}

void agents_forget(struct agents *a, const uint64_t *ids, size_t n)
{
	struct agent *g, *t;

	if (!n)
		return;
	HASH_ITER(hh, a->by_id, g, t)
		if (u64_in(ids, n, g->id)) {
			HASH_DEL(a->by_id, g);
			agent_free(g);
		}
}

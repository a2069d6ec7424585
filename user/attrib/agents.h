/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * agents.h - what the container runtime told tollgate about a cgroup (via `tollgate
 * oci-hook`): the container's name, used as agent_id in metrics and as "container" in
 * events, and the policy profile its annotation asks for.
 *
 * Bounded: AGENTS_MAX entries; registering more replaces the oldest.
 */
#ifndef TG_AGENTS_H
#define TG_AGENTS_H

#include <stdint.h>

#define AGENTS_MAX 16384

struct agents;

struct agents *agents_new(void);
void agents_free(struct agents *a);
/* Register (or update) cgroup @id. @profile may be NULL. Returns 0 or -ENOMEM (then an
 * earlier registration of @id is left as it was). */
int agents_register(struct agents *a, uint64_t id, const char *path, const char *name,
		    const char *profile);
/* The container name / profile of cgroup @id, NULL when none was registered. */
const char *agents_name(const struct agents *a, uint64_t id);
const char *agents_profile(const struct agents *a, uint64_t id);
/* Drop the registrations of cgroups that are gone (@ids sorted ascending, from
 * cgcache_take_removed). */
void agents_forget(struct agents *a, const uint64_t *ids, size_t n);
uint64_t agents_count(const struct agents *a);

#endif

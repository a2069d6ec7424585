/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * hash.h - 64-bit string hashing for the detectors' state keys (xxHash's XXH3, inlined).
 *
 * In:  bytes. Out: a 64-bit hash. Detector tables key hosts, endpoints and request
 * targets by this hash alone (no string is kept per key): two different keys of one cgroup
 * collide with probability ~n^2 / 2^65, which the detectors accept.
 */
#ifndef TG_HASH_H
#define TG_HASH_H

#include <stddef.h>
#include <stdint.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint64_t tg_hash(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}

static inline uint64_t tg_hash_seed(const void *p, size_t n, uint64_t seed)
{
	return XXH3_64bits_withSeed(p, n, seed);
}

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * reaper.c - a queue of descriptors and threads that close them. See reaper.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "reaper.h"

#define REAPER_MAX_THREADS 16

struct reaper {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int *q;
	size_t len, cap, head;
	int stop;
	uint64_t busy; /* taken off the queue, close() in progress */
	int nthreads;
	pthread_t th[REAPER_MAX_THREADS];
};

static void *closer(void *arg)
{
	struct reaper *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (r->head == r->len && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		if (r->head == r->len)
			break; /* stopping, and nothing left */
		int fd = r->q[r->head++];
		if (r->head == r->len)
			r->head = r->len = 0;
		r->busy++;
		pthread_mutex_unlock(&r->mu);
		close(fd);
		pthread_mutex_lock(&r->mu);
		r->busy--;
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct reaper *reaper_new(int nthreads)
{
	struct reaper *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (nthreads > REAPER_MAX_THREADS)
		nthreads = REAPER_MAX_THREADS;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, NULL);
	for (int i = 0; i < nthreads; i++) {
		if (pthread_create(&r->th[i], NULL, closer, r))
			break;
		r->nthreads++;
	}
	if (!r->nthreads) {
		free(r);
		return NULL;
	}
	return r;
}

void reaper_close(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!r) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&r->mu);
	if (r->len == r->cap && r->head > 0) { /* reuse the consumed front */
		for (size_t i = r->head; i < r->len; i++)
			r->q[i - r->head] = r->q[i];
		r->len -= r->head;
		r->head = 0;
	}
	if (r->len == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		int *q = realloc(r->q, cap * sizeof(*q));
		if (!q) {
			pthread_mutex_unlock(&r->mu);
			close(fd);
			return;
		}
		r->q = q;
		r->cap = cap;
	}
	r->q[r->len++] = fd;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

uint64_t reaper_pending(struct reaper *r)
{
	uint64_t n;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->mu);
	n = (r->len - r->head) + r->busy;
	pthread_mutex_unlock(&r->mu);
	return n;
}

void reaper_free(struct reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	for (int i = 0; i < r->nthreads; i++)
		pthread_join(r->th[i], NULL);
	free(r->q);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	free(r);
}

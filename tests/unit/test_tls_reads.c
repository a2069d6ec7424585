// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_tls_reads.c - tls_thread_gone (user/capture/tls_reads.c): which tls_reads entries the sweep
 * deletes. A live thread (this one, another thread of this process) is kept; a thread that
 * ended, and a process that was reaped, are gone. The map walk itself needs root and is
 * covered by tests/integration/test_capture.py (a client killed inside SSL_read).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "tls_reads.h"

static uint64_t key_of(pid_t tgid, pid_t tid)
{
	return (uint64_t)(uint32_t)tgid << 32 | (uint32_t)tid;
}

static pid_t other_tid;

static void *record_tid(void *arg)
{
	(void)arg;
	other_tid = gettid();
	return NULL;
}

static void test_live_thread_kept(void **state)
{
	(void)state;
	assert_int_equal(tls_thread_gone(key_of(getpid(), gettid())), 0);
	assert_int_equal(tls_thread_gone(key_of(getpid(), getpid())), 0);
}

static void test_ended_thread_gone(void **state)
{
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, record_tid, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(other_tid > 0 && other_tid != gettid());
	/* joined: its /proc/self/task entry is gone (the process lives on) */
	assert_int_equal(tls_thread_gone(key_of(getpid(), other_tid)), 1);
}

static void test_reaped_process_gone(void **state)
{
	pid_t child = fork();

	(void)state;
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_int_equal(tls_thread_gone(key_of(child, child)), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_thread_kept),
		cmocka_unit_test(test_ended_thread_gone),
		cmocka_unit_test(test_reaped_process_gone),
	};
	return cmocka_run_group_tests_name("tls_reads", tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * log.h - diagnostics on stderr: one line each, prefixed "tollgate: ".
 * tg_warn/tg_err always print; tg_info prints unless quiet; tg_debug only with -v.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

extern int tg_verbose; /* -v given: debug lines and libbpf's own log */
extern int tg_quiet;   /* --quiet: only warnings and errors */

void tg_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tg_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

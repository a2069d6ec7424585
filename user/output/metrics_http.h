/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * metrics_http.h - serve GET /metrics with libmicrohttpd, from tollgate's own epoll loop
 * (MHD's external-epoll mode: no server thread).
 */
#ifndef TG_METRICS_HTTP_H
#define TG_METRICS_HTTP_H

#include <stddef.h>

/* Produce the exposition text: malloc'd, *len bytes; NULL on failure (answered with 500). */
typedef char *(*metrics_http_render)(void *ctx, size_t *len);

struct metrics_http;

/*
 * metrics_http_start - listen on @where: "PORT" (127.0.0.1), "ADDR:PORT" or "[ADDR6]:PORT".
 * Returns NULL with errno set (EINVAL for a malformed address) and a message logged.
 */
struct metrics_http *metrics_http_start(const char *where, metrics_http_render render, void *ctx);
/* An fd for the caller's epoll set; when readable (and on each tick) call metrics_http_run. */
int metrics_http_fd(const struct metrics_http *h);
void metrics_http_run(struct metrics_http *h);
void metrics_http_stop(struct metrics_http *h);

#endif

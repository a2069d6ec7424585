// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * metrics_http.c - the /metrics endpoint on libmicrohttpd. See metrics_http.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics_http.h"
#include "util.h"

struct metrics_http {
	struct MHD_Daemon *d;
	metrics_http_render render;
	void *ctx;
	int epoll_fd;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_data_size, void **con_cls)
{
	struct metrics_http *h = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	unsigned status = MHD_HTTP_OK;
	size_t len = 0;
	char *body = NULL;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
	} else if (strcmp(url, "/metrics")) {
		status = MHD_HTTP_NOT_FOUND;
	} else {
		body = h->render(h->ctx, &len);
		if (!body)
			status = MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (status != MHD_HTTP_OK) {
		static const char msg[] = "tollgate serves GET /metrics\n";
		resp = MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static int parse_where(const char *where, struct sockaddr_storage *ss)
{
	char host[128];
	uint64_t port;
	const char *colon;

	memset(ss, 0, sizeof(*ss));
	if (!strchr(where, ':')) {
		snprintf(host, sizeof(host), "127.0.0.1");
		colon = where - 1;
	} else if (where[0] == '[') {
		const char *rb = strchr(where, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - where - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - where - 1), where + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(where, ':');
		if ((size_t)(colon - where) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - where), where);
	}
	if (parse_u64(colon + 1, 1, 65535, &port))
		return -EINVAL;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
	} else {
		return -EINVAL;
	}
	return (int)port;
}

struct metrics_http *metrics_http_start(const char *where, metrics_http_render render, void *ctx)
{
	struct sockaddr_storage ss;
	struct metrics_http *h;
	int port = parse_where(where, &ss);

	if (port < 0) {
		tg_err("--metrics %s: expected PORT, ADDR:PORT or [ADDR6]:PORT", where);
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->render = render;
	h->ctx = ctx;
	unsigned flags = MHD_USE_EPOLL | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_END);
	if (!h->d) {
		int err = errno ? errno : EADDRINUSE;
		tg_err("metrics endpoint on %s: %s", where, strerror(err));
		free(h);
		errno = err;
		return NULL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	h->epoll_fd = info ? info->epoll_fd : -1;
	return h;
}

int metrics_http_fd(const struct metrics_http *h)
{
	return h->epoll_fd;
}

void metrics_http_run(struct metrics_http *h)
{
	MHD_run(h->d);
}

void metrics_http_stop(struct metrics_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}

/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * control.h - the running daemon's control socket.
 *
 * A Unix stream socket (default /run/tollgate/control.sock; the directory is 0700 and the
 * socket 0600, so only root talks to it). Protocol: the client sends one JSON object on
 * one line ({"cmd":"status"}, {"cmd":"top"}, {"cmd":"unblock","cgroup":"/x"}, ...), the
 * daemon answers with one JSON object on one line ({"ok":true,...} or
 * {"ok":false,"error":"..."}) and closes. Served from the daemon's epoll loop: no threads,
 * non-blocking, bounded request size, idle connections dropped.
 */
#ifndef TG_CONTROL_H
#define TG_CONTROL_H

#include <jansson.h>

#define CONTROL_DEFAULT_PATH "/run/tollgate/control.sock"

/* Handle one request object; return a new response object (the caller frees it). */
typedef json_t *(*control_handler)(void *ctx, json_t *req);

struct control;

/*
 * control_open - listen on @path. Returns NULL with errno set: EADDRINUSE when another
 * daemon answers on @path (its socket is left alone), or the error of socket/bind/listen.
 * A stale socket file (nobody listening) is replaced; ENOTSOCK when something other than
 * a socket is at @path (it is left alone: a policy file given by mistake survives).
 */
struct control *control_open(const char *path, control_handler h, void *ctx);
/* An fd to add to the caller's epoll set (readable: call control_process). */
int control_fd(const struct control *c);
void control_process(struct control *c);
/* Close every connection, remove the socket file. */
void control_close(struct control *c);

/*
 * control_request - client side: send @req to the daemon at @path and read its answer.
 * Returns 0 with *resp set (caller json_decref), or -errno (ECONNREFUSED, ENOENT: no daemon;
 * ETIMEDOUT after @timeout_ms; EPROTO: an answer that is not JSON).
 */
int control_request(const char *path, json_t *req, json_t **resp, int timeout_ms);

#endif

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * control.c - control socket server and client. See control.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "util.h"

#define MAX_REQ 65536
#define MAX_CONN 32
#define CONN_TIMEOUT_NS (5ULL * 1000000000ULL)

struct conn {
	int fd;
	char *in;
	size_t inlen;
	char *out;
	size_t outlen, outoff;
	uint64_t started;
};

struct control {
	int lfd, efd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler h;
	void *ctx;
	struct conn conns[MAX_CONN];
};

static int make_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

/* Is a daemon answering on @path? */
static int alive(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = connect(fd, (const struct sockaddr *)a, sizeof(*a)) == 0;
	close(fd);
	return ok;
}

struct control *control_open(const char *path, control_handler h, void *ctx)
{
	struct sockaddr_un a;
	struct control *c;
	char dir[sizeof(a.sun_path)];
	int err;

	if ((err = make_addr(path, &a))) {
		errno = -err;
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0700) && errno != EEXIST)
			return NULL;
	}
	if (alive(&a)) {
		errno = EADDRINUSE;
		return NULL;
	}
	/* a stale socket of a dead daemon is replaced; any other kind of file is left alone */
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		errno = ENOTSOCK;
		return NULL;
	}
	unlink(path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->h = h;
	c->ctx = ctx;
	snprintf(c->path, sizeof(c->path), "%s", path);
	for (int i = 0; i < MAX_CONN; i++)
		c->conns[i].fd = -1;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	c->efd = epoll_create1(EPOLL_CLOEXEC);
	mode_t old = umask(0177); /* the socket file is created 0600 */
	err = c->lfd < 0 || c->efd < 0 || bind(c->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	      listen(c->lfd, 16);
	umask(old);
	if (err) {
		int e = errno;
		if (c->lfd >= 0)
			close(c->lfd);
		if (c->efd >= 0)
			close(c->efd);
		free(c);
		errno = e;
		return NULL;
	}
	chmod(path, 0600);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = MAX_CONN};
	epoll_ctl(c->efd, EPOLL_CTL_ADD, c->lfd, &ev);
	return c;
}

int control_fd(const struct control *c)
{
	return c->efd;
}

static void conn_drop(struct control *c, struct conn *k)
{
	epoll_ctl(c->efd, EPOLL_CTL_DEL, k->fd, NULL);
	close(k->fd);
	free(k->in);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

static void respond(struct control *c, struct conn *k, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);

	json_decref(resp);
	if (!s) {
		conn_drop(c, k);
		return;
	}
	size_t n = strlen(s);
	k->out = realloc(s, n + 1);
	if (!k->out) {
		free(s);
		conn_drop(c, k);
		return;
	}
	k->out[n] = '\n';
	k->outlen = n + 1;
	k->outoff = 0;
	struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = (uint32_t)(k - c->conns)};
	epoll_ctl(c->efd, EPOLL_CTL_MOD, k->fd, &ev);
}

static json_t *error_resp(const char *msg)
{
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static void on_readable(struct control *c, struct conn *k)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(k->fd, buf, sizeof(buf))) > 0) {
		if (k->inlen + (size_t)n > MAX_REQ) {
			respond(c, k, error_resp("request too long"));
			return;
		}
		char *in = realloc(k->in, k->inlen + (size_t)n + 1);
		if (!in) {
			conn_drop(c, k);
			return;
		}
		k->in = in;
		memcpy(k->in + k->inlen, buf, (size_t)n);
		k->inlen += (size_t)n;
		k->in[k->inlen] = 0;
		char *nl = memchr(k->in, '\n', k->inlen);
		if (nl) {
			json_error_t je;
			*nl = 0;
			json_t *req = json_loads(k->in, 0, &je);
			if (!req || !json_is_object(req)) {
				json_decref(req);
				respond(c, k, error_resp("request is not a JSON object"));
				return;
			}
			json_t *resp = c->h(c->ctx, req);
			json_decref(req);
			respond(c, k, resp ? resp : error_resp("internal error"));
			return;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		conn_drop(c, k);
}

static void on_writable(struct control *c, struct conn *k)
{
	while (k->outoff < k->outlen) {
		ssize_t n = write(k->fd, k->out + k->outoff, k->outlen - k->outoff);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			break;
		}
		k->outoff += (size_t)n;
	}
	conn_drop(c, k);
}

void control_process(struct control *c)
{
	struct epoll_event evs[16];
	uint64_t now = now_mono_ns();
	int n = epoll_wait(c->efd, evs, 16, 0);

	for (int i = 0; i < n; i++) {
		uint32_t idx = evs[i].data.u32;
		if (idx == MAX_CONN) {
			int fd;
			while ((fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
				int slot = -1;
				for (int j = 0; j < MAX_CONN; j++)
					if (c->conns[j].fd < 0) {
						slot = j;
						break;
					}
				if (slot < 0) {
					close(fd); /* busy: the client sees a closed connection */
					continue;
				}
				c->conns[slot].fd = fd;
				c->conns[slot].started = now;
				struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)slot};
				epoll_ctl(c->efd, EPOLL_CTL_ADD, fd, &ev);
			}
			continue;
		}
		struct conn *k = &c->conns[idx];
		if (k->fd < 0)
			continue;
		if (k->out)
			on_writable(c, k);
		else
			on_readable(c, k);
	}
	for (int j = 0; j < MAX_CONN; j++)
		if (c->conns[j].fd >= 0 && now - c->conns[j].started > CONN_TIMEOUT_NS)
			conn_drop(c, &c->conns[j]);
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (int j = 0; j < MAX_CONN; j++)
		if (c->conns[j].fd >= 0)
			conn_drop(c, &c->conns[j]);
	close(c->lfd);
	close(c->efd);
	unlink(c->path);
	free(c);
}

int control_request(const char *path, json_t *req, json_t **resp, int timeout_ms)
{
	struct sockaddr_un a;
	char *line = NULL, buf[4096];
	size_t len = 0;
	int fd, err;

	if ((err = make_addr(path, &a)))
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		err = -errno;
		close(fd);
		return err;
	}
	char *s = json_dumps(req, JSON_COMPACT);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	size_t n = strlen(s);
	int ok = write(fd, s, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
	free(s);
	if (!ok) {
		err = -errno;
		close(fd);
		return err;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, timeout_ms);
		if (r == 0) {
			err = -ETIMEDOUT;
			break;
		}
		ssize_t got = read(fd, buf, sizeof(buf));
		if (got <= 0) {
			err = got < 0 ? -errno : 0;
			break;
		}
		char *l = realloc(line, len + (size_t)got + 1);
		if (!l) {
			err = -ENOMEM;
			break;
		}
		line = l;
		memcpy(line + len, buf, (size_t)got);
		len += (size_t)got;
		line[len] = 0;
	}
	close(fd);
	if (err) {
		free(line);
		return err;
	}
	json_error_t je;
	*resp = line ? json_loads(line, JSON_DISABLE_EOF_CHECK, &je) : NULL;
	free(line);
	return *resp ? 0 : -EPROTO;
}

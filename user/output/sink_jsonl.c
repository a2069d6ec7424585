// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sink_jsonl.c - JSON lines output. See sink_jsonl.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sink_jsonl.h"
#include "tollgate_abi.h"
#include "util.h"

static int open_checked(const char *path, int flags, int *seekable)
{
	struct stat st;
	int fd, oflags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY;

	if (!(flags & JSONL_ANY))
		oflags |= O_NOFOLLOW;
	fd = open(path, oflags, 0600);
	if (fd < 0) {
		int err = errno;
		/* O_NOFOLLOW refused it (ELOOP), or the kernel's protected_regular did
		 * (EACCES): name the reason when it is a link */
		if (!(flags & JSONL_ANY) && (err == ELOOP || err == EACCES) &&
		    lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
			err = ELOOP;
		if (err == ELOOP && !(flags & JSONL_ANY))
			tg_err("--json %s: a symbolic link; refused (--json-any to follow it)", path);
		else
			tg_err("--json %s: %s", path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st)) {
		int err = errno;
		tg_err("--json %s: %s", path, strerror(err));
		close(fd);
		return -err;
	}
	if (S_ISDIR(st.st_mode)) {
		tg_err("--json %s: a directory", path);
		close(fd);
		return -EISDIR;
	}
	if (!(flags & JSONL_ANY) && st.st_uid != geteuid()) {
		tg_err("--json %s: owned by uid %u, not by us (uid %u); refused (--json-any to "
		       "append to it)", path, (unsigned)st.st_uid, (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (!(flags & JSONL_ANY) && S_ISREG(st.st_mode) && st.st_nlink > 1) {
		tg_err("--json %s: has %lu hard links; refused (--json-any to append to it)", path,
		       (unsigned long)st.st_nlink);
		close(fd);
		return -EPERM;
	}
	*seekable = S_ISREG(st.st_mode);
	return fd;
}

int jsonl_open(struct jsonl_sink *s, const char *path, int flags)
{
	int fd, seekable = 0;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->flags = flags;
	jw_init(&s->w);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		struct stat st;
		s->fd = STDOUT_FILENO;
		s->seekable = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) &&
			      (fcntl(s->fd, F_GETFL) & O_APPEND);
		return 0;
	}
	fd = open_checked(path, flags, &seekable);
	if (fd < 0)
		return fd;
	s->fd = fd;
	s->seekable = seekable;
	return 0;
}

void jsonl_open_fd(struct jsonl_sink *s, int fd)
{
	memset(s, 0, sizeof(*s));
	jw_init(&s->w);
	snprintf(s->path, sizeof(s->path), "fd %d", fd);
	s->fd = fd;
	s->flags = -1; /* not ours to close */
}

int jsonl_reopen(struct jsonl_sink *s, uint64_t now_ns)
{
	int fd, seekable = 0;

	if (s->fd < 0 || s->flags < 0 || strcmp(s->path, "-") == 0)
		return 0;
	jsonl_flush(s, now_ns);
	fd = open_checked(s->path, s->flags, &seekable);
	if (fd < 0)
		return fd;
	close(s->fd);
	s->fd = fd;
	s->seekable = seekable;
	s->need_newline = 0;
	s->reopens++;
	return 0;
}

void jsonl_close(struct jsonl_sink *s)
{
	if (s->fd < 0)
		return;
	jsonl_flush(s, 0);
	if (s->fd != STDOUT_FILENO && s->flags >= 0)
		close(s->fd);
	s->fd = -1;
	jw_free(&s->w);
}

void jw_addr(struct jsonw *w, int family, const uint8_t *addr)
{
	char tmp[INET6_ADDRSTRLEN];

	if (family != AF_INET6) { /* dotted quad by hand: glibc's inet_ntop4 is a sprintf */
		char *o = tmp;
		for (int i = 0; i < 4; i++) {
			unsigned b = addr[i];
			if (b >= 100)
				*o++ = (char)('0' + b / 100);
			if (b >= 10)
				*o++ = (char)('0' + b / 10 % 10);
			*o++ = (char)('0' + b % 10);
			*o++ = '.';
		}
		jw_strn(w, tmp, (size_t)(o - tmp - 1));
		return;
	}
	if (!inet_ntop(family == AF_INET6 ? AF_INET6 : AF_INET, addr, tmp, sizeof(tmp))) {
		jw_null(w);
		return;
	}
	jw_str(w, tmp);
}

struct jsonw *jsonl_begin(struct jsonl_sink *s, uint64_t ts_ns, const char *event,
			  uint64_t cgroup_id, const char *cgroup, uint32_t pid, uint32_t tid,
			  const char *comm)
{
	struct jsonw *w = &s->w;

	if (!s->pending || ts_ns < s->pending_first_ns)
		s->pending_first_ns = ts_ns;
	if (!s->pending || ts_ns > s->pending_last_ns)
		s->pending_last_ns = ts_ns;
	jw_begin(w);
	jw_key(w, "ts");
	jw_ts(w, ts_ns);
	jw_kstr(w, "event", event);
	jw_ku64(w, "cgroup_id", cgroup_id);
	jw_kstr(w, "cgroup", cgroup);
	jw_key(w, "pid");
	if (pid)
		jw_u64(w, pid);
	else
		jw_null(w);
	jw_key(w, "tid");
	if (tid)
		jw_u64(w, tid);
	else
		jw_null(w);
	jw_kstr(w, "comm", comm && comm[0] ? comm : NULL);
	return w;
}

void jsonl_end(struct jsonl_sink *s)
{
	jw_end(&s->w);
	s->pending++;
}

static void endpoint(struct jsonw *w, const struct tg_obs *o, int with_proto)
{
	if (!o->has_addr)
		return;
	jw_key(w, "daddr");
	jw_addr(w, o->family, o->daddr);
	jw_ku64(w, "dport", o->dport);
	if (with_proto)
		jw_kstr(w, "proto", o->l4 == TG_IPPROTO_UDP ? "udp" : "tcp");
}

void jsonl_obs(struct jsonl_sink *s, const struct tg_obs *o)
{
	struct jsonw *w = jsonl_begin(s, o->ts_ns, obs_type_name(o->type), o->cgroup_id,
				      o->cgroup, o->pid, o->tid, o->comm);

	if (o->agent)
		jw_kstr(w, "container", o->agent);

	switch (o->type) {
	case OBS_CONNECT:
	case OBS_CLOSE:
	case OBS_UDP:
		endpoint(w, o, 1);
		if (o->type == OBS_UDP)
			jw_ku64(w, "count", o->count);
		break;
	case OBS_REQUEST:
	case OBS_RESPONSE:
		jw_kstr(w, "proto", obs_http_name(o->http));
		jw_kstr(w, "tls", obs_tls_name(o->tls));
		endpoint(w, o, 0);
		if (o->type == OBS_RESPONSE) {
			jw_key(w, "status");
			if (o->status)
				jw_u64(w, (uint64_t)o->status);
			else
				jw_null(w);
		}
		jw_kstr(w, "method", o->method);
		jw_kstr(w, "host", o->host);
		jw_kstr(w, "path", o->path);
		jw_kstr(w, "query", o->query);
		if (o->type == OBS_REQUEST) {
			jw_kstr(w, "auth_fp", o->auth_fp[0] ? o->auth_fp : NULL);
			if (o->truncated)
				jw_key(w, "truncated"), jw_bool(w, 1);
		}
		jw_ku64(w, "bytes", o->bytes);
		if (o->type == OBS_RESPONSE) {
			jw_key(w, "latency_ms");
			if (o->latency_ms >= 0)
				jw_double(w, o->latency_ms, 3);
			else
				jw_null(w);
			if (o->retry_after_s >= 0)
				jw_ki64(w, "retry_after", o->retry_after_s);
		}
		break;
	case OBS_DROPS:
		jw_ku64(w, "count", o->count);
		break;
	}
	jsonl_end(s);
}

void jsonl_alert(struct jsonl_sink *s, const struct tg_alert *a)
{
	struct jsonw *w = jsonl_begin(s, a->ts_ns, "alert", a->cgroup_id, a->cgroup, a->pid, 0,
				      a->comm);

	jw_kstr(w, "technique", a->technique);
	jw_kstr(w, "rule", a->rule);
	jw_kstr(w, "severity", alert_severity_name(a->severity));
	jw_kstr(w, "host", a->host);
	jw_kstr(w, "endpoint", a->endpoint);
	jw_ku64(w, "count", a->count);
	jw_key(w, "value");
	jw_num(w, a->value);
	jw_ku64(w, "window_s", a->window_s);
	jw_key(w, "threshold");
	jw_num(w, a->threshold);
	jw_key(w, "first_ts");
	jw_ts(w, a->first_ts_ns);
	jw_key(w, "last_ts");
	jw_ts(w, a->last_ts_ns);
	jw_key(w, "samples");
	jw_arr_begin(w);
	for (int i = 0; i < a->nsamples && i < ALERT_MAX_SAMPLES; i++)
		jw_str(w, a->samples[i]);
	jw_arr_end(w);
	jw_kstr(w, "detail", a->detail);
	jw_ku64(w, "drops", a->drops);
	jw_ku64(w, "suppressed", a->suppressed);
	jsonl_end(s);
}

/* write(2) all of [buf, buf+len). Returns 0, or -errno with *done the bytes written. */
static int write_all(int fd, const char *buf, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(fd, buf + *done, len - *done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		*done += (size_t)n;
	}
	return 0;
}

/* The "lost" line announcing the gap, written before the first lines after it. */
static int write_gap(struct jsonl_sink *s)
{
	struct jsonw g;
	size_t done;
	int err;

	jw_init(&g);
	jw_begin(&g);
	jw_key(&g, "ts");
	jw_ts(&g, now_real_ns());
	jw_kstr(&g, "event", "lost");
	jw_ku64(&g, "lines", s->gap_lines);
	jw_key(&g, "first_ts");
	jw_ts(&g, s->gap_first_ns);
	jw_key(&g, "last_ts");
	jw_ts(&g, s->gap_last_ns);
	jw_end(&g);
	err = g.oom ? -ENOMEM : 0;
	if (!err)
		err = write_all(s->fd, g.buf, g.len, &done);
	if (err && done && s->seekable) {
		/* cut back the fragment; the gap stays to be announced */
		off_t end = lseek(s->fd, 0, SEEK_END);
		if (end >= (off_t)done && ftruncate(s->fd, end - (off_t)done) == 0)
			done = 0;
	}
	if (err && done)
		s->need_newline = 1;
	jw_free(&g);
	if (!err)
		s->gap_lines = 0;
	return err;
}

int jsonl_flush(struct jsonl_sink *s, uint64_t now_ns)
{
	struct jsonw *w = &s->w;
	size_t done = 0, keep = 0;
	uint64_t lost = 0;
	off_t start = -1;
	int err = 0;

	if (s->fd < 0)
		return 0;
	if (!s->pending && !w->len)
		return 0;
	if (s->seekable)
		start = lseek(s->fd, 0, SEEK_END);
	if (s->need_newline) {
		err = write_all(s->fd, "\n", 1, &done);
		if (!err)
			s->need_newline = 0;
	}
	if (!err && s->gap_lines)
		err = write_gap(s);
	if (!err && s->seekable)
		start = lseek(s->fd, 0, SEEK_END);
	if (!err && w->oom)
		err = -ENOMEM;
	if (!err)
		err = write_all(s->fd, w->buf, w->len, &done);
	else
		done = 0;
	if (err) {
		/* keep the whole lines written; cut back or close off the fragment */
		const char *nl = done ? memrchr(w->buf, '\n', done) : NULL;
		keep = nl ? (size_t)(nl - w->buf) + 1 : 0;
		if (done > keep) {
			if (s->seekable && start >= 0 && ftruncate(s->fd, start + (off_t)keep) == 0)
				;
			else
				s->need_newline = 1;
		}
		uint64_t kept = 0;
		for (const char *p = w->buf; p < w->buf + keep; p++)
			kept += *p == '\n';
		lost = s->pending > kept ? s->pending - kept : 0;
		s->lines += kept;
		s->lost_lines += lost;
		if (lost) {
			if (!s->gap_lines || s->pending_first_ns < s->gap_first_ns)
				s->gap_first_ns = s->pending_first_ns;
			if (!s->gap_lines || s->pending_last_ns > s->gap_last_ns)
				s->gap_last_ns = s->pending_last_ns;
			s->gap_lines += lost;
		}
		if (err != s->last_err || !now_ns || now_ns - s->last_err_report_ns > 60000000000ULL) {
			tg_err("write %s: %s (%llu output lines lost so far)",
			       strcmp(s->path, "-") ? s->path : "stdout", strerror(-err),
			       (unsigned long long)s->lost_lines);
			s->last_err_report_ns = now_ns;
		}
		s->last_err = err;
	} else {
		s->lines += s->pending;
		s->last_err = 0;
	}
	w->len = 0;
	w->oom = 0;
	w->need_comma = 0;
	s->pending = 0;
	return err;
}

// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sink_jsonl.c - JSON lines output. See sink_jsonl.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "sink_jsonl.h"
#include "tollgate_abi.h"

int jsonl_open(struct jsonl_sink *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	jw_init(&s->w);
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (strcmp(path, "-") == 0) {
		s->f = stdout;
		return 0;
	}
	s->f = fopen(path, "w");
	return s->f ? 0 : -errno;
}

void jsonl_close(struct jsonl_sink *s)
{
	if (!s->f)
		return;
	jsonl_flush(s, 0);
	if (s->f != stdout)
		fclose(s->f);
	else
		fflush(stdout);
	s->f = NULL;
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

int jsonl_flush(struct jsonl_sink *s, uint64_t now_ns)
{
	int err;

	if (!s->f)
		return 0;
	err = jw_write(&s->w, s->f);
	if (!err && fflush(s->f) != 0)
		err = errno ? -errno : -EIO;
	if (err) {
		s->lost_lines += s->pending;
		if (err != s->last_err || !now_ns || now_ns - s->last_err_report_ns > 60000000000ULL) {
			tg_err("write %s: %s (%llu output lines lost so far)",
			       strcmp(s->path, "-") ? s->path : "stdout", strerror(-err),
			       (unsigned long long)s->lost_lines);
			s->last_err_report_ns = now_ns;
		}
		s->last_err = err;
		clearerr(s->f);
	} else {
		s->lines += s->pending;
		s->last_err = 0;
	}
	s->pending = 0;
	return err;
}

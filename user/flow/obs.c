// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * obs.c - names of observation types and fields, shared by the JSON writer and reader.
 */
#include <string.h>

#include "obs.h"
#include "tollgate_abi.h"

static const char *const type_names[OBS_TYPE_MAX] = {
	[OBS_CONNECT] = "connect",       [OBS_CLOSE] = "close",
	[OBS_REQUEST] = "http_request",  [OBS_RESPONSE] = "http_response",
	[OBS_UDP] = "udp_send",          [OBS_DROPS] = "drops",
};

void obs_set_template(struct tg_obs *o, struct obs_tpl *t)
{
	if (!o->path) {
		o->tpl = NULL;
		o->tpl_info = NULL;
		return;
	}
	tpl_path(o->path, strlen(o->path), t->tpl, sizeof(t->tpl), &t->info);
	o->tpl = t->tpl;
	o->tpl_info = &t->info;
}

const char *obs_type_name(int type)
{
	return (type > 0 && type < OBS_TYPE_MAX) ? type_names[type] : "unknown";
}

int obs_type_from_name(const char *name)
{
	for (int t = 1; t < OBS_TYPE_MAX; t++)
		if (type_names[t] && strcmp(type_names[t], name) == 0)
			return t;
	return 0;
}

const char *obs_http_name(int http)
{
	switch (http) {
	case OBS_HTTP_10: return "http/1.0";
	case OBS_HTTP_11: return "http/1.1";
	case OBS_HTTP_H2: return "h2";
	default: return NULL;
	}
}

int obs_http_from_name(const char *name)
{
	for (int h = OBS_HTTP_10; h <= OBS_HTTP_H2; h++)
		if (strcmp(obs_http_name(h), name) == 0)
			return h;
	return OBS_HTTP_UNKNOWN;
}

const char *obs_tls_name(int tls)
{
	switch (tls) {
	case TG_SRC_OPENSSL: return "openssl";
	case TG_SRC_GNUTLS: return "gnutls";
	default: return NULL;
	}
}

int obs_tls_from_name(const char *name)
{
	if (strcmp(name, "openssl") == 0)
		return TG_SRC_OPENSSL;
	if (strcmp(name, "gnutls") == 0)
		return TG_SRC_GNUTLS;
	return 0;
}

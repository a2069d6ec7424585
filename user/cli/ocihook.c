// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * ocihook.c - `tollgate oci-hook`: an OCI runtime hook (runtime-spec config.md "POSIX-platform
 * Hooks"; runc, crun and podman run it from a hooks.d JSON, see hooks/).
 *
 * In:  the container state JSON on stdin (id, pid, bundle, annotations).
 * Out: one "register" request to the daemon's control socket: the container's cgroup (from
 *      /proc/PID/cgroup), its name (annotation tollgate.io/name, the CRI container name, or
 *      the id) and its policy profile (annotation tollgate.io/policy).
 *
 * A hook must never keep a container from starting: whatever goes wrong (no daemon, bad
 * state JSON, process gone), it says so on stderr and exits 0.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "control.h"
#include "log.h"

#define STATE_MAX (1 << 20)

static const char *annotation(json_t *ann, const char *key)
{
	return json_string_value(json_object_get(ann, key));
}

/* The cgroup v2 path of @pid ("0::/path"), into @out. Returns 0 or -1. */
static int pid_cgroup(long pid, char *out, size_t n)
{
	char path[64], line[4096];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(out, n, "%s", line + 3);
		ret = 0;
	}
	fclose(f);
	return ret;
}

int cmd_oci_hook(int argc, char **argv)
{
	const char *ctl = CONTROL_DEFAULT_PATH;
	char *state = malloc(STATE_MAX + 1), cg[4096], shortid[13];
	size_t len = 0, n;
	json_error_t je;
	json_t *st = NULL, *resp = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--control") && i + 1 < argc)
			ctl = argv[++i];
		else if (!strcmp(argv[i], "--help")) {
			printf("Usage: tollgate oci-hook [--control PATH] < container-state.json\n");
			free(state);
			return 0;
		}
	}
	if (!state)
		return 0;
	while (len < STATE_MAX && (n = fread(state + len, 1, STATE_MAX - len, stdin)) > 0)
		len += n;
	state[len] = 0;
	st = json_loads(state, 0, &je);
	free(state);
	if (!st || !json_is_object(st)) {
		tg_err("oci-hook: the container state on stdin is not JSON (line %d: %s); "
		       "not registered",
		       je.line, je.text);
		json_decref(st);
		return 0;
	}
	const char *id = json_string_value(json_object_get(st, "id"));
	json_t *pidj = json_object_get(st, "pid");
	json_t *ann = json_object_get(st, "annotations");
	long pid = json_is_integer(pidj) ? (long)json_integer_value(pidj) : 0;
	if (!id || pid <= 0 || pid_cgroup(pid, cg, sizeof(cg))) {
		tg_err("oci-hook: no id or no live pid in the container state; not registered");
		json_decref(st);
		return 0;
	}
	const char *name = annotation(ann, "tollgate.io/name");
	if (!name)
		name = annotation(ann, "io.kubernetes.cri.container-name");
	if (!name)
		name = annotation(ann, "io.kubernetes.container.name");
	if (!name) {
		snprintf(shortid, sizeof(shortid), "%s", id);
		name = shortid;
	}
	const char *profile = annotation(ann, "tollgate.io/policy");
	json_t *req = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:I}", "cmd", "register", "cgroup", cg,
				"name", name, "id", id, "profile", profile, "pid", (json_int_t)pid);
	int err = req ? control_request(ctl, req, &resp, 2000) : -ENOMEM; /* json_pack: no memory */
	json_decref(req);
	if (err) {
		tg_err("oci-hook: container %s not registered: daemon on %s: %s", name, ctl,
		       strerror(err < 0 ? -err : err));
	} else if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		tg_err("oci-hook: container %s not registered: %s", name, e ? e : "refused");
	}
	json_decref(resp);
	json_decref(st);
	return 0;
}

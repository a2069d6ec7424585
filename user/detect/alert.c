// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <string.h>

#include "alert.h"

static const char *const sev_names[] = {NULL, "low", "medium", "high", "critical"};

const char *alert_severity_name(int sev)
{
	return (sev >= SEV_LOW && sev <= SEV_CRITICAL) ? sev_names[sev] : "unknown";
}

int alert_severity_from_name(const char *name)
{
	for (int s = SEV_LOW; s <= SEV_CRITICAL; s++)
		if (!strcmp(sev_names[s], name))
			return s;
	return 0;
}

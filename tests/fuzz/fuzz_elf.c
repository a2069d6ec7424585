// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_elf.c - what tollgate does with a file that looks like a TLS library: elf_open,
 * elf_find_funcs, elf_vaddr_to_offset, elf_read_code (user/capture/elf_file.c, over libelf) and
 * probe_plan with its x86 decoding (user/capture/probe_site.c, over capstone).
 *
 * Input: the whole file. It is written to a memfd and opened through /proc/self/fd, as
 * tollgate opens /proc/PID/root/... paths. The x86 helpers also get the raw input as code.
 * Checks: memory safety in our code (libelf and capstone are not instrumented, ASan still
 * sees their reads of our buffers), and that a plan only names file offsets inside the file.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "elf_file.h"
#include "fuzz.h"
#include "probe_site.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_func funcs[] = {
		{.name = "SSL_write"}, {.name = "SSL_write_ex"}, {.name = "SSL_read"},
		{.name = "SSL_read_ex"}, {.name = "gnutls_record_send"},
	};
	struct probe_plan plan;
	struct elf_file *e;
	char path[64];
	uint64_t v;
	int fd;

	/* the x86 helpers on the raw bytes */
	(void)x86_is_emulated(data, size);
	(void)x86_arg_site(data, size, 3, &v);
	(void)x86_first_call(data, size, 0x1000, 4, &v);

	fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	for (size_t off = 0; off < size;) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (elf_open(path, &e) == 0) {
		int found = elf_find_funcs(e, funcs, 5);
		FUZZ_CHECK(found >= 0 && found <= 5);
		for (int i = 0; i < 5; i++) {
			uint64_t off;
			uint8_t code[64];
			if (!funcs[i].vaddr)
				continue;
			if (elf_vaddr_to_offset(e, funcs[i].vaddr, &off) == 0) {
				long n = elf_read_code(e, funcs[i].vaddr, code, sizeof(code));
				FUZZ_CHECK(n <= (long)sizeof(code));
			}
		}
		memset(&plan, 0, sizeof(plan));
		if (probe_plan(e, &plan) == 0) {
			FUZZ_CHECK(plan.n >= 0 && plan.n <= PROBE_MAX_SITES);
			for (int i = 0; i < plan.n; i++) {
				FUZZ_CHECK(plan.sites[i].offset < size);
				FUZZ_CHECK(memchr(plan.sites[i].desc, 0, sizeof(plan.sites[i].desc)));
			}
		}
		elf_close(e);
	}
	close(fd);
	return 0;
}

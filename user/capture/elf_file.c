// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * elf_file.c - symbols and code of an ELF file through libelf. See elf_file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_file.h"

struct elf_file {
	int fd;
	Elf *elf;
};

int elf_open(const char *path, struct elf_file **out)
{
	struct elf_file *e;
	GElf_Ehdr eh;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (e->fd < 0) {
		int err = -errno;
		free(e);
		return err;
	}
	/* read(), not mmap(): the file may belong to an untrusted process that can truncate
	 * it while we parse, and a truncated mapping raises SIGBUS; a short read is an error */
	e->elf = elf_begin(e->fd, ELF_C_READ, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF || !gelf_getehdr(e->elf, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
		elf_close(e);
		return -ENOEXEC;
	}
	*out = e;
	return 0;
}

void elf_close(struct elf_file *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

static int scan_symtab(struct elf_file *e, Elf64_Word type, struct elf_func *funcs, int n,
		       int *found)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != type || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d)
			continue;
		size_t cnt = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < cnt && *found < n; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s))
				break;
			if (GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF ||
			    !s.st_value)
				continue;
			const char *name = elf_strptr(e->elf, sh.sh_link, s.st_name);
			if (!name)
				continue;
			for (int k = 0; k < n; k++) {
				if (funcs[k].vaddr || strcmp(funcs[k].name, name) != 0)
					continue;
				funcs[k].vaddr = s.st_value;
				funcs[k].size = s.st_size;
				(*found)++;
			}
		}
	}
	return *found;
}

int elf_find_funcs(struct elf_file *e, struct elf_func *funcs, int n)
{
	int found = 0;

	for (int k = 0; k < n; k++)
		funcs[k].vaddr = funcs[k].size = 0;
	scan_symtab(e, SHT_DYNSYM, funcs, n, &found);
	if (found < n)
		scan_symtab(e, SHT_SYMTAB, funcs, n, &found);
	return found;
}

static int segment_of(struct elf_file *e, uint64_t vaddr, GElf_Phdr *out)
{
	size_t n;

	if (elf_getphdrnum(e->elf, &n))
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e->elf, (int)i, &ph))
			continue;
		if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*out = ph;
			return 0;
		}
	}
	return -ENOENT;
}

int elf_vaddr_to_offset(struct elf_file *e, uint64_t vaddr, uint64_t *off)
{
	GElf_Phdr ph;

	if (segment_of(e, vaddr, &ph))
		return -ENOENT;
	*off = vaddr - ph.p_vaddr + ph.p_offset;
	return 0;
}

long elf_read_code(struct elf_file *e, uint64_t vaddr, void *buf, size_t n)
{
	GElf_Phdr ph;
	ssize_t r;

	if (segment_of(e, vaddr, &ph))
		return -ENOENT;
	uint64_t left = ph.p_vaddr + ph.p_filesz - vaddr;
	if (n > left)
		n = left;
	r = pread(e->fd, buf, n, (off_t)(vaddr - ph.p_vaddr + ph.p_offset));
	return r < 0 ? -errno : (long)r;
}

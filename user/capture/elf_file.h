/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * elf_file.h - what tollgate needs from an ELF file to place uprobes: exported function
 * symbols, the file offset of a virtual address, and the code bytes there (libelf).
 */
#ifndef TG_ELF_FILE_H
#define TG_ELF_FILE_H

#include <stddef.h>
#include <stdint.h>

struct elf_file;

struct elf_func {
	const char *name;  /* in: the symbol to find */
	uint64_t vaddr;    /* out: st_value; 0 when not found */
	uint64_t size;     /* out: st_size */
};

/*
 * elf_open - open @path read-only. Returns 0, -ENOEXEC when it is not a 64-bit x86-64 ELF
 * file, or -errno from open().
 */
int elf_open(const char *path, struct elf_file **out);
void elf_close(struct elf_file *e);

/* Look up defined STT_FUNC symbols in .dynsym (then .symtab); fills vaddr/size of each of
 * @funcs found. Returns how many were found. */
int elf_find_funcs(struct elf_file *e, struct elf_func *funcs, int n);

/* File offset of @vaddr inside an executable PT_LOAD segment. Returns 0 or -ENOENT. */
int elf_vaddr_to_offset(struct elf_file *e, uint64_t vaddr, uint64_t *off);

/* Read up to @n bytes of code at @vaddr (fewer at the end of the segment). Returns the
 * number of bytes read, or a negative errno. */
long elf_read_code(struct elf_file *e, uint64_t vaddr, void *buf, size_t n);

#endif

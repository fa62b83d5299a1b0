/* The link emulator: theory of operation.
 *
 * A test may declare hosts (lab.yaml's "hosts:") joined by a link with
 * loss, duplication, reordering and delay ("link:").  The kernels this runs
 * on may have no sch_netem, so the link is built from TUN devices, which
 * every Linux kernel has, and a small forwarder process of the grader's.
 *
 * Hosts.  The sandbox's init (root of the test's user namespace) makes one
 * network namespace per host with unshare(CLONE_NEWNET), inside the test's
 * own namespaces: lo up, and a TUN device "link0" (IFF_TUN | IFF_NO_PI, MTU
 * 65535 so that no datagram is fragmented) with address 10.0.0.N/24 for the
 * N-th host.  Those addresses exist nowhere else: the machine's own
 * namespace is never touched, and there is no route out of 10.0.0.0/24.
 * The init keeps each namespace's fd (a program "on" a host setns()es into
 * it before its privileges are dropped and the syscall filter, which denies
 * setns, is installed) and each TUN fd, then unmounts /dev/net/tun so that
 * no program of the test can open it (none could use it anyway: creating or
 * attaching a TUN device needs CAP_NET_ADMIN, which every program loses).
 *
 * The forwarder.  A child of the init holding every TUN fd reads each
 * packet a host sends, decides its fate and writes it to the TUN device of
 * the host its destination address names.  A packet to an address no host
 * has, or whose source address is not its host's, is dropped.  The queue
 * of packets in flight is bounded (LINK_QUEUE), and so is the log.
 *
 * The schedule.  A UDP or TCP packet's fate (dropped, duplicated, held back,
 * or carried) is a function of the seed, the direction (from, to), a hash
 * of its transport payload, and which occurrence of that payload in that
 * direction it is: the same datagram gets the same fate whatever the
 * interleaving of several senders, and a TCP retransmission (same payload,
 * next occurrence) gets a fresh draw.  A TCP SYN is never dropped (its
 * retransmission takes a second or more).  Ports are not part of it (the
 * kernel picks ephemeral ports at random).  A held-back packet is carried
 * right after the next packet of its flow (same hosts, protocol and ports),
 * or after a while (LINK_HOLD_UDP_MS, LINK_HOLD_MS for TCP), or when the
 * link is drained.  delay_ms delays
 * every packet alike (latency; order kept).
 *
 * The log.  Every decision and every delivery is recorded in memory shared
 * with the init (an anonymous shared mapping made before the fork), so that
 * a check unit can compute what a receiver must have seen, and a failing
 * test's report shows the schedule in words.  The init asks the forwarder
 * through a socket pair to drain (answer when nothing is in flight) and
 * closes it to stop it. */
#define _GNU_SOURCE
#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

#define TUN_NAME "link0"
#define LINK_MTU 65535
#define LINK_QUEUE 1024      /* packets in flight (delayed or held back) */
/* A held-back packet waits at most this long for its flow's next one.  A
 * UDP sender does not wait for answers, so its next datagram comes unless
 * it has ended (then the drain before the next step releases it): a long
 * bound keeps the swap independent of how busy the machine is.  A TCP
 * sender may be waiting for an acknowledgement of the held segment: a
 * short bound, or every held segment would cost a retransmission. */
#define LINK_HOLD_UDP_MS 2000
#define LINK_HOLD_MS 10
#define LINK_LOG_MAX 131072  /* records kept (two a packet: its fate, its delivery) */
#define LINK_TXQUEUE 4096    /* packets a host's TUN device queues for the forwarder */
#define OCC_SLOTS 16384      /* payloads whose occurrences are counted */
#define READ_BURST 64        /* packets read from one device before looking at the others */

struct link_log {
	uint32_t n;    /* records written (atomic) */
	uint32_t lost; /* records that did not fit */
	struct link_event ev[LINK_LOG_MAX];
};

struct link {
	size_t nhosts;
	char *const *names;
	struct link_faults faults;
	long seed;
	int netns[LINK_MAX_HOSTS];
	int tun[LINK_MAX_HOSTS];
	int own_netns;
	int ctl; /* the init's end of the control socket */
	unsigned char drains; /* drain requests so far (the id of the last) */
	pid_t pid;
	struct link_log *log;
};

/* ---- the schedule ------------------------------------------------------ */

static uint64_t
mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t
link_hash(const void *buf, size_t len, uint64_t h)
{
	const unsigned char *p = buf;
	h ^= 0xcbf29ce484222325ULL; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static double
draw(uint64_t h, unsigned k)
{
	return (double)(mix(h + k) >> 11) * (1.0 / 9007199254740992.0);
}

enum link_fate
link_decide(long seed, const struct link_faults *f, unsigned from, unsigned to, uint64_t hash, uint32_t occurrence)
{
	uint64_t h = mix((uint64_t)seed);
	h = mix(h ^ ((uint64_t)from << 8 | to));
	h = mix(h ^ hash);
	h = mix(h ^ occurrence);
	if (draw(h, 1) < f->loss)
		return LINK_DROP;
	if (draw(h, 2) < f->duplicate)
		return LINK_DUPLICATE;
	if (draw(h, 3) < f->reorder)
		return LINK_REORDER;
	return LINK_PASS;
}

/* ---- making the hosts (in the init) ------------------------------------ */

static int
ifreq_ioctl(int s, unsigned long req, struct ifreq *ifr)
{
	snprintf(ifr->ifr_name, sizeof ifr->ifr_name, "%s", ifr->ifr_name[0] ? ifr->ifr_name : TUN_NAME);
	return ioctl(s, req, ifr);
}

static int
iface_up(int s, const char *name)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int
set_inet(int s, unsigned long req, uint32_t addr)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	return ifreq_ioctl(s, req, &ifr);
}

/* In host i's fresh namespace (the caller's now): lo and the TUN device. */
static int
configure_host(struct link *l, size_t i, char *err, size_t errlen)
{
	int tun = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (tun < 0)
		return errf(err, errlen, "cannot open /dev/net/tun: %s%s", strerror(errno),
			    errno == ENOENT ? " (this machine or container has no TUN device; in Docker: --device /dev/net/tun)" : "");
	l->tun[i] = tun;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", TUN_NAME);
	if (ioctl(tun, TUNSETIFF, &ifr) < 0)
		return errf(err, errlen, "cannot create a TUN device: %s%s", strerror(errno),
			    errno == EPERM ? " (without a user namespace this needs CAP_NET_ADMIN: docker run --cap-add NET_ADMIN)" : "");
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errf(err, errlen, "socket: %s", strerror(errno));
	struct ifreq mtu;
	memset(&mtu, 0, sizeof mtu);
	mtu.ifr_mtu = LINK_MTU;
	int rc = iface_up(s, "lo");
	if (rc == 0)
		rc = ifreq_ioctl(s, SIOCSIFMTU, &mtu);
	struct ifreq txq;
	memset(&txq, 0, sizeof txq);
	txq.ifr_qlen = LINK_TXQUEUE;
	if (rc == 0 && ifreq_ioctl(s, SIOCSIFTXQLEN, &txq) < 0) {
		/* refused in a user namespace: the default queue (500) holds a
		 * lab's bursts, and what overflows it is counted (link_kernel_drops) */
	}
	if (rc == 0)
		rc = set_inet(s, SIOCSIFADDR, 0x0a000001u + (uint32_t)i);
	if (rc == 0)
		rc = set_inet(s, SIOCSIFNETMASK, 0xffffff00u);
	if (rc == 0)
		rc = iface_up(s, TUN_NAME);
	close(s);
	if (rc < 0)
		return errf(err, errlen, "cannot configure host \"%s\": %s", l->names[i], strerror(errno));
	/* No IPv6 chatter (router solicitations) on the link. */
	int fd = open("/proc/sys/net/ipv6/conf/" TUN_NAME "/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1\n", 2) < 0) {
			/* without IPv6 in the kernel: nothing to quiet */
		}
		close(fd);
	}
	if ((l->netns[i] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
		return errf(err, errlen, "cannot keep host \"%s\"'s namespace: %s", l->names[i], strerror(errno));
	return 0;
}

static int
make_host(struct link *l, size_t i, char *err, size_t errlen)
{
	if (unshare(CLONE_NEWNET) < 0)
		return errf(err, errlen, "cannot create host \"%s\"'s network namespace: %s", l->names[i], strerror(errno));
	int rc = configure_host(l, i, err, errlen);
	if (setns(l->own_netns, CLONE_NEWNET) < 0)
		return errf(err, errlen, "cannot return to the test's network namespace: %s", strerror(errno));
	return rc;
}

/* ---- the forwarder ------------------------------------------------------ */

struct packet {
	int64_t due, hold_until;
	uint32_t number;
	uint8_t from, to, proto, held;
	uint16_t sport, dport;
	size_t len;
	unsigned char *buf;
};

struct fwd {
	struct link *l;
	struct packet q[LINK_QUEUE];
	size_t nq;
	uint32_t numbered;
	struct {
		uint64_t key;
		uint32_t count;
	} occ[OCC_SLOTS];
	size_t nocc;
};

static void
log_event(struct link_log *log, const struct link_event *e)
{
	uint32_t n = __atomic_load_n(&log->n, __ATOMIC_RELAXED);
	if (n >= LINK_LOG_MAX) {
		log->lost++;
		return;
	}
	log->ev[n] = *e;
	__atomic_store_n(&log->n, n + 1, __ATOMIC_RELEASE);
}

/* How many packets with this key came before (counting this one). */
static uint32_t
occurrence(struct fwd *f, uint64_t key)
{
	key |= 1; /* 0 marks a free slot */
	size_t i = (size_t)(key % OCC_SLOTS);
	for (size_t probes = 0; probes < OCC_SLOTS; probes++, i = (i + 1) % OCC_SLOTS) {
		if (f->occ[i].key == key)
			return f->occ[i].count++;
		if (f->occ[i].key == 0) {
			if (f->nocc + 1 >= OCC_SLOTS)
				break; /* full: every new payload counts as a first */
			f->occ[i].key = key;
			f->occ[i].count = 1;
			f->nocc++;
			return 0;
		}
	}
	return 0;
}

/* Where the transport payload of an IPv4 packet starts; fills e. */
static int
parse_packet(const unsigned char *b, size_t len, struct link_event *e, size_t *payload, uint32_t *src, uint32_t *dst)
{
	if (len < 20 || b[0] >> 4 != 4)
		return -1;
	size_t ihl = (size_t)(b[0] & 15) * 4;
	if (ihl < 20 || ihl > len)
		return -1;
	*src = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15];
	*dst = (uint32_t)b[16] << 24 | (uint32_t)b[17] << 16 | (uint32_t)b[18] << 8 | b[19];
	e->proto = b[9];
	size_t off = ihl;
	int first_fragment = ((b[6] & 0x1f) | b[7]) == 0;
	if (first_fragment && e->proto == IPPROTO_UDP && len >= ihl + 8) {
		e->sport = (uint16_t)(b[ihl] << 8 | b[ihl + 1]);
		e->dport = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
		off = ihl + 8;
	} else if (first_fragment && e->proto == IPPROTO_TCP && len >= ihl + 20) {
		e->sport = (uint16_t)(b[ihl] << 8 | b[ihl + 1]);
		e->dport = (uint16_t)(b[ihl + 2] << 8 | b[ihl + 3]);
		e->tcp_flags = b[ihl + 13];
		size_t doff = (size_t)(b[ihl + 12] >> 4) * 4;
		off = ihl + doff <= len ? ihl + doff : len;
	}
	*payload = off;
	e->len = (uint32_t)(len - off);
	memcpy(e->head, b + off, len - off < LINK_HEAD ? len - off : LINK_HEAD);
	return 0;
}

static void
enqueue(struct fwd *f, const struct link_event *e, const unsigned char *buf, size_t len, int held)
{
	if (f->nq == LINK_QUEUE) {
		struct link_event full = *e;
		full.fate = LINK_QUEUE_FULL;
		log_event(f->l->log, &full);
		return;
	}
	int64_t now = now_ms();
	struct packet *p = &f->q[f->nq++];
	*p = (struct packet){ .due = now + f->l->faults.delay_ms,
			      .hold_until = now + (e->proto == IPPROTO_UDP ? LINK_HOLD_UDP_MS : LINK_HOLD_MS),
			      .number = e->packet, .from = e->from, .to = e->to, .proto = e->proto,
			      .held = (uint8_t)held, .sport = e->sport, .dport = e->dport, .len = len };
	p->buf = xmalloc(len);
	memcpy(p->buf, buf, len);
}

static void
handle_packet(struct fwd *f, unsigned from, const unsigned char *buf, size_t len)
{
	struct link *l = f->l;
	struct link_event e;
	memset(&e, 0, sizeof e);
	size_t off;
	uint32_t src, dst;
	if (parse_packet(buf, len, &e, &off, &src, &dst) < 0)
		return; /* not IPv4: nothing a test sends */
	e.packet = ++f->numbered;
	e.from = (uint8_t)from;
	uint32_t host = dst - 0x0a000001u;
	e.to = host < l->nhosts ? (uint8_t)host : 255;
	uint64_t seedh = (uint64_t)e.proto << 8 | (e.proto == IPPROTO_TCP ? (e.tcp_flags & 0x07) : 0);
	e.hash = link_hash(buf + off, len - off, seedh);
	if (src != 0x0a000001u + from) {
		e.fate = LINK_SPOOFED;
	} else if (e.to == 255) {
		e.fate = LINK_NO_HOST;
	} else if (e.proto == IPPROTO_UDP || e.proto == IPPROTO_TCP) {
		e.occurrence = occurrence(f, e.hash ^ mix((uint64_t)from << 8 | e.to));
		e.fate = (uint8_t)link_decide(l->seed, &l->faults, from, e.to, e.hash, e.occurrence);
		/* A lost SYN costs a second (then two, four...) before TCP sends
		 * it again: a test's time would go to waiting, and a correct
		 * program could time out under an unlucky seed.  Connection
		 * set-up is never lost; everything after it may be. */
		if (e.proto == IPPROTO_TCP && (e.tcp_flags & 0x02) && e.fate == LINK_DROP)
			e.fate = LINK_PASS;
	} else {
		e.fate = LINK_PASS; /* ICMP and the like: carried, no faults */
	}
	log_event(l->log, &e);
	if (e.fate == LINK_PASS || e.fate == LINK_REORDER)
		enqueue(f, &e, buf, len, e.fate == LINK_REORDER);
	else if (e.fate == LINK_DUPLICATE) {
		enqueue(f, &e, buf, len, 0);
		enqueue(f, &e, buf, len, 0);
	}
}

static int
same_flow(const struct packet *a, const struct packet *b)
{
	return a->from == b->from && a->to == b->to && a->proto == b->proto && a->sport == b->sport &&
	       a->dport == b->dport;
}

static void
deliver(struct fwd *f, struct packet *p)
{
	ssize_t n;
	while ((n = write(f->l->tun[p->to], p->buf, p->len)) < 0 && errno == EINTR)
		;
	struct link_event e;
	memset(&e, 0, sizeof e);
	size_t off;
	uint32_t src, dst;
	parse_packet(p->buf, p->len, &e, &off, &src, &dst);
	e.packet = p->number;
	e.from = p->from;
	e.to = p->to;
	e.fate = n == (ssize_t)p->len ? LINK_DELIVERED : LINK_QUEUE_FULL;
	e.hash = link_hash(p->buf + off, p->len - off,
			   (uint64_t)e.proto << 8 | (e.proto == IPPROTO_TCP ? (e.tcp_flags & 0x07) : 0));
	log_event(f->l->log, &e);
	free(p->buf);
}

/* Carries what is due; a held-back packet goes right after the next packet
 * of its flow, or when its wait is over (or everything is being drained). */
static void
release(struct fwd *f, int draining)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < f->nq;) {
		struct packet *p = &f->q[i];
		if (p->held && (draining || now >= p->hold_until))
			p->held = 0;
		if (p->held) {
			i++;
			continue;
		}
		if (p->due > now)
			break; /* later ones are due later still */
		struct packet done = *p;
		memmove(p, p + 1, (f->nq - i - 1) * sizeof *p);
		f->nq--;
		deliver(f, &done);
		for (size_t k = 0; k < f->nq; k++)
			if (f->q[k].held && f->q[k].number < done.number && same_flow(&f->q[k], &done)) {
				f->q[k].held = 0;
				if (f->q[k].due < now)
					f->q[k].due = now;
			}
		i = 0;
	}
}

static int
next_wakeup(const struct fwd *f)
{
	if (!f->nq)
		return -1;
	int64_t now = now_ms(), soon = INT64_MAX;
	for (size_t i = 0; i < f->nq; i++) {
		int64_t t = f->q[i].held ? f->q[i].hold_until : f->q[i].due;
		if (t < soon)
			soon = t;
	}
	return soon <= now ? 0 : (int)(soon - now);
}

static void __attribute__((noreturn))
forwarder_main(struct link *l)
{
	static struct fwd f; /* large: not on the stack */
	static unsigned char buf[LINK_MTU + 1];
	f.l = l;
	int draining = 0;
	char drain_id = 0; /* echoed when done: a late answer to an earlier request is told apart */
	struct pollfd pfd[LINK_MAX_HOSTS + 1];
	for (;;) {
		int empty = 1;
		for (size_t h = 0; h < l->nhosts; h++) {
			for (int k = 0; k < READ_BURST; k++) {
				ssize_t n = read(l->tun[h], buf, sizeof buf);
				if (n > 0) {
					handle_packet(&f, (unsigned)h, buf, (size_t)n);
					continue;
				}
				if (n < 0 && errno == EINTR)
					continue;
				break;
			}
			/* A burst cut short by the limit may leave more. */
			struct pollfd one = { l->tun[h], POLLIN, 0 };
			if (poll(&one, 1, 0) > 0)
				empty = 0;
		}
		/* A drain asked for while we had not read a burst yet (a busy
		 * machine) must not cancel the swaps within it: the holds are
		 * honoured first, and only what waits for nothing more is let go. */
		release(&f, 0);
		if (draining)
			release(&f, 1);
		if (draining && empty && f.nq == 0) {
			draining = 0;
			if (send(l->ctl, &drain_id, 1, MSG_NOSIGNAL) < 0)
				_exit(0);
		}
		if (!empty)
			continue;
		for (size_t h = 0; h < l->nhosts; h++)
			pfd[h] = (struct pollfd){ l->tun[h], POLLIN, 0 };
		pfd[l->nhosts] = (struct pollfd){ l->ctl, POLLIN, 0 };
		int pr = poll(pfd, l->nhosts + 1, draining ? (f.nq ? next_wakeup(&f) : 0) : next_wakeup(&f));
		if (pr < 0 && errno != EINTR)
			_exit(3);
		if (pr > 0 && pfd[l->nhosts].revents) {
			char c;
			ssize_t n = recv(l->ctl, &c, 1, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				_exit(0); /* the init stopped us, or is gone */
			if (n == 1) {
				draining = 1;
				drain_id = c;
			}
		}
	}
}

/* ---- the init's side ---------------------------------------------------- */

int
link_start(struct link **out, char *const *names, size_t nhosts, const struct link_faults *fa, long seed, char *err,
	   size_t errlen)
{
	*out = NULL;
	if (nhosts < 2 || nhosts > LINK_MAX_HOSTS)
		return errf(err, errlen, "a link joins 2 to %d hosts, not %zu", LINK_MAX_HOSTS, nhosts);
	struct link *l = xcalloc(1, sizeof *l);
	l->nhosts = nhosts;
	l->names = names;
	l->faults = *fa;
	l->seed = seed;
	l->ctl = -1;
	l->pid = -1;
	for (size_t i = 0; i < LINK_MAX_HOSTS; i++)
		l->netns[i] = l->tun[i] = -1;
	int sv[2] = { -1, -1 };
	if ((l->own_netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		errf(err, errlen, "cannot open the test's network namespace: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < nhosts; i++)
		if (make_host(l, i, err, errlen) < 0)
			goto fail;
	/* Nothing else of the test may open it (the jail never had it). */
	umount2("/dev/net/tun", MNT_DETACH);
	l->log = mmap(NULL, sizeof *l->log, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (l->log == MAP_FAILED) {
		l->log = NULL;
		errf(err, errlen, "cannot map the link's log: %s", strerror(errno));
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		errf(err, errlen, "socketpair: %s", strerror(errno));
		goto fail;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		errf(err, errlen, "cannot start the link's forwarder: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		prctl(PR_SET_NAME, "link-forwarder"); /* its name in a list of the test's processes */
		close(sv[0]);
		l->ctl = sv[1];
		for (size_t i = 0; i < nhosts; i++)
			close(l->netns[i]);
		_exit((forwarder_main(l), 0));
	}
	close(sv[1]);
	l->ctl = sv[0];
	l->pid = pid;
	*out = l;
	return 0;
fail:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	link_free(l);
	return -1;
}

int
link_forwarder_pid(const struct link *l)
{
	return l ? l->pid : -1;
}

int
link_netns(const struct link *l, size_t host)
{
	return host < l->nhosts ? l->netns[host] : -1;
}

void
link_address(size_t host, char *buf, size_t len)
{
	snprintf(buf, len, "10.0.0.%zu", host + 1);
}

const char *
link_host_name(const struct link *l, size_t host)
{
	return host < l->nhosts ? l->names[host] : "?";
}

int
link_enter(const struct link *l, size_t host)
{
	return host < l->nhosts ? setns(l->netns[host], CLONE_NEWNET) : -1;
}

int
link_leave(const struct link *l)
{
	return setns(l->own_netns, CLONE_NEWNET);
}

int
link_drain(struct link *l, int timeout_ms)
{
	char id = (char)(++l->drains | 1); /* never 0 */
	if (l->ctl < 0 || send(l->ctl, &id, 1, MSG_NOSIGNAL) < 0)
		return -1;
	int64_t end = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = end - now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = { l->ctl, POLLIN, 0 };
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno != EINTR)
			return -1;
		if (pr <= 0)
			continue;
		char c;
		ssize_t n = recv(l->ctl, &c, 1, MSG_DONTWAIT);
		if (n == 1 && c == id)
			return 0; /* else the answer to a request that timed out */
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
	}
}

void
link_stop(struct link *l)
{
	if (!l || l->pid <= 0)
		return;
	close(l->ctl);
	l->ctl = -1;
	kill(l->pid, SIGKILL);
	int st;
	wait_retry(l->pid, &st, 0); /* ECHILD when the test's reaper got it first */
	l->pid = -1;
}

size_t
link_events(const struct link *l, const struct link_event **v)
{
	*v = l && l->log ? l->log->ev : NULL;
	return l && l->log ? __atomic_load_n(&l->log->n, __ATOMIC_ACQUIRE) : 0;
}

size_t
link_lost_events(const struct link *l)
{
	return l && l->log ? l->log->lost : 0;
}

static const char *
proto_name(int proto)
{
	return proto == IPPROTO_UDP ? "UDP" : proto == IPPROTO_TCP ? "TCP" : proto == IPPROTO_ICMP ? "ICMP" : "IP";
}

/* The payload's first bytes as printable text. */
static void
add_head(struct strbuf *sb, const struct link_event *e)
{
	size_t n = e->len < LINK_HEAD ? e->len : LINK_HEAD;
	sb_adds(sb, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->head[i];
		if (c == '"' || c == '\\')
			sb_addf(sb, "\\%c", c);
		else if (c >= 32 && c < 127)
			sb_add(sb, (const char *)&c, 1);
		else if (c == '\n')
			sb_adds(sb, "\\n");
		else
			sb_addf(sb, "\\x%02x", c);
	}
	sb_adds(sb, e->len > LINK_HEAD ? "\"..." : "\"");
}

/* The packet delivered just before packet number's (held-back) delivery. */
static uint32_t
delivered_after(const struct link_event *v, size_t n, uint32_t number)
{
	uint32_t before = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i].fate != LINK_DELIVERED)
			continue;
		if (v[i].packet == number)
			return before;
		before = v[i].packet;
	}
	return 0;
}

void
link_describe(const struct link *l, struct strbuf *sb, size_t max_lines)
{
	const struct link_event *v;
	size_t n = link_events(l, &v), packets = 0, counts[LINK_DELIVERED + 1] = { 0 }, shown = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].fate != LINK_DELIVERED) {
			packets++;
			counts[v[i].fate]++;
		}
	sb_addf(sb, "the link (seed %ld: loss %g, duplicate %g, reorder %g, delay %d ms) carried %zu packet%s: ", l->seed,
		l->faults.loss, l->faults.duplicate, l->faults.reorder, l->faults.delay_ms, packets, packets == 1 ? "" : "s");
	sb_addf(sb, "%zu dropped, %zu duplicated, %zu held back\n", counts[LINK_DROP] + counts[LINK_QUEUE_FULL],
		counts[LINK_DUPLICATE], counts[LINK_REORDER]);
	for (size_t i = 0; i < n; i++) {
		const struct link_event *e = &v[i];
		if (e->fate == LINK_PASS || e->fate == LINK_DELIVERED)
			continue;
		if (shown++ == max_lines) {
			sb_adds(sb, "    ... (more not shown)\n");
			break;
		}
		sb_addf(sb, "    packet %u, %s -> %s, %s", e->packet, l->names[e->from],
			e->to < l->nhosts ? l->names[e->to] : "nobody", proto_name(e->proto));
		if (e->proto == IPPROTO_UDP || e->proto == IPPROTO_TCP)
			sb_addf(sb, " port %u", e->dport);
		sb_addf(sb, ", %u byte%s ", e->len, e->len == 1 ? "" : "s");
		add_head(sb, e);
		switch (e->fate) {
		case LINK_DROP:
			sb_adds(sb, ": dropped\n");
			break;
		case LINK_DUPLICATE:
			sb_adds(sb, ": duplicated (carried twice)\n");
			break;
		case LINK_REORDER: {
			uint32_t after = delivered_after(v, n, e->packet);
			if (after > e->packet)
				sb_addf(sb, ": held back, carried after packet %u\n", after);
			else
				sb_adds(sb, ": held back, but nothing overtook it\n");
			break;
		}
		case LINK_NO_HOST:
			sb_adds(sb, ": to an address no host has, dropped\n");
			break;
		case LINK_SPOOFED:
			sb_adds(sb, ": with a source address not its host's, dropped\n");
			break;
		default:
			sb_adds(sb, ": dropped (more packets in flight than the link holds)\n");
			break;
		}
	}
	if (link_lost_events(l))
		sb_addf(sb, "    (the log is full: %zu later records were not kept)\n", link_lost_events(l));
}

/* A value of /proc/net/snmp's "Udp:" lines (the caller's namespace). */
static long
udp_counter(const char *text, const char *name)
{
	const char *names = strstr(text, "\nUdp: ");
	const char *values = names ? strstr(names + 1, "\nUdp: ") : NULL;
	if (!values)
		return -1;
	names += 6;
	values += 6;
	for (;;) {
		size_t n = strcspn(names, " \n"), v = strcspn(values, " \n");
		if (strlen(name) == n && !strncmp(names, name, n))
			return strtol(values, NULL, 10);
		if (names[n] != ' ' || values[v] != ' ')
			return -1;
		names += n + 1;
		values += v + 1;
	}
}

/* Packets the host's TUN device dropped because its queue to the
 * forwarder was full (tx_drop of /proc/net/dev, the caller's namespace). */
static long
tun_queue_drops(void)
{
	char *text = read_file("/proc/self/net/dev", 1 << 16, NULL);
	const char *line = text ? strstr(text, TUN_NAME ":") : NULL;
	long v[12], drops = -1;
	if (line && sscanf(line + strlen(TUN_NAME ":"), "%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]) == 12)
		drops = v[11];
	free(text);
	return drops;
}

long
link_kernel_drops(const struct link *l, size_t host)
{
	long total = 0;
	for (size_t i = 0; i < l->nhosts; i++) {
		if (link_enter(l, i) < 0)
			return -1;
		long tun = tun_queue_drops(), udp = 0;
		if (i == host) {
			char *text = read_file("/proc/self/net/snmp", 1 << 16, NULL);
			long in = text ? udp_counter(text, "InErrors") : -1, rcvbuf = text ? udp_counter(text, "RcvbufErrors") : -1;
			free(text);
			udp = in > rcvbuf ? in : rcvbuf; /* InErrors counts RcvbufErrors too */
		}
		link_leave(l);
		if (tun < 0 || udp < 0)
			return -1;
		total += tun + udp;
	}
	return total;
}

void
link_free(struct link *l)
{
	if (!l)
		return;
	link_stop(l);
	for (size_t i = 0; i < LINK_MAX_HOSTS; i++) {
		if (l->netns[i] >= 0)
			close(l->netns[i]);
		if (l->tun[i] >= 0)
			close(l->tun[i]);
	}
	if (l->own_netns >= 0)
		close(l->own_netns);
	if (l->ctl >= 0)
		close(l->ctl);
	if (l->log)
		munmap(l->log, sizeof *l->log);
	free(l);
}

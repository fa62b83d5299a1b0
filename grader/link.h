/* The link emulator: a test's hosts (each a network namespace of its own,
 * made inside the test's sandbox) joined by a lossy link with a fault
 * schedule decided by the seed.  See the theory of operation at the top of
 * link.c. */
#ifndef GRADER_LINK_H
#define GRADER_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define LINK_MAX_HOSTS 4
#define LINK_HEAD 48 /* bytes of a packet's payload kept in the log */

/* Probabilities from 0 to 1, per packet; delay_ms: every packet's latency. */
struct link_faults {
	double loss, duplicate, reorder;
	int delay_ms;
};

/* What the link decided for a packet, and when it handed one over. */
enum link_fate {
	LINK_PASS,       /* carried once, in order */
	LINK_DROP,       /* lost */
	LINK_DUPLICATE,  /* carried twice */
	LINK_REORDER,    /* held back until the flow's next packet had gone */
	LINK_NO_HOST,    /* to an address no host of the test has: dropped */
	LINK_SPOOFED,    /* its source address is not its host's: dropped */
	LINK_QUEUE_FULL, /* more packets in flight than the link holds: dropped */
	LINK_DELIVERED,  /* a record of a packet written to its host (one per copy) */
};

struct link_event {
	uint32_t packet; /* the packet's number on the link, from 1, in order of arrival */
	uint8_t fate;    /* enum link_fate */
	uint8_t from, to; /* host indices; to is 255 for LINK_NO_HOST */
	uint8_t proto;   /* IPPROTO_UDP, IPPROTO_TCP, ... */
	uint8_t tcp_flags;
	uint8_t pad[3];
	uint16_t sport, dport;
	uint32_t occurrence; /* how many packets with this payload and direction came before */
	uint32_t len;        /* transport payload bytes */
	uint64_t hash;       /* of the payload (see link.c) */
	char head[LINK_HEAD]; /* the payload's first bytes */
};

struct link; /* owned by the sandbox's init; link_free() releases it */

/* In the sandbox's init (root of the test's user namespace, /dev/net/tun
 * shown at its place): makes nhosts (2..LINK_MAX_HOSTS) network namespaces,
 * each with lo and a TUN device up with address 10.0.0.(i+1)/24, and a
 * forwarder process that carries packets between them by the schedule of
 * seed.  /dev/net/tun is unmounted afterwards.  names are borrowed for the
 * link's life.  Returns 0, or -1 with a message for the student's report
 * in err (no TUN device, no permission) and *out NULL. */
int link_start(struct link **out, char *const *names, size_t nhosts, const struct link_faults *f, long seed,
	       char *err, size_t errlen);
/* The forwarder's pid (the sandbox must not count it as a leftover). */
int link_forwarder_pid(const struct link *l);
/* The network namespace of host i (for setns before exec). */
int link_netns(const struct link *l, size_t host);
/* "10.0.0.2" */
void link_address(size_t host, char *buf, size_t len);
/* The calling thread enters host i's network namespace, and leaves it for
 * its own.  0 or -1. */
int link_enter(const struct link *l, size_t host);
int link_leave(const struct link *l);
/* Waits (at most timeout_ms) until every packet sent so far has been
 * carried or dropped: nothing waits in a TUN queue, held back or delayed.
 * 0 when idle, -1 on timeout or when the forwarder is gone. */
int link_drain(struct link *l, int timeout_ms);
/* Stops the forwarder; the log stays readable.  Idempotent. */
void link_stop(struct link *l);
/* The log so far: every decision and every delivery, in order. */
size_t link_events(const struct link *l, const struct link_event **v);
/* Records the forwarder could not keep (the log is bounded). */
size_t link_lost_events(const struct link *l);
/* The schedule in words: each packet that was not carried as it came
 * (dropped, duplicated, held back), at most max_lines of them. */
void link_describe(const struct link *l, struct strbuf *sb, size_t max_lines);
/* Packets the kernels dropped themselves, outside the schedule: UDP
 * datagrams host i could not queue to a socket (InErrors, RcvbufErrors
 * of its /proc/net/snmp), and packets any host's TUN device could not
 * queue to the forwarder (a sender faster than the link).  -1 when it
 * cannot be read. */
long link_kernel_drops(const struct link *l, size_t host);
const char *link_host_name(const struct link *l, size_t host);
void link_free(struct link *l);

/* The fate of a packet, as link.c decides it (exposed for the tests). */
enum link_fate link_decide(long seed, const struct link_faults *f, unsigned from, unsigned to, uint64_t hash,
			   uint32_t occurrence);
uint64_t link_hash(const void *buf, size_t len, uint64_t h);

#endif

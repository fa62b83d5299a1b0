/*
 * perturb.h - seeded pauses for ring_producer and ring_consumer (-r SEED).
 *
 * A grader that pairs a student's program with a reference one wants races
 * to show: the ring should be seen empty, full and in between, with the
 * student's side running while the reference is slow at varying moments.
 * With -r SEED the reference draws, before each item, from a small
 * pseudo-random generator seeded with SEED whether to pause there and for
 * how long, so the same seed replays the same pauses at the same items
 * (the grader passes its run's seed, and its report shows it).
 *
 * The pauses are the perturbation, never synchronisation: nothing waits for
 * them to end, and the ring works the same without them.  Most are short
 * sleeps of 10 to 100 us (the peer runs on for a moment, the ring moves by a
 * few slots); a few are sleeps of 0.1 to 1 ms, long enough for the peer to
 * empty or fill the ring and block on it.  At these rates 100 000 items meet
 * about 200 short and 24 long pauses: some 30 ms in all.  Sleeping, rather
 * than yielding the CPU, keeps a peer that spins (a student's busy-waiting
 * program) from taking whole time slices from the reference on a loaded
 * machine: a sleeper that wakes up gets the CPU back at once.
 */
#ifndef PERTURB_H
#define PERTURB_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define PERTURB_SLEEP_EVERY 4096u  /* one item in 4096 (on average) sleeps ... */
#define PERTURB_SLEEP_MIN_US 100u  /* ... between 0.1 ... */
#define PERTURB_SLEEP_MAX_US 1000u /* ... and 1 ms */
#define PERTURB_SHORT_EVERY 512u   /* one in 512 sleeps ... */
#define PERTURB_SHORT_MIN_US 10u   /* ... between 10 ... */
#define PERTURB_SHORT_MAX_US 100u  /* ... and 100 us */

struct perturb {
	int on;
	uint64_t state;
};

/* splitmix64: small, fast, and the same sequence on every machine. */
static inline uint64_t
perturb_next(struct perturb *p)
{
	uint64_t z = (p->state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static inline void
perturb_init(struct perturb *p, int on, uint64_t seed)
{
	p->on = on;
	p->state = seed;
}

static inline void
perturb_sleep_us(uint64_t us)
{
	struct timespec ts = { 0, (long)(us * 1000) };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Called once per item: maybe pause, as the seed decides. */
static inline void
perturb_point(struct perturb *p)
{
	if (!p->on)
		return;
	uint64_t r = perturb_next(p);
	if (r % PERTURB_SLEEP_EVERY == 0)
		perturb_sleep_us(PERTURB_SLEEP_MIN_US + (r >> 32) % (PERTURB_SLEEP_MAX_US - PERTURB_SLEEP_MIN_US + 1));
	else if (r % PERTURB_SHORT_EVERY == 1)
		perturb_sleep_us(PERTURB_SHORT_MIN_US + (r >> 32) % (PERTURB_SHORT_MAX_US - PERTURB_SHORT_MIN_US + 1));
}

#endif

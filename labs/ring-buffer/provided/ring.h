/*
 * ring.h - the circular buffer of the lecture ("Producer-Consumer Problem":
 * buffer[BUFFER_SIZE], in, out) as it lies in POSIX shared memory, shared by
 * your producer, your consumer and the course's reference programs.
 *
 * DO NOT CHANGE THIS FILE.  It is the protocol: the reference producer and
 * consumer that the tests pair your programs with use exactly this layout,
 * these names and these values.
 *
 * The slide's ring spins in `while (in == out);`.  Here the waiting is done
 * by two counting semaphores that live in the segment itself, so both
 * processes can use them (sem_init with pshared = 1):
 *
 *   empty  the number of free slots;   starts at size
 *   full   the number of filled slots; starts at 0
 *
 * `in` is only ever written by the producer and `out` only by the consumer.
 * All `size` slots can hold an item: the semaphores, not in and out, say
 * whether the ring is full or empty (with all slots full, in == out too).
 *
 * Items are numbered 1, 2, 3, ...; each carries a check word computed from
 * its number with ring_item_check(), so that a reader can tell a slot that
 * was overwritten or read too early.  An item with seq 0 (and its check
 * word) ends the stream.
 *
 * The producer creates the object, sets its size with ftruncate(), fills in
 * the header (magic last) and only then says it is ready.
 */
#ifndef RING_H
#define RING_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#define RING_SHM_NAME  "/ring_buffer"   /* the POSIX shared memory object */
#define BUFFER_SIZE    10               /* slots in the ring */
#define RING_MAX_SLOTS 65536u
#define RING_MAGIC     0x52494e47u      /* "RING": the header is initialised */

struct ring_item {
	uint64_t seq;       /* 1, 2, 3, ...; 0 ends the stream */
	uint64_t check;     /* ring_item_check(seq) */
};

struct ring {
	uint32_t magic;     /* RING_MAGIC, written last by the producer */
	uint32_t size;      /* number of slots in buffer[]: BUFFER_SIZE */
	sem_t empty;        /* free slots, starts at size */
	sem_t full;         /* filled slots, starts at 0 */
	uint32_t in;        /* next slot to fill: written by the producer only */
	uint32_t out;       /* next slot to empty: written by the consumer only */
	struct ring_item buffer[];
};

/* Bytes of a segment holding a ring of `size` slots: the size to give
 * ftruncate() and mmap(). */
static inline size_t
ring_bytes(uint32_t size)
{
	return sizeof(struct ring) + (size_t)size * sizeof(struct ring_item);
}

/* The check word of item `seq`. */
static inline uint64_t
ring_item_check(uint64_t seq)
{
	return (seq * UINT64_C(0x9e3779b97f4a7c15)) ^ UINT64_C(0x5bd1e9955bd1e995);
}

#endif

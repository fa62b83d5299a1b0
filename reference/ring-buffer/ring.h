/*
 * ring.h - layout of the bounded buffer that ring_producer and ring_consumer
 * share in POSIX shared memory (seed 001, "Producer-Consumer Problem").
 *
 * The slide's circular buffer (`buffer[BUFFER_SIZE]`, `in`, `out`) is kept,
 * but the two busy-waiting loops are replaced by the textbook pair of
 * counting semaphores, placed in the segment itself and initialised with
 * pshared = 1 so that both processes can use them:
 *
 *   empty  free slots;   the producer waits on it, the consumer posts it
 *   full   filled slots; the consumer waits on it, the producer posts it
 *
 * Why the slide is only correct by luck: `in` and `out` are plain variables
 * read in a loop without synchronisation, so the compiler may hoist the load
 * out of `while (in == out);` and spin forever, and nothing orders the store
 * to buffer[in] before the store to `in`, so the consumer may read a slot
 * before its contents arrived.  sem_post/sem_wait synchronise memory (POSIX
 * 4.12), which orders the slot write before the consumer's read, and a
 * process blocked in sem_wait uses no CPU.
 *
 * With one producer and one consumer no mutex is needed: `in` is only ever
 * touched by the producer and `out` only by the consumer.  Unlike the slide
 * (which declares the ring full at BUFFER_SIZE - 1 items so that in == out
 * can mean "empty"), all BUFFER_SIZE slots are usable: the semaphores, not
 * in/out, say whether the ring is full or empty.
 *
 * The stream is sequence-numbered: items carry seq 1, 2, 3, ... and a check
 * word derived from seq, so a consumer can detect loss, duplication,
 * reordering and torn slots.  An item with seq 0 ends the stream.
 */
#ifndef RING_H
#define RING_H

#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#define RING_SHM_NAME  "/ring_buffer"   /* default POSIX shm object name */
#define BUFFER_SIZE    10               /* default number of slots */
#define RING_MAX_SLOTS 65536u
#define RING_MAGIC     0x52494e47u      /* "RING": the segment is initialised */

struct ring_item {
	uint64_t seq;       /* 1, 2, 3, ...; 0 ends the stream */
	uint64_t check;     /* ring_item_check(seq) */
};

struct ring {
	uint32_t magic;     /* RING_MAGIC */
	uint32_t size;      /* number of slots in buffer[] */
	sem_t empty;        /* free slots, starts at size */
	sem_t full;         /* filled slots, starts at 0 */
	uint32_t in;        /* next slot to fill: written by the producer only */
	uint32_t out;       /* next slot to empty: written by the consumer only */
	struct ring_item buffer[];
};

/* Bytes of a segment holding a ring of `size` slots. */
static inline size_t
ring_bytes(uint32_t size)
{
	return sizeof(struct ring) + (size_t)size * sizeof(struct ring_item);
}

/* A word that depends on every bit of seq: a slot read before its contents
 * were written (or half written) does not match. */
static inline uint64_t
ring_item_check(uint64_t seq)
{
	return (seq * UINT64_C(0x9e3779b97f4a7c15)) ^ UINT64_C(0x5bd1e9955bd1e995);
}

#endif

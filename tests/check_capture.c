/* capture: output kept whole below the cap; over it, the first half of the
 * cap from the head and the second half from the tail, however the bytes
 * arrive (one byte at a time or all at once). */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "util.h"

static char *
bytes(const struct capture *c, int marker, size_t *len)
{
	char *b = capture_bytes(c, marker, len);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(b[*len], '\0');
	return b;
}

START_TEST(below_limit)
{
	struct capture c;
	capture_init(&c, 100);
	capture_add(&c, "hello ", 6);
	capture_add(&c, "", 0);
	capture_add(&c, "world\n", 6);
	ck_assert_uint_eq(c.total, 12);
	ck_assert_int_eq(capture_truncated(&c), 0);
	size_t len;
	for (int marker = 0; marker < 2; marker++) {
		char *b = bytes(&c, marker, &len);
		ck_assert_uint_eq(len, 12);
		ck_assert_str_eq(b, "hello world\n");
		free(b);
	}
	capture_release(&c);
}
END_TEST

START_TEST(empty)
{
	struct capture c;
	capture_init(&c, 64);
	size_t len = 99;
	char *b = bytes(&c, 1, &len);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(capture_truncated(&c), 0);
	free(b);
	capture_release(&c);
}
END_TEST

/* Exactly the cap, head and tail just full: nothing lost. */
START_TEST(exactly_the_limit)
{
	struct capture c;
	capture_init(&c, 10);
	capture_add(&c, "0123456789", 10);
	ck_assert_int_eq(capture_truncated(&c), 0);
	size_t len;
	char *b = bytes(&c, 1, &len);
	ck_assert_str_eq(b, "0123456789");
	free(b);
	capture_add(&c, "A", 1);
	ck_assert_int_eq(capture_truncated(&c), 1);
	b = bytes(&c, 0, &len);
	ck_assert_str_eq(b, "012346789A");
	free(b);
	capture_release(&c);
}
END_TEST

START_TEST(over_limit)
{
	struct capture c;
	capture_init(&c, 10); /* 5 bytes of head, 5 of tail */
	capture_add(&c, "0123456789ABCDEF", 16);
	ck_assert_uint_eq(c.total, 16);
	ck_assert_int_eq(capture_truncated(&c), 1);
	size_t len;
	char *b = bytes(&c, 0, &len);
	ck_assert_uint_eq(len, 10);
	ck_assert_str_eq(b, "01234BCDEF");
	free(b);
	b = bytes(&c, 1, &len);
	ck_assert_str_eq(b, "01234\n[... 6 bytes omitted ...]\nBCDEF");
	ck_assert_uint_eq(len, strlen(b));
	free(b);
	/* more bytes: the tail moves on, the head stays */
	capture_add(&c, "GHIJKLM", 7);
	ck_assert_uint_eq(c.total, 23);
	b = bytes(&c, 1, &len);
	ck_assert_str_eq(b, "01234\n[... 13 bytes omitted ...]\nIJKLM");
	free(b);
	capture_release(&c);
}
END_TEST

/* An odd cap: the tail gets the extra byte. */
START_TEST(odd_limit)
{
	struct capture c;
	capture_init(&c, 7);
	capture_add(&c, "abcdefghijklmnop", 16);
	size_t len;
	char *b = bytes(&c, 0, &len);
	ck_assert_str_eq(b, "abcmnop");
	ck_assert_uint_eq(len, 7);
	free(b);
	capture_release(&c);
}
END_TEST

/* A cap below 2 still keeps one byte of head and one of tail. */
START_TEST(tiny_limit)
{
	struct capture c;
	capture_init(&c, 0);
	capture_add(&c, "xyz", 3);
	size_t len;
	char *b = bytes(&c, 1, &len);
	ck_assert_str_eq(b, "x\n[... 1 byte omitted ...]\nz");
	free(b);
	capture_release(&c);
}
END_TEST

/* Binary data goes through unchanged, NULs included. */
START_TEST(binary)
{
	struct capture c;
	capture_init(&c, 8);
	static const char data[] = { 'a', '\0', 'b', '\xff', 'c', 'd', 'e', '\0', 'f', 'g', '\n', '\0' };
	capture_add(&c, data, sizeof data);
	size_t len;
	char *b = bytes(&c, 0, &len);
	static const char want[] = { 'a', '\0', 'b', '\xff', 'f', 'g', '\n', '\0' };
	ck_assert_uint_eq(len, 8);
	ck_assert_mem_eq(b, want, 8);
	free(b);
	capture_release(&c);
}
END_TEST

/* The same stream in chunks of different sizes gives the same capture,
 * and that is the first limit/2 and the last limit - limit/2 bytes. */
static const size_t chunks[] = { 1, 2, 3, 7, 64, 499, 500, 501, 999, 1000, 1001, 4096, 100000 };
#define STREAM 100000
#define LIMIT 1001

START_TEST(chunked_like_whole)
{
	char *data = xmalloc(STREAM);
	unsigned x = 42;
	for (size_t i = 0; i < STREAM; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (char)(x >> 16);
	}
	struct capture c;
	capture_init(&c, LIMIT);
	size_t step = chunks[_i], off = 0, k = 0;
	while (off < STREAM) {
		/* vary the size a little so that chunks cross the head/tail edge
		 * and wrap the ring at every offset */
		size_t n = step + (k++ % 3 == 2 && step > 1 ? 1 : 0);
		if (n > STREAM - off)
			n = STREAM - off;
		capture_add(&c, data + off, n);
		off += n;
	}
	ck_assert_uint_eq(c.total, STREAM);
	ck_assert_int_eq(capture_truncated(&c), 1);
	size_t len;
	char *b = bytes(&c, 0, &len);
	ck_assert_uint_eq(len, LIMIT);
	ck_assert_mem_eq(b, data, LIMIT / 2);
	ck_assert_mem_eq(b + LIMIT / 2, data + STREAM - (LIMIT - LIMIT / 2), LIMIT - LIMIT / 2);
	free(b);
	b = bytes(&c, 1, &len);
	char *marker = xstrfmt("\n[... %d bytes omitted ...]\n", STREAM - LIMIT);
	ck_assert_uint_eq(len, LIMIT + strlen(marker));
	ck_assert_mem_eq(b + LIMIT / 2, marker, strlen(marker));
	ck_assert_mem_eq(b + LIMIT / 2 + strlen(marker), data + STREAM - (LIMIT - LIMIT / 2), LIMIT - LIMIT / 2);
	free(marker);
	free(b);
	capture_release(&c);
	free(data);
}
END_TEST

/* capture_bytes() does not consume: it can be called again, and the length
 * pointer may be NULL. */
START_TEST(bytes_repeatable)
{
	struct capture c;
	capture_init(&c, 4);
	capture_add(&c, "abcdef", 6);
	char *a = capture_bytes(&c, 0, NULL), *b = capture_bytes(&c, 0, NULL);
	ck_assert_str_eq(a, "abef");
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	capture_release(&c);
	capture_release(&c); /* released twice is harmless */
}
END_TEST

static Suite *
capture_suite(void)
{
	Suite *s = suite_create("capture");
	TCase *tc = tcase_create("capture");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, below_limit);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, exactly_the_limit);
	tcase_add_test(tc, over_limit);
	tcase_add_test(tc, odd_limit);
	tcase_add_test(tc, tiny_limit);
	tcase_add_test(tc, binary);
	tcase_add_loop_test(tc, chunked_like_whole, 0, sizeof chunks / sizeof *chunks);
	tcase_add_test(tc, bytes_repeatable);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(capture_suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

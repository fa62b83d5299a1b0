/* Hostile helper: writes output without end (a numbered line at a time), or
 * with argv[1] = "binary", bytes that are not text. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	int binary = argc > 1 && !strcmp(argv[1], "binary");
	for (unsigned long i = 0;; i++) {
		if (binary) {
			unsigned char b[256];
			for (int k = 0; k < 256; k++)
				b[k] = (unsigned char)(k ^ i);
			fwrite(b, 1, sizeof b, stdout);
		} else {
			printf("line %lu of an endless flood\n", i);
		}
	}
}

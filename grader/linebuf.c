/* Preloaded into every program the grader runs.  stdio fully buffers a pipe,
 * and a server is killed at the end of a test (the lecture's accept loop
 * never ends), so what it printed would be lost in its buffer; line
 * buffered, as on a terminal, every line reaches the grader when printed,
 * in order with the peer's.  The buffer is our own, not glibc's one-byte
 * fallback, so a program that calls setvbuf(stdout, NULL, _IOLBF, 0)
 * itself keeps whole lines instead of writing byte by byte. */
#include <stdio.h>

static char ipcgrader_stdout_buffer[BUFSIZ];

static void __attribute__((constructor))
ipcgrader_line_buffer_stdout(void)
{
	setvbuf(stdout, ipcgrader_stdout_buffer, _IOLBF, sizeof ipcgrader_stdout_buffer);
}

/* Preloaded into every program the grader runs.  stdio fully buffers a pipe,
 * and a server is killed at the end of a test (the lecture's accept loop
 * never ends), so what it printed would be lost in its buffer; unbuffered,
 * every printf reaches the grader at once, in order with the peer's. */
#include <stdio.h>

static void __attribute__((constructor))
ipcgrader_unbuffer_stdout(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
}

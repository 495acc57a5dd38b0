/*
 * policy_fuzz.c - libFuzzer target for the seccomp policy parser and
 * compiler (sandbox/policy*.c): what a broken or hostile policy file can
 * do to the privileged parent that compiles it.
 *
 * Input: the text of a policy, read through fmemopen(3) and compiled.  The
 * first byte picks the mode (kill, trap, or log, which also builds the
 * reporter's name table).  The stream is named
 * /nonexistent-vhostd-fuzz/input.policy, so a relative @include fails to
 * open; inputs with both "include" and a '/' are skipped, so that the
 * fuzzer never opens a real file (/dev/stdin would block).  A compiled
 * filter is checked for its length and freed.  A crash, a hang or a
 * sanitizer report is a finding; errors are expected.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define FUZZ_NAME	"/nonexistent-vhostd-fuzz/input.policy"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum policy_mode modes[] = {
		POLICY_MODE_KILL, POLICY_MODE_TRAP, POLICY_MODE_LOG,
	};
	struct policy_filter	*pf;
	enum policy_mode	 mode;
	char			 err[1024];
	FILE			*f;

	if (size < 1)
		return 0;
	mode = modes[data[0] % 3];
	data++;
	size--;
	if (memmem(data, size, "include", 7) != NULL &&
	    memchr(data, '/', size) != NULL)
		return 0;
	/* fmemopen of a zero-length buffer fails: "" is an empty policy */
	if ((f = fmemopen(size > 0 ? (void *)(uintptr_t)data : (void *)"",
	    size > 0 ? size : 1, "r")) == NULL)
		abort();
	err[0] = '\0';
	pf = policy_compile_stream(f, FUZZ_NAME, mode, err, sizeof(err));
	fclose(f);
	if (pf == NULL) {
		/* every failure says why */
		if (err[0] == '\0')
			abort();
	} else if (policy_filter_len(pf) == 0 ||
	    policy_filter_len(pf) > 4096) {
		abort();
	}
	policy_filter_free(pf);
	return 0;
}

/*
 * msg_fuzz_test.c - the msg_fuzz corpus replayed as unit tests, through
 * the fuzz target itself (tests/fuzz/msg_fuzz.c, built here with gcc and
 * without libFuzzer): every finding committed to the corpus stays a
 * regression test, also under the ASan build (make SAN=1).
 *
 * regress-inflight-remap is what `make fuzz` found first (issue 8.9): a
 * second GET_INFLIGHT_FD after ring 0 started unmapped the inflight region
 * under it, and the next flush (inflight_commit) wrote into the hole.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#define LLVMFuzzerTestOneInput	msg_fuzz_one
#include "../fuzz/msg_fuzz.c"
#undef LLVMFuzzerTestOneInput

#include "corpus.h"

#define CORPUS	"tests/fuzz/corpus/msg_fuzz"

Test(msg_fuzz, inflight_region_replaced_under_a_started_ring)
{
	corpus_replay_file(CORPUS "/regress-inflight-remap", msg_fuzz_one);
}

Test(msg_fuzz, whole_corpus)
{
	unsigned int	n = corpus_replay_dir(CORPUS, msg_fuzz_one);

	cr_assert_geq(n, 4, "only %u corpus files", n);
}

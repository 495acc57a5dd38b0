/*
 * net_io_fuzz_test.c - the net_io_fuzz corpus replayed as unit tests,
 * through the fuzz target itself (tests/fuzz/net_io_fuzz.c, built here
 * with gcc and without libFuzzer): the net data path's seeds and every
 * finding committed to the corpus stay regression tests, also under the
 * ASan build (make SAN=1).  The target's fake tap needs no privilege.
 */
#include <criterion/criterion.h>
#include <stdio.h>

#define LLVMFuzzerTestOneInput	net_io_fuzz_one
#include "../fuzz/net_io_fuzz.c"
#undef LLVMFuzzerTestOneInput

#include "corpus.h"

#define CORPUS	"tests/fuzz/corpus/net_io_fuzz"

Test(net_io_fuzz, whole_corpus)
{
	unsigned int	n = corpus_replay_dir(CORPUS, net_io_fuzz_one);

	cr_assert_geq(n, 8, "only %u corpus files", n);
}

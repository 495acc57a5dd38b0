/*
 * corpus.h - a fuzz target's committed corpus replayed as unit tests
 * (msg_fuzz_test, net_io_fuzz_test): each file is fed to the target's
 * entry point, built here with gcc and without libFuzzer; a crash, a
 * sanitizer report, the target's abort() or a non-zero return fails.
 */
#ifndef CORPUS_H
#define CORPUS_H

#include <stddef.h>
#include <stdint.h>

typedef int	(*corpus_target)(const uint8_t *, size_t);

/* Feed the file at path to one. */
void		corpus_replay_file(const char *path, corpus_target one);
/* Feed every file of dir (run from the source tree) to one: how many. */
unsigned int	corpus_replay_dir(const char *dir, corpus_target one);

#endif

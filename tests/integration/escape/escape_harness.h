/*
 * escape_harness.h - the set-up shared by the escape_test files: a
 * private directory, vhostd_test run with a device spec and its stderr
 * captured, and the checks of the jail-layer and filter-layer runs.
 */
#ifndef ESCAPE_HARNESS_H
#define ESCAPE_HARNESS_H

#include <stdbool.h>
#include <stddef.h>

#include <criterion/criterion.h>

#define RUN_TIMEOUT_MS	20000
#define TARGET_TEXT	"disk image of another device\n"

struct run {
	int	ru_status;
	char	ru_err[65536];	/* vhostd's stderr */
	size_t	ru_len;
};

extern char	tmpdir[];

const char	*env(const char *name);

int	listen_unix(const char *path, bool abstract);

void	untouched(int fd, const char *what);

void	setup(void);

/*
 * The program the filter-layer tests run.  A sanitizer build (make SAN=1)
 * compiles the ASan/UBSan runtime's own system calls into every filter
 * (sandbox/policy_compile.c: openat, mprotect, prctl, ...), so its
 * children are not filtered as a release build's are: in the sanitizer
 * pass these tests run the normal build's vhostd_test, which must exist
 * (make check builds it first) and must not be sanitized itself.
 */
const char	*filter_prog(void);

/*
 * The policy directory of a layer: "escape-policy" (the jail layer: the
 * real policy plus what the attempts call) or "escape-policy-kill" (the
 * filter layer: the real policy and nothing else).
 */
void	layer_policydir(char *buf, size_t len, const char *layer);

/*
 * Run prog --policy-dir policydir --device spec (run_until: stop after
 * stop_after reports, 0 for none); the run, for the caller to free.
 */
struct run	*run_device(const char *prog, const char *policydir,
    const char *spec, unsigned int stop_after);

/*
 * One filter-layer attempt of the device spec: it ran its attempt and
 * nothing succeeded; the run, for the caller's verdict and to free.
 */
struct run	*filter_attempt(const char *name, const char *spec);

/*
 * The verdict on a filter-layer attempt of a real device's policy: killed
 * by the filter (need_sigsys), else refused by it (the attempt ran and
 * failed).
 */
void	killed_or_refused(const struct run *r, const char *name,
    bool need_sigsys);

/*
 * A jail-layer run restarted once (restart=always, two children): each
 * child reports at least min attempts and none succeeded.
 */
void	jail_reports(const struct run *r, unsigned int min);

#endif

/*
 * policy_harness.h - the set-up shared by the policy_test files: compile a
 * policy (or expect its error), and probe a filter in a grandchild.
 */
#ifndef POLICY_HARNESS_H
#define POLICY_HARNESS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <criterion/criterion.h>

#include "policy.h"

#define FIXTURES	"tests/data/policy"
#define INLINE		"inline.policy"

/* How a probe ended (see probe()). */
#define R_ALLOW		200		/* the call returned >= 0 */
#define R_KILL		(-SIGSYS)	/* killed by SIGSYS */
#define R_NOLOAD	250		/* the filter did not load */
#define R_HANDLER	42		/* our SIGSYS handler ran */


/* One rule for getppid(2), which ignores its arguments, and a call. */
struct pcase {
	const char	*pc_rule;
	uint64_t	 pc_args[6];
	int		 pc_want;
};

#define NCASES(a)	(sizeof(a) / sizeof((a)[0]))

/* Compile text (a C string) as a policy named name. */
struct policy_filter	*compile_named(const char *text, const char *name,
    enum policy_mode mode, char *err, size_t errlen);

/* Compile text, which must succeed with no message. */
struct policy_filter	*compile_ok(const char *text, enum policy_mode mode);

/* Compile text, which must fail with exactly the message want. */
void	expect_error_named(const char *text, const char *name,
    const char *want);

void	expect_error(const char *text, const char *want);

void	expect_file_error(const char *path, const char *want);

struct policy_filter	*file_ok(const char *path, enum policy_mode mode);

/*
 * The filtered grandchild: only raw system calls from here on.  Ends with
 * R_ALLOW, the errno of a failed call, or R_NOLOAD; or is killed.
 */
void	probe_child(const struct policy_filter *pf, long nr,
    const uint64_t a[6], int errfd);

int	wait_for(pid_t pid);

/* Make system call nr(a) in a grandchild under pf; how did it end? */
int	probe(const struct policy_filter *pf, long nr, const uint64_t a[6]);

void	check_cases(const struct pcase *cases, size_t n);

void	write_file(const char *path, const void *buf, size_t len);

#endif

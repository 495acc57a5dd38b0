/* policy_test: the syntax: every construct compiles and means what it says. */

#include <errno.h>
#include <fcntl.h>
#include <asm/termbits.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "policy_harness.h"

Test(policy, allow_unconditional)
{
	static const struct pcase cases[] = {
		{ "1", { 0 }, R_ALLOW },
		{ "1", { 7, 8, 9, 10, 11, 12 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, unlisted_syscall_kills)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };

	pf = compile_ok("exit_group: 1\n", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, a), R_KILL);
	cr_expect_eq(probe(pf, SYS_getpid, a), R_KILL);
	policy_filter_free(pf);
}

Test(policy, comparisons)
{
	static const struct pcase cases[] = {
		{ "arg0 == 5", { 5 }, R_ALLOW },
		{ "arg0 == 5", { 6 }, R_KILL },
		{ "arg0 != 5", { 6 }, R_ALLOW },
		{ "arg0 != 5", { 5 }, R_KILL },
		{ "arg0 < 5", { 4 }, R_ALLOW },
		{ "arg0 < 5", { 5 }, R_KILL },
		{ "arg0 <= 5", { 5 }, R_ALLOW },
		{ "arg0 <= 5", { 6 }, R_KILL },
		{ "arg0 > 5", { 6 }, R_ALLOW },
		{ "arg0 > 5", { 5 }, R_KILL },
		{ "arg0 >= 5", { 5 }, R_ALLOW },
		{ "arg0 >= 5", { 4 }, R_KILL },
		/* all six arguments, compared as 64-bit values */
		{ "arg5 == 9", { 0, 0, 0, 0, 0, 9 }, R_ALLOW },
		{ "arg5 == 9", { 9, 9, 9, 9, 9, 0 }, R_KILL },
		{ "arg3==7", { 0, 0, 0, 7 }, R_ALLOW },
		{ "arg1 == 0x100000001", { 0, 0x100000001 }, R_ALLOW },
		{ "arg1 == 0x100000001", { 0, 1 }, R_KILL },
		{ "arg1 > 0x100000000", { 0, 0x100000001 }, R_ALLOW },
		{ "arg1 > 0x100000000", { 0, 0x100000000 }, R_KILL },
		/* 32-bit constants: the low word decides too */
		{ "arg1 > 0xffffffff", { 0, 0x100000000 }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, masks)
{
	static const struct pcase cases[] = {
		/* "&": some bit of the mask is set */
		{ "arg0 & 0x6", { 2 }, R_ALLOW },
		{ "arg0 & 0x6", { 4 }, R_ALLOW },
		{ "arg0 & 0x6", { 0xff }, R_ALLOW },
		{ "arg0 & 0x6", { 1 }, R_KILL },
		{ "arg0 & 0x6", { 0 }, R_KILL },
		/* "in": no bit outside the mask is set */
		{ "arg0 in 0x6", { 0 }, R_ALLOW },
		{ "arg0 in 0x6", { 2 }, R_ALLOW },
		{ "arg0 in 0x6", { 6 }, R_ALLOW },
		{ "arg0 in 0x6", { 1 }, R_KILL },
		{ "arg0 in 0x6", { 7 }, R_KILL },
		{ "arg0 in 0x6", { 0x100000002 }, R_KILL },
		/* a mask with named constants, as in common.policy */
		{ "arg2 in PROT_READ|PROT_WRITE", { 0, 0, PROT_READ },
		    R_ALLOW },
		{ "arg2 in PROT_READ|PROT_WRITE",
		    { 0, 0, PROT_READ | PROT_WRITE }, R_ALLOW },
		{ "arg2 in PROT_READ|PROT_WRITE",
		    { 0, 0, PROT_READ | PROT_EXEC }, R_KILL },
		{ "arg2 & PROT_EXEC", { 0, 0, PROT_READ }, R_KILL },
		{ "arg2 & PROT_EXEC", { 0, 0, PROT_EXEC }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * A 32-bit argument (an int, a flag word, an ioctl request) is what the
 * kernel reads from the low half of the register: a comparison with a
 * 32-bit constant must hold for the low word, so that setting the high
 * word cannot pass "!=", ">", "<" (negative constants) or "&".
 */
Test(policy, high_word_cannot_pass_32bit_comparisons)
{
	static const struct pcase cases[] = {
		{ "arg0 != 5", { 0x100000005 }, R_KILL },
		{ "arg0 != 5", { 0xffffffff00000005 }, R_KILL },
		{ "arg0 != 5", { 6 }, R_ALLOW },
		{ "arg0 > 5", { 0x100000000 }, R_KILL },
		{ "arg0 > 5", { 0x100000006 }, R_ALLOW },
		{ "arg0 >= 5", { 0x100000004 }, R_KILL },
		{ "arg0 & 0x4", { 0x400000000 }, R_KILL },
		{ "arg0 & ~0x3", { 0x100000000 }, R_KILL },
		{ "arg0 & ~0x3", { 4 }, R_ALLOW },
		/* AT_FDCWD is an int: 0xffffff9c is AT_FDCWD to the kernel */
		{ "arg0 != AT_FDCWD", { 0xffffff9c }, R_KILL },
		{ "arg0 != AT_FDCWD", { 3 }, R_ALLOW },
		{ "arg0 < -100", { 0xffffff9c }, R_KILL },
		{ "arg0 <= -101", { 0xffffff9c }, R_KILL },
		{ "arg0 < -100", { (uint64_t)-101 }, R_ALLOW },
		/* a constant wider than 32 bits: the whole argument */
		{ "arg0 != 0x100000005", { 0x100000005 }, R_KILL },
		{ "arg0 != 0x100000005", { 5 }, R_ALLOW },
		{ "arg0 & 0x100000000", { 0x100000000 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/* The same bypass with a call whose argument the kernel truncates. */
Test(policy, high_word_bypass_of_a_real_call)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 2, F_GETFD };

	/* fcntl(2)'s cmd is an unsigned int: F_DUPFD | 1 << 32 is F_DUPFD */
	pf = compile_ok("fcntl: arg1 != F_DUPFD\nexit_group: 1\n",
	    POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_ALLOW);
	a[1] = F_DUPFD;
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_KILL);
	a[1] = (uint64_t)1 << 32 | F_DUPFD;
	cr_expect_eq(probe(pf, SYS_fcntl, a), R_KILL,
	    "fcntl(2, F_DUPFD | 1 << 32) passed 'arg1 != F_DUPFD'");
	policy_filter_free(pf);
}

Test(policy, or_and)
{
	static const struct pcase cases[] = {
		{ "arg0 == 1 || arg1 == 2", { 1, 0 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2", { 0, 2 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2", { 0, 0 }, R_KILL },
		{ "arg0 == 1 && arg1 == 2", { 1, 2 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2", { 1, 0 }, R_KILL },
		{ "arg0 == 1 && arg1 == 2", { 0, 2 }, R_KILL },
		/* && binds tighter than || */
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 0, 0, 3 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 1, 2, 0 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2 || arg2 == 3", { 1, 0, 0 }, R_KILL },
		{ "arg0 == 1 || arg1 == 2 && arg2 == 3", { 1, 0, 0 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2 && arg2 == 3", { 0, 2, 0 }, R_KILL },
		/* the same argument in alternatives */
		{ "arg1 == 1 || arg1 == 2 || arg1 == 4", { 0, 4 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2 || arg1 == 4", { 0, 3 }, R_KILL },
		/* the same argument twice in a conjunction, mergeable */
		{ "arg0 == 3 && arg0 < 5", { 3 }, R_ALLOW },
		{ "arg0 == 6 && arg0 < 5", { 6 }, R_KILL },
		{ "arg0 & 1 && arg0 & 2", { 3 }, R_ALLOW },
		{ "arg0 & 1 && arg0 & 2", { 1 }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/* Any number of comparisons of one argument, ranges among them. */
Test(policy, same_argument_compared_twice)
{
	static const struct pcase cases[] = {
		{ "arg0 >= 1 && arg0 <= 5", { 0 }, R_KILL },
		{ "arg0 >= 1 && arg0 <= 5", { 1 }, R_ALLOW },
		{ "arg0 >= 1 && arg0 <= 5", { 5 }, R_ALLOW },
		{ "arg0 >= 1 && arg0 <= 5", { 6 }, R_KILL },
		{ "arg0 != 1 && arg0 != 2", { 2 }, R_KILL },
		{ "arg0 != 1 && arg0 != 2", { 3 }, R_ALLOW },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003",
		    { 0x100000002 }, R_ALLOW },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003", { 2 }, R_KILL },
		{ "arg0 > 0x100000000 && arg0 < 0x100000003",
		    { 0x100000003 }, R_KILL },
		{ "arg0 in 0xff && arg0 & 0x10 && arg0 != 0x11", { 0x12 },
		    R_ALLOW },
		{ "arg0 in 0xff && arg0 & 0x10 && arg0 != 0x11", { 0x11 },
		    R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * Filters that libseccomp 2.5 (the compiler's first back end) got wrong:
 * too permissive, too strict, a fallback dropped, a compile that never
 * ended.
 */
Test(policy, regressions_libseccomp_rules)
{
	static const struct pcase cases[] = {
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 0, 5 },
		    R_KILL },
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 0, 0 },
		    R_ALLOW },
		{ "arg0 > 3 && arg1 & 1 || arg0 < 4 && arg1 == 0", { 4, 1 },
		    R_ALLOW },
		{ "arg0 > 4 || arg1 < 3 && arg0 >= 0", { 0, 0 }, R_ALLOW },
		{ "arg0 > 4 || arg1 < 3 && arg0 >= 0", { 0, 3 }, R_KILL },
		{ "arg1 != 4 || arg1 < 4 && arg0 != 1 || arg0 == 1; return 5",
		    { 0, 4 }, 5 },
		{ "arg1 != 4 || arg1 < 4 && arg0 != 1 || arg0 == 1; return 5",
		    { 1, 4 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2; return EPERM", { 0, 2 }, R_ALLOW },
		{ "arg1 == 1 || arg1 == 2; return EPERM", { 0, 3 }, EPERM },
		{ "arg0 in 1 || arg1 in 1 || arg2 in 1; return EPERM",
		    { 2, 2, 2 }, EPERM },
		{ "arg0 in 1 || arg1 in 1 || arg2 in 1; return EPERM",
		    { 2, 1, 2 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, constants_and_numbers)
{
	static const struct pcase cases[] = {
		{ "arg1 == O_RDWR|O_CLOEXEC", { 0, O_RDWR | O_CLOEXEC },
		    R_ALLOW },
		{ "arg1 == O_RDWR|O_CLOEXEC", { 0, O_RDWR }, R_KILL },
		{ "arg1 == O_RDWR | O_NONBLOCK | O_CLOEXEC",
		    { 0, O_RDWR | O_NONBLOCK | O_CLOEXEC }, R_ALLOW },
		{ "arg1 == FIONBIO", { 0, FIONBIO }, R_ALLOW },
		{ "arg1 == FIONBIO", { 0, FIOCLEX }, R_KILL },
		{ "arg3 == MAP_SHARED|MAP_FIXED", { 0, 0, 0,
		    MAP_SHARED | MAP_FIXED }, R_ALLOW },
		{ "arg3 == MAP_SHARED|MAP_FIXED", { 0, 0, 0, MAP_SHARED },
		    R_KILL },
		{ "arg2 == PROT_READ|PROT_WRITE", { 0, 0, 3 }, R_ALLOW },
		{ "arg0 == 0x10", { 16 }, R_ALLOW },
		{ "arg0 == 0X10", { 16 }, R_ALLOW },
		{ "arg0 == 16", { 16 }, R_ALLOW },
		{ "arg0 == 16", { 0x10 + 1 }, R_KILL },
		{ "arg0 == 020", { 16 }, R_ALLOW },
		{ "arg0 == 0x10|1", { 17 }, R_ALLOW },
		{ "arg0 == -1", { UINT64_MAX }, R_ALLOW },
		{ "arg0 == -1", { 0xffffffff }, R_KILL },
		{ "arg0 == 18446744073709551615", { UINT64_MAX }, R_ALLOW },
		{ "arg0 == ~0x10", { ~(uint64_t)0x10 }, R_ALLOW },
		{ "arg0 == (1|2)", { 3 }, R_ALLOW },
		{ "arg0 in ~O_NONBLOCK", { O_CLOEXEC }, R_ALLOW },
		{ "arg0 in ~O_NONBLOCK", { O_NONBLOCK }, R_KILL },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * The constant table is generated from the system headers at build time:
 * these are the values of the same headers as this file sees them, and
 * the hand-kept constants newer than those headers.
 */
Test(policy, constants_from_the_headers)
{
	static const struct pcase cases[] = {
		/* ioctl requests that are _IOR(...) expressions */
		{ "arg0 == TCGETS2", { TCGETS2 }, R_ALLOW },
		{ "arg0 == TCGETS2", { TCGETS }, R_KILL },
		{ "arg0 == TCSETS2", { TCSETS2 }, R_ALLOW },
		{ "arg0 == FS_IOC_FSGETXATTR", { FS_IOC_FSGETXATTR }, R_ALLOW },
		{ "arg0 == FS_IOC_FSGETXATTR", { FS_IOC_FSSETXATTR }, R_KILL },
		{ "arg0 == BLKGETSIZE64", { BLKGETSIZE64 }, R_ALLOW },
		/* shifts: (1U << 1), (1UL << 0) */
		{ "arg0 == IORING_SETUP_SQPOLL", { IORING_SETUP_SQPOLL },
		    R_ALLOW },
		{ "arg0 == SECCOMP_FILTER_FLAG_TSYNC",
		    { SECCOMP_FILTER_FLAG_TSYNC }, R_ALLOW },
		/* glibc's enums behind #define NAME NAME */
		{ "arg0 == SCHED_IDLE", { SCHED_IDLE }, R_ALLOW },
		{ "arg0 == SCHED_IDLE", { SCHED_BATCH }, R_KILL },
		{ "arg0 == SOCK_SEQPACKET", { SOCK_SEQPACKET }, R_ALLOW },
		{ "arg0 == RLIMIT_NOFILE", { RLIMIT_NOFILE }, R_ALLOW },
		/* a negative int, sign-extended as the C library passes it */
		{ "arg0 == AT_FDCWD", { (uint64_t)(int64_t)AT_FDCWD }, R_ALLOW },
		/* newer than Linux 6.1's headers: the hand-kept table */
		{ "arg0 == MADV_GUARD_INSTALL", { 102 }, R_ALLOW },
		{ "arg0 == MADV_GUARD_REMOVE", { 103 }, R_ALLOW },
		{ "arg0 == PR_GET_AUXV", { 0x41555856 }, R_ALLOW },
		{ "arg0 == PR_SET_MDWE", { 65 }, R_ALLOW },
	};

	check_cases(cases, NCASES(cases));
}

/*
 * Policies written the way crosvm's are (a device file including a shared
 * one; guard regions, PR_GET_AUXV, SCHED_IDLE, TCGETS2, FS_IOC_*) compile
 * in every mode and filter what they say.
 */
Test(policy, crosvm_style_policies)
{
	static const enum policy_mode modes[] = {
		POLICY_MODE_KILL, POLICY_MODE_LOG, POLICY_MODE_TRAP,
	};
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };
	size_t			 m;

	for (m = 0; m < NCASES(modes); m++) {
		pf = file_ok(FIXTURES "/headers/device.policy", modes[m]);
		policy_filter_free(pf);
	}
	pf = file_ok(FIXTURES "/headers/device.policy", POLICY_MODE_KILL);
	a[0] = 0x41555856;	/* PR_GET_AUXV */
	cr_expect_neq(probe(pf, SYS_prctl, a), R_KILL);
	a[0] = PR_SET_DUMPABLE;
	cr_expect_eq(probe(pf, SYS_prctl, a), R_KILL);
	a[0] = 0;
	a[2] = 102;		/* MADV_GUARD_INSTALL */
	cr_expect_neq(probe(pf, SYS_madvise, a), R_KILL);
	a[2] = MADV_HUGEPAGE;
	cr_expect_eq(probe(pf, SYS_madvise, a), R_KILL);
	a[2] = 0;
	a[1] = TCGETS2;
	cr_expect_neq(probe(pf, SYS_ioctl, a), R_KILL);
	a[1] = TIOCSTI;
	cr_expect_eq(probe(pf, SYS_ioctl, a), R_KILL);
	policy_filter_free(pf);
}

Test(policy, return_errno)
{
	static const struct pcase cases[] = {
		/* unconditional */
		{ "return EPERM", { 0 }, EPERM },
		{ "return EACCES", { 1, 2, 3 }, EACCES },
		{ "return 77", { 0 }, 77 },
		{ "return ENOTTY # with a comment", { 0 }, ENOTTY },
		/* "; return ERRNO": exactly where the expression is false */
		{ "arg0 == 1; return EPERM", { 1 }, R_ALLOW },
		{ "arg0 == 1; return EPERM", { 2 }, EPERM },
		{ "arg0 == 1 ; return 5", { 0 }, 5 },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 1, 2 }, R_ALLOW },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 1, 3 }, EPERM },
		{ "arg0 == 1 && arg1 == 2; return EPERM", { 0, 2 }, EPERM },
		{ "arg0 == 1 || arg1 == 2; return EPERM", { 0, 2 }, R_ALLOW },
		{ "arg0 == 1 || arg1 == 2; return EPERM", { 0, 0 }, EPERM },
		{ "arg0 < 4; return EPERM", { 4 }, EPERM },
		{ "arg0 < 4; return EPERM", { 3 }, R_ALLOW },
		{ "arg0 & 0x6; return EPERM", { 2 }, R_ALLOW },
		{ "arg0 & 0x6; return EPERM", { 1 }, EPERM },
		{ "arg0 in 0x6; return EPERM", { 6 }, R_ALLOW },
		{ "arg0 in 0x6; return EPERM", { 9 }, EPERM },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, lines_merge_as_or)
{
	static const struct pcase cases[] = {
		{ "arg0 == 1\ngetppid: arg0 == 2", { 1 }, R_ALLOW },
		{ "arg0 == 1\ngetppid: arg0 == 2", { 2 }, R_ALLOW },
		{ "arg0 == 1\ngetppid: arg0 == 2", { 3 }, R_KILL },
		/* an unconditional line wins over conditions */
		{ "arg0 == 1\ngetppid: 1", { 3 }, R_ALLOW },
		{ "1\ngetppid: arg0 == 1; return EPERM", { 3 }, R_ALLOW },
		/* a fallback applies where no line allows */
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 0, 2 },
		    R_ALLOW },
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 1, 0 },
		    R_ALLOW },
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 2", { 0, 0 },
		    EPERM },
		{ "return EPERM\ngetppid: arg0 == 1", { 1 }, R_ALLOW },
		{ "return EPERM\ngetppid: arg0 == 1", { 2 }, EPERM },
		/* the same fallback twice is fine */
		{ "arg0 == 1; return EPERM\ngetppid: arg1 == 1; return EPERM",
		    { 0, 0 }, EPERM },
	};

	check_cases(cases, NCASES(cases));
}

Test(policy, comments_blank_lines_continuation)
{
	static const char text[] =
	    "# a comment line\n"
	    "\n"
	    "   \t\n"
	    "@frequency ./no-such.frequency   # accepted and ignored\n"
	    "getppid: arg0 == 1 || \\\n"
	    "         arg0 == 2 || \\   \n"
	    "\targ0 == 3   # after a continuation\n"
	    "exit_group: 1# no space before the comment\r\n"
	    "# a last comment \\\n"
	    "getpid: 1\n";
	static const uint64_t one[6] = { 1 }, two[6] = { 2 }, three[6] = { 3 },
	    four[6] = { 4 };
	struct policy_filter	*pf;

	pf = compile_ok(text, POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, one), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, two), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, three), R_ALLOW);
	cr_expect_eq(probe(pf, SYS_getppid, four), R_KILL);
	/* "\" inside a comment does not continue the line */
	cr_expect_eq(probe(pf, SYS_getpid, one), R_ALLOW);
	policy_filter_free(pf);
}

Test(policy, continuation_on_last_line)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };

	pf = compile_ok("exit_group: 1\ngetppid: \\\n1 \\", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_getppid, a), R_ALLOW);
	policy_filter_free(pf);
}

Test(policy, empty_policy)
{
	struct policy_filter	*pf;

	pf = compile_ok("", POLICY_MODE_KILL);
	policy_filter_free(pf);
	pf = compile_ok("# nothing\n\n", POLICY_MODE_TRAP);
	policy_filter_free(pf);
}

Test(policy, include_merges_across_files)
{
	struct policy_filter	*pf;
	uint64_t		 nbio[6] = { (uint64_t)-1, FIONBIO },
				 clex[6] = { (uint64_t)-1, FIOCLEX },
				 nclex[6] = { (uint64_t)-1, FIONCLEX };

	/* ioctl on fd -1 is allowed when it fails with EBADF */
	pf = file_ok(FIXTURES "/device.policy", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_ioctl, nbio), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, clex), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, nclex), R_KILL);
	policy_filter_free(pf);

	pf = file_ok(FIXTURES "/common.policy", POLICY_MODE_KILL);
	cr_expect_eq(probe(pf, SYS_ioctl, nbio), EBADF);
	cr_expect_eq(probe(pf, SYS_ioctl, clex), R_KILL);
	policy_filter_free(pf);
}

Test(policy, include_relative_and_nested)
{
	struct policy_filter	*pf;
	uint64_t		 a[6] = { 0 };
	int			 i;

	pf = file_ok(FIXTURES "/top.policy", POLICY_MODE_KILL);
	for (i = 0; i <= 4; i++) {
		a[0] = (uint64_t)i;
		cr_expect_eq(probe(pf, SYS_getppid, a),
		    i >= 1 && i <= 3 ? R_ALLOW : R_KILL, "getppid(%d)", i);
	}
	policy_filter_free(pf);

	/* From a stream, relative to the directory of its name. */
	pf = compile_named("@include nested/leaf.policy\n",
	    FIXTURES "/inline.policy", POLICY_MODE_KILL, NULL, 0);
	cr_assert_not_null(pf);
	a[0] = 3;
	cr_expect_eq(probe(pf, SYS_getppid, a), R_ALLOW);
	policy_filter_free(pf);

	/* Eight files deep is the limit, and allowed. */
	pf = file_ok(FIXTURES "/depth/2.policy", POLICY_MODE_KILL);
	policy_filter_free(pf);
}

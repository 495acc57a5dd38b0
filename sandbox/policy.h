/*
 * policy.h - seccomp policy files (minijail syntax, see vhostd.policy(5))
 * compiled with libseccomp into ready BPF in the parent, loaded by the
 * child with no allocation and no library calls.
 */
#ifndef VHOSTD_SANDBOX_POLICY_H
#define VHOSTD_SANDBOX_POLICY_H

#include <stddef.h>
#include <stdio.h>

/* Exit code of a child stopped by the LOG-mode reporter. */
#define POLICY_LOG_EXIT		159

enum policy_mode {
	POLICY_MODE_KILL,	/* unlisted syscall: SECCOMP_RET_KILL_PROCESS */
	POLICY_MODE_LOG,	/* SECCOMP_RET_TRAP + a reporter that names it */
	POLICY_MODE_TRAP	/* SECCOMP_RET_TRAP (SIGSYS, default action) */
};

/* Opaque: ready BPF (struct sock_fprog) plus a syscall name table. */
struct policy_filter;

/*
 * Parse and compile the policy file at path for the native architecture.
 * Unlisted syscalls get the mode's default action; a foreign architecture
 * (or x32 on x86_64) kills the process.  In LOG mode write(2) to fd 2 and
 * exit_group(2) are allowed in addition, for the reporter.
 * Returns a filter the caller owns (policy_filter_free), or NULL after
 * writing "file:line:column: message" into err (errlen bytes).
 */
struct policy_filter *policy_compile_file(const char *path,
	    enum policy_mode mode, char *err, size_t errlen);

/*
 * Same as policy_compile_file, from the stream f (not closed).  name is
 * used in messages and its directory is the base for relative @include
 * paths.
 */
struct policy_filter *policy_compile_stream(FILE *f, const char *name,
	    enum policy_mode mode, char *err, size_t errlen);

/* Free a filter (NULL is fine). */
void	policy_filter_free(struct policy_filter *f);

/*
 * Child side, after PR_SET_NO_NEW_PRIVS.  In LOG mode, first install a
 * SIGSYS handler that writes "seccomp: forbidden syscall NAME(arg0, ...,
 * arg5)" to stderr with write(2) and calls _exit(POLICY_LOG_EXIT); then
 * load the BPF with seccomp(2) and SECCOMP_FILTER_FLAG_TSYNC: every thread
 * of the process gets the filter (a device may start threads before it,
 * blk's queue threads), or none does and it fails (-EBUSY when a thread
 * could not be synchronised).  Makes no other system calls and allocates
 * nothing.  f must stay alive (the handler reads its name table).
 * Returns 0 or -errno.
 */
int	policy_filter_load(const struct policy_filter *f);

/*
 * Load a precompiled BPF program: a raw array of struct sock_filter, as
 * minijail's compile_seccomp_policy writes it.  The program must start by
 * loading the architecture (seccomp_data.arch).  Returns a filter the
 * caller owns, or NULL after writing "path: message" into err.
 */
struct policy_filter *policy_load_bpf_file(const char *path, char *err,
	    size_t errlen);

/*
 * Write f's program to fd as a raw array of struct sock_filter, the form
 * policy_load_bpf_file (and minijail) read.  0 or -errno.
 */
int	policy_filter_write(const struct policy_filter *f, int fd);

/*
 * Read len bytes of a program policy_filter_write wrote from fd (at its
 * offset; not closed), compiled for mode, and validate it as
 * policy_load_bpf_file does; a LOG-mode filter gets its name table.  For
 * an exec'd device child: the parent compiled the policy, the child only
 * loads it.  name is used in messages.  NULL with a message in err.
 */
struct policy_filter *policy_read_bpf_fd(int fd, size_t len,
	    enum policy_mode mode, const char *name, char *err,
	    size_t errlen);

/* The mode f was compiled for. */
enum policy_mode policy_filter_mode(const struct policy_filter *f);

/* Number of BPF instructions of f (for tests and diagnostics). */
size_t	policy_filter_len(const struct policy_filter *f);

/*
 * Name of syscall nr on the native architecture from f's table (LOG-mode
 * filters have one), or NULL.  Async-signal-safe.
 */
const char *policy_filter_syscall_name(const struct policy_filter *f,
	    long nr);

#endif /* VHOSTD_SANDBOX_POLICY_H */

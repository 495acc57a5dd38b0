/*
 * policy_consts.c - the named constants a policy may use: the table
 * generated from the system headers at build time (gen-policy-consts.sh,
 * policy_headers.h), a short hand-kept table of constants newer than those
 * headers, and the errno names "return" accepts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

/*
 * Constants newer than the headers of some build machines (Debian 12 has
 * Linux 6.1's), with the kernel's values.  Used only when the generated
 * table (from the headers, gen-policy-consts.sh) lacks the name, so newer
 * headers win.  crosvm's policies use the first ones.
 */
static const struct pol_const pol_hand_consts[] = {
	/* Linux 6.13: madvise(2) guard regions */
	{ "MADV_GUARD_INSTALL", 102 },
	{ "MADV_GUARD_REMOVE", 103 },
	/* Linux 6.3 to 6.16: prctl(2) options */
	{ "PR_SET_MDWE", 65 },
	{ "PR_GET_MDWE", 66 },
	{ "PR_MDWE_REFUSE_EXEC_GAIN", 1 },
	{ "PR_MDWE_NO_INHERIT", 2 },
	{ "PR_SET_MEMORY_MERGE", 67 },
	{ "PR_GET_MEMORY_MERGE", 68 },
	{ "PR_GET_SHADOW_STACK_STATUS", 74 },
	{ "PR_SET_SHADOW_STACK_STATUS", 75 },
	{ "PR_LOCK_SHADOW_STACK_STATUS", 76 },
	{ "PR_TIMER_CREATE_RESTORE_IDS", 77 },
	{ "PR_FUTEX_HASH", 78 },
	{ "PR_GET_AUXV", 0x41555856 },
	/* Linux 6.3: memfd_create(2) exec sealing */
	{ "MFD_NOEXEC_SEAL", 0x0008 },
	{ "MFD_EXEC", 0x0010 },
	/* Linux 6.11: mmap(2) */
	{ "MAP_DROPPABLE", 0x08 },
	/* Linux 6.10: fcntl(2) F_LINUX_SPECIFIC_BASE + 3 */
	{ "F_DUPFD_QUERY", 1027 },
	/* Linux 6.12: sched_setattr(2) */
	{ "SCHED_EXT", 7 },
};

#define E(x)	{ #x, x }

static const struct {
	const char	*pe_name;
	int		 pe_val;
} pol_errnos[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO),
	E(E2BIG), E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN),
	E(EWOULDBLOCK), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY),
	E(EEXIST), E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL),
	E(ENFILE), E(EMFILE), E(ENOTTY), E(ETXTBSY), E(EFBIG), E(ENOSPC),
	E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(EDOM), E(ERANGE),
	E(EDEADLK), E(ENAMETOOLONG), E(ENOLCK), E(ENOSYS), E(ENOTEMPTY),
	E(ELOOP), E(ENOMSG), E(ENODATA), E(ETIME), E(EPROTO), E(EOVERFLOW),
	E(EILSEQ), E(ENOTSOCK), E(EDESTADDRREQ), E(EMSGSIZE),
	E(EPROTOTYPE), E(ENOPROTOOPT), E(EPROTONOSUPPORT),
	E(ESOCKTNOSUPPORT), E(EOPNOTSUPP), E(ENOTSUP), E(EPFNOSUPPORT),
	E(EAFNOSUPPORT), E(EADDRINUSE), E(EADDRNOTAVAIL), E(ENETDOWN),
	E(ENETUNREACH), E(ECONNABORTED), E(ECONNRESET), E(ENOBUFS),
	E(EISCONN), E(ENOTCONN), E(ETIMEDOUT), E(ECONNREFUSED),
	E(EHOSTUNREACH), E(EALREADY), E(EINPROGRESS), E(ESTALE),
	E(EDQUOT), E(ECANCELED), E(EOWNERDEAD), E(ENOTRECOVERABLE),
	E(ENOMEDIUM), E(EMEDIUMTYPE),
};

static int
const_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct pol_const *)elem)->pk_name);
}

int
pol_const_lookup(const char *name, uint64_t *val)
{
	const struct pol_const	*k;
	size_t			 i;

	k = bsearch(name, pol_gen_consts, pol_gen_nconsts,
	    sizeof(pol_gen_consts[0]), const_cmp);
	if (k != NULL) {
		*val = k->pk_val;
		return 0;
	}
	for (i = 0; i < sizeof(pol_hand_consts) / sizeof(pol_hand_consts[0]);
	    i++)
		if (strcmp(pol_hand_consts[i].pk_name, name) == 0) {
			*val = pol_hand_consts[i].pk_val;
			return 0;
		}
	return -1;
}

int
pol_errno_lookup(const char *name, int *val)
{
	size_t	i;

	for (i = 0; i < sizeof(pol_errnos) / sizeof(pol_errnos[0]); i++)
		if (strcmp(pol_errnos[i].pe_name, name) == 0) {
			*val = pol_errnos[i].pe_val;
			return 0;
		}
	return -1;
}

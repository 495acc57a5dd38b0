/*
 * policy_int.h - internals shared by the policy parser (policy.c), the
 * compiler (policy_compile.c), the compiled filter (policy_filter.c) and
 * the constant table (policy_consts.c).
 * Not for use outside sandbox/policy*.c.
 */
#ifndef VHOSTD_SANDBOX_POLICY_INT_H
#define VHOSTD_SANDBOX_POLICY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/audit.h>
#include <linux/filter.h>

#include "policy.h"

/* A place in a policy file; pl_file points into pol_db's file list. */
struct pol_loc {
	const char	*pl_file;
	unsigned int	 pl_line;
	unsigned int	 pl_col;
};

enum pol_op {
	POL_EQ, POL_NE, POL_LT, POL_LE, POL_GT, POL_GE,
	POL_AND,	/* (arg & value) != 0 */
	POL_IN		/* (arg & ~value) == 0 */
};

/* "argN OP value" */
struct pol_atom {
	unsigned int	 pa_arg;
	enum pol_op	 pa_op;
	uint64_t	 pa_val;
	struct pol_loc	 pa_loc;
};

/* AND of atoms. */
struct pol_clause {
	struct pol_atom	*pc_atoms;
	size_t		 pc_n;
};

/*
 * Everything the policy says about one syscall, merged over all lines:
 * allowed unconditionally (ps_allow), or when one of the clauses holds;
 * otherwise ERRNO(ps_errno) if ps_fallback, else the default action.
 */
struct pol_sys {
	int		 ps_nr;
	char		*ps_name;
	bool		 ps_allow;
	struct pol_loc	 ps_allow_loc;
	bool		 ps_ret_uncond;	/* a "return E" line */
	bool		 ps_fallback;
	int		 ps_errno;
	struct pol_loc	 ps_ret_loc;	/* where ps_errno came from */
	struct pol_clause *ps_clauses;
	size_t		 ps_nclauses;
};

struct pol_db {
	struct pol_sys	*pd_sys;
	size_t		 pd_n;
	size_t		 pd_cap;
	char		**pd_files;	/* owned names used by pol_loc */
	size_t		 pd_nfiles;
};

/* Write "file:line:column: message" into err. */
void	pol_err(char *err, size_t errlen, const struct pol_loc *loc,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse f (named name) into db.  0, or -1 with err set. */
int	pol_parse(struct pol_db *db, FILE *f, const char *name, char *err,
	    size_t errlen);
void	pol_db_free(struct pol_db *db);
/* The entry for nr, created if absent (NULL when out of memory). */
struct pol_sys *pol_db_sys(struct pol_db *db, int nr, const char *name);

#define POL_NR_MAX	1024	/* syscall numbers with a name slot */
#define POL_MAX_INSNS	BPF_MAXINSNS

#if defined(__x86_64__)
#define POL_ARCH	AUDIT_ARCH_X86_64
#define POL_X32_BIT	0x40000000U	/* __X32_SYSCALL_BIT */
#elif defined(__aarch64__)
#define POL_ARCH	AUDIT_ARCH_AARCH64
#else
#error "policy_int.h: no seccomp architecture for this target"
#endif

/* The BPF instructions the compiler emits and the validator expects. */
#define LD_W		(BPF_LD | BPF_W | BPF_ABS)
#define JEQ		(BPF_JMP | BPF_JEQ | BPF_K)
#define JGT		(BPF_JMP | BPF_JGT | BPF_K)
#define JGE		(BPF_JMP | BPF_JGE | BPF_K)
#define JSET		(BPF_JMP | BPF_JSET | BPF_K)
#define JA		(BPF_JMP | BPF_JA)
#define RET		(BPF_RET | BPF_K)

/* A compiled filter: the program, and the names of system calls for LOG. */
struct policy_filter {
	struct sock_fprog	 pf_prog;
	enum policy_mode	 pf_mode;
	char			*pf_names;	/* NUL-separated */
	uint32_t		 pf_name_off[POL_NR_MAX];  /* offset + 1 */
};

/* An empty filter for mode (with the name table for LOG); NULL: no memory. */
struct policy_filter *pol_filter_new(enum policy_mode mode);

/* Compile db into a filter; NULL with err set. */
struct policy_filter *pol_compile(struct pol_db *db, enum policy_mode mode,
	    char *err, size_t errlen);

/* A named constant. */
struct pol_const {
	const char	*pk_name;
	uint64_t	 pk_val;
};

/*
 * The constants of the system headers, sorted by name (strcmp): generated
 * at build time by sandbox/gen-policy-consts.sh into
 * $(BUILD)/sandbox/policy_consts_gen.c.
 */
extern const struct pol_const	pol_gen_consts[];
extern const size_t		pol_gen_nconsts;

/*
 * Named constants (O_*, PROT_*, ...: the generated table, then the hand
 * table of constants newer than the build's headers) and errno names
 * (E*).  0 or -1.
 */
int	pol_const_lookup(const char *name, uint64_t *val);
int	pol_errno_lookup(const char *name, int *val);

#endif /* VHOSTD_SANDBOX_POLICY_INT_H */

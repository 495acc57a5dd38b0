/* policy_test: random expressions, judged by the kernel. */

#include <errno.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "policy_harness.h"

/*
 * Random expressions, judged by the kernel against a direct evaluation:
 * one grandchild per expression makes getppid() for every pair of edge
 * values in arg0 and arg1, in TRAP mode with a handler that returns, and
 * reports what each call got through a pipe.
 */
#define RND_CLAUSES	3
#define RND_ATOMS	3
#define RND_GRID	12

static const uint64_t rnd_vals[RND_GRID] = {
	0, 1, 2, 3, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
	0x100000001, 0x1ffffffff, 0xfffffffffffffffe, UINT64_MAX,
};
static const char *const rnd_ops[] = {
	"==", "!=", "<", "<=", ">", ">=", "&", "in",
};

struct rnd_atom {
	unsigned int	ra_arg;
	unsigned int	ra_op;		/* index in rnd_ops */
	uint64_t	ra_val;
};

struct rnd_expr {
	struct rnd_atom	re_atom[RND_CLAUSES][RND_ATOMS];
	unsigned int	re_natoms[RND_CLAUSES];
	unsigned int	re_nclauses;
	bool		re_fallback;
};

static bool
rnd_op_holds(unsigned int op, uint64_t x, uint64_t v)
{
	switch (op) {
	case 0: return x == v;
	case 1: return x != v;
	case 2: return x < v;
	case 3: return x <= v;
	case 4: return x > v;
	case 5: return x >= v;
	case 6: return (x & v) != 0;
	default: return (x & ~v) == 0;
	}
}

/*
 * vhostd.policy(5): a comparison with a 32-bit constant (zero- or
 * sign-extended) holds when it holds for the whole argument and for its
 * low word; any other constant is compared with the whole argument.
 */
static bool
rnd_atom_holds(const struct rnd_atom *a, const uint64_t *args)
{
	uint64_t	x = args[a->ra_arg], v = a->ra_val;
	bool		c32;

	c32 = v >> 32 == 0 || (v >> 32 == 0xffffffff && (v & 0x80000000));
	return rnd_op_holds(a->ra_op, x, v) && (!c32 ||
	    rnd_op_holds(a->ra_op, (uint32_t)x, (uint32_t)v));
}

/* 'a' allowed, 'e' errno 5, 't' trapped */
static char
rnd_eval(const struct rnd_expr *e, const uint64_t *args)
{
	unsigned int	i, j;
	bool		ok;

	for (i = 0; i < e->re_nclauses; i++) {
		ok = true;
		for (j = 0; j < e->re_natoms[i]; j++)
			ok = ok && rnd_atom_holds(&e->re_atom[i][j], args);
		if (ok)
			return 'a';
	}
	return e->re_fallback ? 'e' : 't';
}

static void
rnd_text(const struct rnd_expr *e, char *buf, size_t len)
{
	size_t		n;
	unsigned int	i, j;

	n = (size_t)snprintf(buf, len, "getppid:");
	for (i = 0; i < e->re_nclauses; i++)
		for (j = 0; j < e->re_natoms[i]; j++)
			n += (size_t)snprintf(buf + n, len - n, "%s arg%u %s "
			    "%#llx", j > 0 ? " &&" : i > 0 ? " ||" : "",
			    e->re_atom[i][j].ra_arg,
			    rnd_ops[e->re_atom[i][j].ra_op],
			    (unsigned long long)e->re_atom[i][j].ra_val);
	snprintf(buf + n, len - n, "%s\nexit_group: 1\nrt_sigreturn: 1\n"
	    "write: 1\n", e->re_fallback ? "; return 5" : "");
}

static volatile sig_atomic_t rnd_trapped;

static void
rnd_on_sigsys(int sig)
{
	(void)sig;
	rnd_trapped = 1;
}

/* The grandchild: every grid point, results written to fd. */
static void
rnd_child(const struct policy_filter *pf, uint64_t arg2, int fd)
{
	char		out[RND_GRID * RND_GRID];
	uint64_t	a[6] = { 0, 0, arg2, 0, 0, 0 };
	long		r;
	int		i, j;

	signal(SIGSYS, rnd_on_sigsys);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    policy_filter_load(pf) < 0)
		syscall(SYS_exit_group, R_NOLOAD);
	for (i = 0; i < RND_GRID; i++)
		for (j = 0; j < RND_GRID; j++) {
			a[0] = rnd_vals[i];
			a[1] = rnd_vals[j];
			rnd_trapped = 0;
			r = syscall(SYS_getppid, a[0], a[1], a[2], 0, 0, 0);
			out[i * RND_GRID + j] = rnd_trapped ? 't' : r >= 0 ?
			    'a' : errno == 5 ? 'e' : '?';
		}
	syscall(SYS_write, fd, out, sizeof(out));
	syscall(SYS_exit_group, 0);
}

Test(policy, random_expressions_match_the_kernel)
{
	struct policy_filter	*pf;
	struct rnd_expr		 e;
	unsigned int		 seed = 20261126, i, j, k, bad = 0;
	uint64_t		 args[6] = { 0 };
	char			 text[1024], got[RND_GRID * RND_GRID + 1];
	pid_t			 pid;
	int			 p[2], n;

	for (k = 0; k < 150 && bad < 3; k++) {
		memset(&e, 0, sizeof(e));
		e.re_nclauses = 1 + (unsigned int)rand_r(&seed) % RND_CLAUSES;
		for (i = 0; i < e.re_nclauses; i++) {
			e.re_natoms[i] = 1 + (unsigned int)rand_r(&seed) %
			    RND_ATOMS;
			for (j = 0; j < e.re_natoms[i]; j++) {
				e.re_atom[i][j].ra_arg =
				    (unsigned int)rand_r(&seed) % 3;
				e.re_atom[i][j].ra_op =
				    (unsigned int)rand_r(&seed) % 8;
				e.re_atom[i][j].ra_val =
				    rnd_vals[rand_r(&seed) % RND_GRID];
			}
		}
		e.re_fallback = rand_r(&seed) % 2;
		args[2] = rnd_vals[rand_r(&seed) % RND_GRID];
		rnd_text(&e, text, sizeof(text));
		pf = compile_ok(text, POLICY_MODE_TRAP);

		cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0)
			rnd_child(pf, args[2], p[1]);
		close(p[1]);
		memset(got, 0, sizeof(got));
		n = (int)read(p[0], got, sizeof(got) - 1);
		close(p[0]);
		cr_assert_eq(wait_for(pid), 0, "%s", text);
		cr_assert_eq(n, RND_GRID * RND_GRID, "%s", text);
		for (i = 0; i < RND_GRID * RND_GRID; i++) {
			args[0] = rnd_vals[i / RND_GRID];
			args[1] = rnd_vals[i % RND_GRID];
			if (got[i] == rnd_eval(&e, args))
				continue;
			cr_expect_fail("'%.*s' with (%#llx, %#llx, %#llx): got "
			    "'%c', want '%c'", (int)strcspn(text, "\n"), text,
			    (unsigned long long)args[0],
			    (unsigned long long)args[1],
			    (unsigned long long)args[2], got[i],
			    rnd_eval(&e, args));
			bad++;
			break;
		}
		policy_filter_free(pf);
	}
}

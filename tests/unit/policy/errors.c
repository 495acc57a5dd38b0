/* policy_test: errors: the exact message with file:line:column. */

#include "policy_harness.h"

Test(policy, error_unknown_syscall)
{
	expect_error("read: 1\nno_such_call: 1\n",
	    "inline.policy:2:1: unknown syscall 'no_such_call'");
	expect_error("  \tbogus : 1\n",
	    "inline.policy:1:4: unknown syscall 'bogus'");
}

Test(policy, error_unknown_constant)
{
	expect_error("fcntl: arg1 == F_GETFD || arg1 == F_BOGUS\n",
	    "inline.policy:1:35: unknown constant 'F_BOGUS'");
	expect_error("mmap: arg2 in PROT_READ|PROT_WRIT\n",
	    "inline.policy:1:25: unknown constant 'PROT_WRIT'");
	/* a near miss of a generated or hand-kept name */
	expect_error("madvise: arg2 == MADV_GUARD_INSTAL\n",
	    "inline.policy:1:18: unknown constant 'MADV_GUARD_INSTAL'");
	expect_error("ioctl: arg1 == TCGETS3\n",
	    "inline.policy:1:16: unknown constant 'TCGETS3'");
	/* a macro of the headers that is not an integer constant */
	expect_error("rt_sigaction: arg0 == SIGRTMIN\n",
	    "inline.policy:1:23: unknown constant 'SIGRTMIN'");
	/* argN is not a value */
	expect_error("read: arg0 == 1 | arg1 == 2\n",
	    "inline.policy:1:19: unknown constant 'arg1'");
}

Test(policy, error_bad_operator)
{
	expect_error("read: arg0 = 1\n",
	    "inline.policy:1:12: bad operator '='");
	expect_error("read: arg0 =< 1\n",
	    "inline.policy:1:12: bad operator '=<'");
	expect_error("read: arg0 !== 1\n",
	    "inline.policy:1:12: bad operator '!=='");
	expect_error("read: arg0 has 1\n",
	    "inline.policy:1:12: bad operator 'has'");
	expect_error("read: arg0 1\n", "inline.policy:1:12: bad operator '1'");
	expect_error("read: arg0\n", "inline.policy:1:11: syntax error: "
	    "expected an operator after arg0");
}

Test(policy, error_arguments)
{
	expect_error("read: arg6 == 1\n",
	    "inline.policy:1:7: bad argument index 'arg6' (arg0 to arg5)");
	expect_error("read: arg01 == 1\n",
	    "inline.policy:1:7: bad argument index 'arg01' (arg0 to arg5)");
	expect_error("read: fd == 1\n", "inline.policy:1:7: syntax error: "
	    "expected an argument (arg0 to arg5), got 'fd'");
	expect_error("read: arg0 == 1 && == 2\n", "inline.policy:1:20: "
	    "syntax error: expected an argument (arg0 to arg5)");
}

Test(policy, error_syntax)
{
	expect_error("read 1\n", "inline.policy:1:6: syntax error: "
	    "expected ':' after the syscall name");
	expect_error(": 1\n",
	    "inline.policy:1:1: syntax error: expected a syscall name");
	expect_error("read:\n", "inline.policy:1:6: syntax error: expected "
	    "'1', 'return ERRNO' or an argument expression");
	expect_error("read: 1 2\n",
	    "inline.policy:1:9: syntax error: unexpected '2'");
	expect_error("read: 1; return EPERM\n",
	    "inline.policy:1:8: syntax error: unexpected ';'");
	expect_error("read: arg0 == 1 & arg1 == 2\n", "inline.policy:1:17: "
	    "syntax error: unexpected '&' (use '&&')");
	expect_error("read: arg0 ==\n",
	    "inline.policy:1:14: syntax error: expected a value");
	expect_error("read: arg0 == 1 |\n",
	    "inline.policy:1:18: syntax error: expected a value");
	expect_error("read: arg0 == (1|2\n",
	    "inline.policy:1:19: syntax error: expected ')'");
	expect_error("read: arg0 == 1; allow\n", "inline.policy:1:18: "
	    "syntax error: expected 'return' after ';'");
	expect_error("read: arg0 == 1 arg1 == 2\n",
	    "inline.policy:1:17: syntax error: unexpected 'arg1'");
	expect_error("read: arg0 == 0x\n",
	    "inline.policy:1:15: bad number '0x'");
	expect_error("read: arg0 == 12ab\n",
	    "inline.policy:1:15: bad number '12ab'");
	expect_error("read: arg0 == 99999999999999999999\n",
	    "inline.policy:1:15: number out of range");
	expect_error("read: arg0 == 1\nread: 1\n@bogus x\n",
	    "inline.policy:3:1: unknown directive '@bogus'");
	expect_error("@include   \n", "inline.policy:1:9: syntax error: "
	    "expected a path after '@include'");
	expect_error("@frequency\n", "inline.policy:1:11: syntax error: "
	    "expected a path after '@frequency'");
}

/*
 * Values nest through "(" and "~": a line of the longest length the
 * parser takes (64 KiB) made of them must be an error, not a stack
 * overflow in the privileged parent that compiles the policy.
 */
Test(policy, error_values_nested_too_deeply)
{
	static const char	*const heads[] = { "(", "~", "~(" };
	struct pcase		 c[1] = { { NULL, { 5 }, R_ALLOW } };
	char			*text, want[128], rule[64];
	size_t			 i, k, n, len;

	for (i = 0; i < NCASES(heads); i++) {
		len = strlen(heads[i]);
		n = 60000 / len;
		text = malloc(16 + n * len + 8);
		cr_assert_not_null(text);
		strcpy(text, "read: arg0 == ");
		for (k = 0; k < n; k++)
			memcpy(text + 14 + k * len, heads[i], len);
		strcpy(text + 14 + n * len, "1\n");
		/* the 33rd level: column 15 + 32 */
		snprintf(want, sizeof(want), "inline.policy:1:47: values "
		    "nested too deeply (more than 32 levels)");
		expect_error(text, want);
		free(text);
	}
	/* 32 levels are fine: 16 times "(~", an even number of "~" */
	n = (size_t)snprintf(rule, sizeof(rule), "arg0 == ");
	for (k = 0; k < 32; k++)
		rule[n++] = k % 2 ? '~' : '(';
	rule[n++] = '5';
	for (k = 0; k < 16; k++)
		rule[n++] = ')';
	rule[n] = '\0';
	c[0].pc_rule = rule;
	check_cases(c, 1);
}

Test(policy, error_nul_byte)
{
	static const char text[] = "read: 1\nwri\0te: 1\n";
	struct policy_filter	*pf;
	char			 err[256];
	FILE			*f;

	f = fmemopen((void *)(uintptr_t)text, sizeof(text) - 1, "r");
	cr_assert_not_null(f);
	pf = policy_compile_stream(f, INLINE, POLICY_MODE_KILL, err,
	    sizeof(err));
	fclose(f);
	cr_expect_null(pf);
	cr_expect_str_eq(err, "inline.policy:2:4: syntax error: NUL byte");
}

Test(policy, error_return)
{
	expect_error("read: return\n", "inline.policy:1:13: syntax error: "
	    "expected an errno after 'return'");
	expect_error("read: return EBOGUS\n",
	    "inline.policy:1:14: unknown errno 'EBOGUS'");
	expect_error("read: arg0 == 1; return 4096\n",
	    "inline.policy:1:25: errno 4096 out of range (0 to 4095)");
}

Test(policy, error_location_after_continuation)
{
	expect_error("read: 1\n"
	    "fcntl: arg1 == F_GETFD || \\\n"
	    "       arg1 == F_NOPE\n",
	    "inline.policy:3:16: unknown constant 'F_NOPE'");
}

Test(policy, error_conflicting_actions)
{
	expect_error("read: 1\n# then\nread: return EPERM\n",
	    "inline.policy:3:7: conflicting actions for 'read': 'return' "
	    "here and '1' at inline.policy:1:7");
	expect_error("read:   return EPERM\nread: 1\n",
	    "inline.policy:2:7: conflicting actions for 'read': '1' here "
	    "and 'return' at inline.policy:1:9");
	expect_error("read: arg0 == 0; return EPERM\n"
	    "read: arg0 == 1; return EACCES\n",
	    "inline.policy:2:18: conflicting actions for 'read': 'return 13' "
	    "here and 'return 1' at inline.policy:1:18");
	expect_error("read: return EPERM\nread: return ENOENT\n",
	    "inline.policy:2:7: conflicting actions for 'read': 'return 2' "
	    "here and 'return 1' at inline.policy:1:7");
}

Test(policy, error_conflict_across_files)
{
	expect_error_named("@include common.policy\nexit_group: return EPERM\n",
	    FIXTURES "/inline.policy",
	    FIXTURES "/inline.policy:2:13: conflicting actions for "
	    "'exit_group': 'return' here and '1' at "
	    FIXTURES "/common.policy:6:13");
}

Test(policy, error_long_conjunction)
{
	char	text[1024], want[256];
	size_t	n;
	int	i;

	/* 32 comparisons joined by "&&" are fine, 33 are not */
	n = (size_t)snprintf(text, sizeof(text), "read: arg0 == 0");
	for (i = 1; i < 32; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    " && arg%d != %d", i % 6, i);
	snprintf(text + n, sizeof(text) - n, "\n");
	policy_filter_free(compile_ok(text, POLICY_MODE_KILL));
	snprintf(text + n, sizeof(text) - n, " && arg1 != 99\n");
	snprintf(want, sizeof(want), "inline.policy:1:%zu: 'read': more than "
	    "32 comparisons joined by '&&'", n + 5);
	expect_error(text, want);
}

Test(policy, error_too_many_instructions)
{
	static char		 text[32768];
	struct policy_filter	*pf;
	char			 err[256], want[256];
	size_t			 n, insns = 0;
	int			 i;

	/* 5 instructions per clause */
	n = (size_t)snprintf(text, sizeof(text), "read: arg0 == 0");
	for (i = 1; i < 900; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    " || arg0 == %d", i);
	snprintf(text + n, sizeof(text) - n, "\n");
	pf = compile_named(text, INLINE, POLICY_MODE_KILL, err, sizeof(err));
	cr_expect_null(pf);
	/* 4510, more in a sanitizer build (its runtime's calls) */
	cr_assert_eq(sscanf(err, "inline.policy: the compiled filter has %zu",
	    &insns), 1, "message: %s", err);
	cr_expect_geq(insns, 4510);
	snprintf(want, sizeof(want), "inline.policy: the compiled filter has "
	    "%zu instructions, more than the kernel's 4096", insns);
	cr_expect_str_eq(err, want);
	policy_filter_free(pf);
}

Test(policy, error_include_loop)
{
	expect_file_error(FIXTURES "/loop/a.policy",
	    FIXTURES "/loop/b.policy:2:10: include loop: '"
	    FIXTURES "/loop/a.policy' is already being read");
	expect_file_error(FIXTURES "/loop/self.policy",
	    FIXTURES "/loop/self.policy:1:10: include loop: '"
	    FIXTURES "/loop/self.policy' is already being read");
}

Test(policy, error_include_depth)
{
	expect_file_error(FIXTURES "/depth/1.policy",
	    FIXTURES "/depth/8.policy:1:10: @include nested too deeply "
	    "(more than 8 levels)");
}

Test(policy, error_include_missing)
{
	expect_file_error(FIXTURES "/missing.policy",
	    FIXTURES "/missing.policy:3:10: cannot open '"
	    FIXTURES "/no-such-file.policy': No such file or directory");
	expect_file_error(FIXTURES "/no-such.policy",
	    FIXTURES "/no-such.policy:1:1: cannot open '"
	    FIXTURES "/no-such.policy': No such file or directory");
}

Test(policy, error_in_included_file)
{
	expect_file_error(FIXTURES "/bad/top.policy",
	    FIXTURES "/bad/inner.policy:3:1: unknown syscall "
	    "'no_such_syscall'");
}

/*
 * jail_ids.c - per-device uids and gids for the children (issue 9.5), as
 * systemd's DynamicUser hands them to services: a range of ids that no
 * user or file owns, one id per device, the gid of the same number.
 *
 * The kernel counts some limits per uid: RLIMIT_NPROC counts every task
 * of the uid (io_uring's io-wq workers included), RLIMIT_MEMLOCK's
 * io_uring ring memory is charged to the uid.  With one uid for every
 * child, a child taken over by its guest could start workers up to the
 * limit and leave every other device without any (their I/O then falls
 * back to synchronous calls); with one uid per device the limits are per
 * device.  The children own no files (they never open one by name), so an
 * id needs no entry in the user database; the parent only makes sure that
 * nothing else on the system uses it.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/util/log.h"
#include "jail.h"

#define JAIL_ID_RESERVED	UINT16_MAX	/* the system holds it */

struct jail_ids {
	uint32_t	 ji_base;
	uint32_t	 ji_count;
	uint16_t	*ji_refs;	/* per id: devices using it, or
					   JAIL_ID_RESERVED */
	unsigned int	 ji_reserved;
};

/* Mark [start, start + n) of the range as held by the system. */
static void
ids_reserve(struct jail_ids *ji, uint64_t start, uint64_t n)
{
	uint64_t	lo, hi, i;

	lo = start > ji->ji_base ? start : ji->ji_base;
	hi = start + n < (uint64_t)ji->ji_base + ji->ji_count ?
	    start + n : (uint64_t)ji->ji_base + ji->ji_count;
	for (i = lo; i < hi; i++)
		if (ji->ji_refs[i - ji->ji_base] != JAIL_ID_RESERVED) {
			ji->ji_refs[i - ji->ji_base] = JAIL_ID_RESERVED;
			ji->ji_reserved++;
		}
}

/* /etc/subuid or /etc/subgid: "owner:start:count" lines. */
static void
ids_reserve_subids(struct jail_ids *ji, const char *path)
{
	unsigned long long	 start, n;
	char			 line[512], *p;
	FILE			*f;

	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((p = strchr(line, ':')) == NULL ||
		    sscanf(p + 1, "%llu:%llu", &start, &n) != 2)
			continue;
		ids_reserve(ji, start, n);
	}
	fclose(f);
}

struct jail_ids *
jail_ids_new(const struct jail_config *jc)
{
	struct jail_ids	*ji;
	struct passwd	*pw;
	struct group	*gr;

	if (!jc->jc_enabled || jc->jc_user_given || jc->jc_id_count == 0 ||
	    jc->jc_userns)
		return NULL;
	if ((ji = calloc(1, sizeof(*ji))) == NULL ||
	    (ji->ji_refs = calloc(jc->jc_id_count,
	    sizeof(*ji->ji_refs))) == NULL) {
		free(ji);
		log_warnx("%s: out of memory: every device child runs as uid "
		    "%u", __func__, (unsigned int)jc->jc_uid);
		return NULL;
	}
	ji->ji_base = jc->jc_id_base;
	ji->ji_count = jc->jc_id_count;
	/* Whatever the user database names, by uid or gid. */
	setpwent();
	while ((pw = getpwent()) != NULL) {
		ids_reserve(ji, pw->pw_uid, 1);
		ids_reserve(ji, pw->pw_gid, 1);
	}
	endpwent();
	setgrent();
	while ((gr = getgrent()) != NULL)
		ids_reserve(ji, gr->gr_gid, 1);
	endgrent();
	/* Subordinate ids: a user's containers run as those. */
	ids_reserve_subids(ji, "/etc/subuid");
	ids_reserve_subids(ji, "/etc/subgid");
	if (ji->ji_reserved > 0)
		log_info("device children run as uids %u..%u, one per device; "
		    "%u of them are used on this system (user database, "
		    "/etc/subuid, /etc/subgid) and skipped", ji->ji_base,
		    ji->ji_base + ji->ji_count - 1, ji->ji_reserved);
	else
		log_debug("device children run as uids %u..%u, one per device",
		    ji->ji_base, ji->ji_base + ji->ji_count - 1);
	return ji;
}

/* FNV-1a: stable across runs and builds, for the same name. */
static uint32_t
name_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

int
jail_ids_take(struct jail_ids *ji, const char *name, uint32_t *id)
{
	uint32_t	start = name_hash(name) % ji->ji_count, i, k;
	uint32_t	shared = UINT32_MAX;

	for (k = 0; k < ji->ji_count; k++) {
		i = (start + k) % ji->ji_count;
		if (ji->ji_refs[i] == 0) {
			ji->ji_refs[i] = 1;
			*id = ji->ji_base + i;
			return 0;
		}
		if (shared == UINT32_MAX && ji->ji_refs[i] != JAIL_ID_RESERVED &&
		    ji->ji_refs[i] < JAIL_ID_RESERVED - 1)
			shared = i;
	}
	if (shared == UINT32_MAX) {
		/* Every id reserved by the system: the plain default. */
		return -ENOSPC;
	}
	ji->ji_refs[shared]++;
	*id = ji->ji_base + shared;
	return 1;
}

void
jail_ids_hold(struct jail_ids *ji, uint32_t id)
{
	uint32_t	i;

	if (ji == NULL || id < ji->ji_base || id - ji->ji_base >= ji->ji_count)
		return;
	i = id - ji->ji_base;
	if (ji->ji_refs[i] < JAIL_ID_RESERVED - 1)
		ji->ji_refs[i]++;
}

void
jail_ids_put(struct jail_ids *ji, uint32_t id)
{
	uint32_t	i;

	if (ji == NULL || id < ji->ji_base || id - ji->ji_base >= ji->ji_count)
		return;
	i = id - ji->ji_base;
	if (ji->ji_refs[i] != JAIL_ID_RESERVED && ji->ji_refs[i] > 0)
		ji->ji_refs[i]--;
}

unsigned int
jail_ids_reserved(const struct jail_ids *ji)
{
	return ji != NULL ? ji->ji_reserved : 0;
}

void
jail_ids_free(struct jail_ids *ji)
{
	if (ji == NULL)
		return;
	free(ji->ji_refs);
	free(ji);
}

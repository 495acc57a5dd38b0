/*
 * net_io_fuzz_guest.h - net_io_fuzz's guest: its memory (a memfd, with a
 * shadow of every byte the device may not write and the list of those it
 * may), its two split rings and the chains on them, as a driver lays
 * them out and takes them back.  Part of net_io_fuzz.c's one translation
 * unit (a fuzz target is built from one file: tests/fuzz/Makefile, and
 * tests/unit/net_io_fuzz_test.c includes the target): included once,
 * by it, after fuzz_common.h.
 */
#ifndef NET_IO_FUZZ_GUEST_H
#define NET_IO_FUZZ_GUEST_H

/* A finding: the fuzzer reports the abort. */
#define CHECK(c)	do { if (!(c)) abort(); } while (0)

#define GUEST_SIZE	(2u << 20)
#define GUEST_UVA	0x7f0000000000ull
#define RING_GPA(q)	(0x4000ull * (q))	/* desc; avail +4K; used +8K */
#define DESC_GPA(q)	RING_GPA(q)
#define AVAIL_GPA(q)	(RING_GPA(q) + 0x1000)
#define USED_GPA(q)	(RING_GPA(q) + 0x2000)
#define DATA_GPA	0x8000ull
#define QMAX		256
#define SEGMAX		8

struct seg {
	uint64_t	gpa;
	uint32_t	len;
	bool		wr;
};

struct chain {
	bool		live;		/* given to the device, not used yet */
	unsigned int	nseg;
	struct seg	seg[SEGMAX];
	size_t		wlen;		/* writable bytes */
	size_t		rlen;		/* readable bytes */
};

struct ring {
	uint16_t	num;
	uint16_t	avail_idx;
	uint16_t	used_idx;	/* the last used entry looked at */
	bool		desc_busy[QMAX];
	struct chain	chain[QMAX];	/* by head */
	int		kick;
	int		call;
};

static uint8_t		*guest;		/* gpa == offset */
static uint8_t		*shadow;	/* what the device may not change */
/* What the device may write: the used rings, rx buffers (gpa order). */
#define MAX_WR		4096
static struct {
	uint64_t	gpa;
	size_t		len;
} wr_ok[MAX_WR];
static unsigned int	 nwr;
static int		 memfd = -1;
static size_t		 bump;		/* next free data byte */
static size_t		 hiwater;	/* end of what the checks look at */
static struct ring	 rings[2];
static uint8_t		 txbuf[SEGMAX * 65536];

/*
 * The device may change [gpa, gpa + len) from now on.  Called in
 * increasing gpa order (the data area is handed out upwards).
 */
static bool
allow_writes(uint64_t gpa, size_t len)
{
	if (nwr == MAX_WR)
		return false;
	wr_ok[nwr].gpa = gpa;
	wr_ok[nwr++].len = len;
	return true;
}

/* Every byte the device may not write is as the guest left it. */
static void
check_memory(void)
{
	uint64_t	at = 0;
	unsigned int	i;

	for (i = 0; i <= nwr; i++) {
		uint64_t	end = i < nwr ? wr_ok[i].gpa : hiwater;

		if (end > at && memcmp(guest + at, shadow + at, end - at) != 0)
			abort();
		if (i < nwr && wr_ok[i].gpa + wr_ok[i].len > at)
			at = wr_ok[i].gpa + wr_ok[i].len;
	}
}

/* The guest writes guest memory: the shadow follows. */
static void
gwrite(uint64_t gpa, const void *p, size_t len)
{
	memcpy(guest + gpa, p, len);
	memcpy(shadow + gpa, p, len);
}

static void
frame_fill(uint8_t *f, size_t len, uint32_t s)
{
	size_t	i;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)(s * 131 + i * 7);
	if (len >= 4)
		memcpy(f, &s, 4);
}

/*
 * Make a chain available on ring q: nseg segments of the lengths and
 * flags given, from the data area.  The readable segments hold hdr
 * (hdrlen bytes) then the frame pattern of seq s; *rlen gets their
 * length.  False when the ring or the data area is full.
 */
static bool
post_chain(unsigned int q, unsigned int nseg, const uint32_t *len,
    const bool *wr, const uint8_t *hdr, size_t hdrlen, uint32_t s,
    size_t *rlen)
{
	struct ring		*r = &rings[q];
	struct virtq_desc	 d;
	struct chain		*c;
	uint16_t		 idx[SEGMAX];
	unsigned int		 i, k, n = 0;
	size_t			 total = 0, rtotal = 0, off = 0;

	for (i = 0; i < nseg; i++) {
		total += len[i];
		if (!wr[i])
			rtotal += len[i];
	}
	if (bump + total > GUEST_SIZE || rtotal > sizeof(txbuf) ||
	    nwr + nseg > MAX_WR)
		return false;
	for (k = 0; k < r->num && n < nseg; k++)
		if (!r->desc_busy[k])
			idx[n++] = (uint16_t)k;
	if (n < nseg)
		return false;
	if (hdrlen > 0)
		memcpy(txbuf, hdr, MIN(hdrlen, rtotal));
	if (rtotal > hdrlen)
		frame_fill(txbuf + hdrlen, rtotal - hdrlen, s);
	c = &r->chain[idx[0]];
	memset(c, 0, sizeof(*c));
	c->nseg = nseg;
	for (i = 0; i < nseg; i++) {
		r->desc_busy[idx[i]] = true;
		d.addr = bump;
		d.len = len[i];
		d.flags = (uint16_t)((wr[i] ? VIRTQ_DESC_F_WRITE : 0) |
		    (i + 1 < nseg ? VIRTQ_DESC_F_NEXT : 0));
		d.next = i + 1 < nseg ? idx[i + 1] : 0;
		gwrite(DESC_GPA(q) + idx[i] * sizeof(d), &d, sizeof(d));
		c->seg[i].gpa = bump;
		c->seg[i].len = len[i];
		c->seg[i].wr = wr[i];
		if (wr[i]) {
			c->wlen += len[i];
			(void)allow_writes(bump, len[i]);
		} else {
			gwrite(bump, txbuf + off, len[i]);
			off += len[i];
		}
		bump += len[i];
	}
	c->rlen = rtotal;
	if (bump > hiwater)
		hiwater = bump;
	c->live = true;
	gwrite(AVAIL_GPA(q) + 4 + (r->avail_idx % r->num) * 2, &idx[0], 2);
	r->avail_idx++;
	gwrite(AVAIL_GPA(q) + 2, &r->avail_idx, 2);
	*rlen = rtotal;
	return true;
}

static void
kick(unsigned int q)
{
	(void)eventfd_write(rings[q].kick, 1);
}

/* Free the descriptors of chain head on ring q. */
static void
retire(unsigned int q, uint16_t head)
{
	struct ring	*r = &rings[q];
	uint16_t	 k = head;
	unsigned int	 i;
	struct virtq_desc d;

	for (i = 0; i < r->chain[head].nseg; i++) {
		memcpy(&d, shadow + DESC_GPA(q) + k * sizeof(d), sizeof(d));
		r->desc_busy[k] = false;
		k = d.next;
	}
	r->chain[head].live = false;
}

/* Copy len bytes of chain c's writable segments, from offset off. */
static void
chain_read(const struct chain *c, size_t off, uint8_t *out, size_t len)
{
	unsigned int	i;
	size_t		s;

	for (i = 0; i < c->nseg && len > 0; i++) {
		if (!c->seg[i].wr)
			continue;
		if (off >= c->seg[i].len) {
			off -= c->seg[i].len;
			continue;
		}
		s = MIN(len, c->seg[i].len - off);
		memcpy(out, guest + c->seg[i].gpa + off, s);
		out += s;
		len -= s;
		off = 0;
	}
	CHECK(len == 0);
}

/* A used entry of ring q: a live head, within the chain's bytes. */
static const struct chain *
used_next(unsigned int q, uint32_t *lenp)
{
	struct ring		*r = &rings[q];
	struct virtq_used_elem	 ue;
	uint16_t		 idx;
	const struct chain	*c;

	memcpy(&idx, guest + USED_GPA(q) + 2, 2);
	CHECK((uint16_t)(idx - r->used_idx) <= r->num);
	if (idx == r->used_idx)
		return NULL;
	memcpy(&ue, guest + USED_GPA(q) + 4 + (r->used_idx % r->num) *
	    sizeof(ue), sizeof(ue));
	r->used_idx++;
	CHECK(ue.id < r->num && r->chain[ue.id].live);
	c = &r->chain[ue.id];
	CHECK(ue.len <= c->wlen);
	retire(q, (uint16_t)ue.id);
	*lenp = ue.len;
	return c;
}

#endif

/*
 * itest.c - the state behind itest.h, shared by the files of a test
 * binary split by area (tests/integration/NAME/): the private directory
 * and the vhostd of the running test.
 */

#include "itest.h"

char		it_dir[64];
struct vproc	it_vp;

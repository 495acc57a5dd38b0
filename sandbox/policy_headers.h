/*
 * policy_headers.h - the headers whose integer macros a policy may name
 * (vhostd.policy(5)).  sandbox/gen-policy-consts.sh lists their macros
 * with "cc -E -dM", keeps the names with a policy prefix and writes a
 * table that the compiler evaluates, so _IOR(...) and (1 << 3) work.
 * Add a header here to make its constants available; the set must
 * compile together (no <termios.h>: it clashes with <asm/termbits.h>,
 * which declares struct termios2 for TCGETS2).
 */
#ifndef VHOSTD_SANDBOX_POLICY_HEADERS_H
#define VHOSTD_SANDBOX_POLICY_HEADERS_H

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <asm/termbits.h>
#include <linux/blktrace_api.h>
#include <linux/falloc.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/serial.h>
#include <linux/sockios.h>
#include <linux/userfaultfd.h>
#include <linux/vhost.h>

#endif /* VHOSTD_SANDBOX_POLICY_HEADERS_H */

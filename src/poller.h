/*
** The descriptor a host's event loop waits on. On Linux one epoll set holds
** every transfer's socket and a timerfd armed for the engine's next deadline,
** so the descriptor is readable exactly when the client has work (cqueues'
** pollable, luv's uv_poll, a select() loop). Where epoll is missing a poll()
** list stands in: blocking waits still sleep, but there is no descriptor to
** hand out and a host loop steps on ff:timeout() instead.
*/
#ifndef FF_POLLER_H
#define FF_POLLER_H

#include <poll.h>
#include <stddef.h>

typedef struct ff_poller ff_poller;

/* Socket interest, as libcurl's CURL_POLL_* says it. */
enum { FF_POLL_IN = 1, FF_POLL_OUT = 2 };
/* Readiness handed to the callback, as curl_multi_socket_action wants it. */
enum { FF_READY_IN = 1, FF_READY_OUT = 2, FF_READY_ERR = 4 };

/* "epoll", or "poll" where there is no descriptor to hand out (ff_poller_fd is -1). */
const char *ff_poller_name(void);
ff_poller *ff_poller_new(void);
void ff_poller_free(ff_poller *p);
/* The descriptor to wait on for readability, or -1 where there is none. */
int ff_poller_fd(const ff_poller *p);
/*
** What poll(2) waits on for this poller's work, written to out (NULL: only
** counted); how many. With epoll that is the one descriptor, elsewhere every
** socket: so several engines are waited on together either way.
*/
size_t ff_poller_fds(const ff_poller *p, struct pollfd *out);
/* what: FF_POLL_IN | FF_POLL_OUT, or 0 to forget fd. 0, or -1 when out of room. */
int ff_poller_watch(ff_poller *p, int fd, int what);
/* The descriptor turns readable at monotonic time `when` (ff_now), or never when < 0. */
void ff_poller_arm(ff_poller *p, double when);
/*
** Waits up to ms (0: just looks) and calls ready(ud, fd, flags) for at most
** max ready sockets (the rest are there for the next call); the timer is
** consumed silently. Returns how many were taken, the timer included: max
** means more may be ready.
*/
int ff_poller_wait(ff_poller *p, int ms, int max, void (*ready)(void *ud, int fd, int flags), void *ud);

#endif

#define _GNU_SOURCE
#include "poller.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__linux__) && !defined(FF_POLLER_POLL)
#define FF_POLLER_NAME "epoll"
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#define FF_POLL_BATCH 64

struct ff_poller {
  int ep;       /* the epoll set handed to hosts */
  int tfd;      /* timerfd in the set: readable at the engine's next deadline */
  double armed; /* when tfd fires, -1 disarmed */
};

ff_poller *ff_poller_new(void) {
  ff_poller *p = calloc(1, sizeof *p);
  struct epoll_event ev = {0};
  if (p == NULL) return NULL;
  p->armed = -1;
  p->ep = epoll_create1(EPOLL_CLOEXEC);
  p->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.fd = p->tfd;
  if (p->ep < 0 || p->tfd < 0 || epoll_ctl(p->ep, EPOLL_CTL_ADD, p->tfd, &ev) != 0) {
    ff_poller_free(p);
    return NULL;
  }
  return p;
}

void ff_poller_free(ff_poller *p) {
  if (p == NULL) return;
  if (p->tfd >= 0) close(p->tfd);
  if (p->ep >= 0) close(p->ep);
  free(p);
}

int ff_poller_fd(const ff_poller *p) { return p->ep; }

const char *ff_poller_name(void) { return FF_POLLER_NAME; }

size_t ff_poller_fds(const ff_poller *p, struct pollfd *out) {
  if (out) {
    out->fd = p->ep;
    out->events = POLLIN;
    out->revents = 0;
  }
  return 1;
}

int ff_poller_watch(ff_poller *p, int fd, int what) {
  struct epoll_event ev = {0};
  ev.data.fd = fd;
  ev.events = ((what & FF_POLL_IN) ? EPOLLIN : 0) | ((what & FF_POLL_OUT) ? EPOLLOUT : 0);
  if (what == 0) {
    /* libcurl may have closed it already: the kernel then dropped it from the set. */
    epoll_ctl(p->ep, EPOLL_CTL_DEL, fd, &ev);
    return 0;
  }
  if (epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  if (errno == ENOENT && epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
  return -1;
}

void ff_poller_arm(ff_poller *p, double when) {
  struct itimerspec it = {{0, 0}, {0, 0}};
  if (when == p->armed) return; /* one syscall per change, not per call */
  p->armed = when;
  if (when >= 0) {
    /* An absolute time in the past fires at once; {0, 0} would disarm instead. */
    if (when < 1e-9) when = 1e-9;
    it.it_value.tv_sec = (time_t)when;
    it.it_value.tv_nsec = (long)((when - (double)it.it_value.tv_sec) * 1e9);
  }
  timerfd_settime(p->tfd, TFD_TIMER_ABSTIME, &it, NULL);
}

int ff_poller_wait(ff_poller *p, int ms, int max, void (*ready)(void *ud, int fd, int flags), void *ud) {
  struct epoll_event evs[FF_POLL_BATCH];
  /* Level-triggered: what is left ready is reported again, and epoll rotates its ready list. */
  int n = epoll_wait(p->ep, evs, max > 0 && max < FF_POLL_BATCH ? max : FF_POLL_BATCH, ms), i;
  for (i = 0; i < n; i++) {
    int fd = evs[i].data.fd, flags = 0;
    if (fd == p->tfd) {
      unsigned long long ticks;
      if (read(p->tfd, &ticks, sizeof ticks) < 0) { /* EAGAIN: already consumed */ }
      p->armed = -1; /* a one-shot timer that fired is disarmed */
      continue;
    }
    if (evs[i].events & EPOLLIN) flags |= FF_READY_IN;
    if (evs[i].events & EPOLLOUT) flags |= FF_READY_OUT;
    if (evs[i].events & (EPOLLERR | EPOLLHUP)) flags |= FF_READY_ERR;
    ready(ud, fd, flags);
  }
  return n < 0 ? 0 : n;
}

#else /* no epoll: a poll() list, and no descriptor for hosts */
#define FF_POLLER_NAME "poll"
#include <string.h>

struct ff_poller {
  struct pollfd *fds;
  size_t n, cap;
  size_t next; /* where the next look starts, so a capped one starves no socket */
};

ff_poller *ff_poller_new(void) { return calloc(1, sizeof(ff_poller)); }

void ff_poller_free(ff_poller *p) {
  if (p == NULL) return;
  free(p->fds);
  free(p);
}

int ff_poller_fd(const ff_poller *p) {
  (void)p;
  return -1;
}

const char *ff_poller_name(void) { return FF_POLLER_NAME; }

size_t ff_poller_fds(const ff_poller *p, struct pollfd *out) {
  if (out && p->n > 0) memcpy(out, p->fds, p->n * sizeof *out);
  return p->n;
}

int ff_poller_watch(ff_poller *p, int fd, int what) {
  size_t i;
  short events = (short)(((what & FF_POLL_IN) ? POLLIN : 0) | ((what & FF_POLL_OUT) ? POLLOUT : 0));
  for (i = 0; i < p->n && p->fds[i].fd != fd; i++) {}
  if (what == 0) {
    if (i < p->n) p->fds[i] = p->fds[--p->n];
    return 0;
  }
  if (i == p->n) {
    if (p->n == p->cap) {
      size_t cap = p->cap ? p->cap * 2 : 16;
      struct pollfd *fds = realloc(p->fds, cap * sizeof *fds);
      if (fds == NULL) return -1;
      p->fds = fds;
      p->cap = cap;
    }
    p->fds[p->n++].fd = fd;
  }
  p->fds[i].events = events;
  return 0;
}

void ff_poller_arm(ff_poller *p, double when) {
  (void)p;
  (void)when; /* the caller's wait already ends at the deadline */
}

int ff_poller_wait(ff_poller *p, int ms, int max, void (*ready)(void *ud, int fd, int flags), void *ud) {
  int fds[64], flags[64], n = 0, k;
  size_t i, j;
  if (max <= 0 || max > 64) max = 64;
  if (p->n == 0) {
    if (ms > 0) poll(NULL, 0, ms);
    return 0;
  }
  if (poll(p->fds, (nfds_t)p->n, ms) <= 0) return 0;
  /* Callbacks change the list: collect first, then act. */
  for (j = 0; j < p->n && n < max; j++) {
    short r;
    i = (p->next + j) % p->n;
    r = p->fds[i].revents;
    int f = ((r & POLLIN) ? FF_READY_IN : 0) | ((r & POLLOUT) ? FF_READY_OUT : 0) |
            ((r & (POLLERR | POLLHUP | POLLNVAL)) ? FF_READY_ERR : 0);
    if (f) {
      fds[n] = p->fds[i].fd;
      flags[n++] = f;
    }
  }
  p->next = (p->next + j) % p->n;
  for (k = 0; k < n; k++) ready(ud, fds[k], flags[k]);
  return n;
}
#endif

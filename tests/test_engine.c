/* The engine's pacing of work per step, so a host's ff:step(0) stays short. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"

#define N 20

static int ended;
static void on_done(ff_xfer *x) {
  (void)x;
  ended++;
}

/* A server that takes connections (the kernel's backlog) and never answers: transfers stay on the wire. */
static int silent_server(int *port) {
  struct sockaddr_in a;
  socklen_t len = sizeof a;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 64) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    return -1;
  *port = ntohs(a.sin_port);
  return fd;
}

/* An engine with N transfers to 127.0.0.1:port started, each ending in done. */
static ff_engine *engine_with_transfers(ff_xfer *x[N], int port, ff_xfer_done done) {
  ff_engine_config cfg;
  ff_engine *e;
  char url[64];
  int i;
  memset(&cfg, 0, sizeof cfg);
  e = ff_engine_new(&cfg);
  CHECK(e != NULL);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
  ended = 0;
  for (i = 0; i < N; i++) {
    x[i] = ff_xfer_new(e);
    x[i]->url = strdup(url);
    x[i]->done = done;
    CHECK(ff_xfer_start(x[i]) == 0);
  }
  return e;
}

static void a_step_puts_at_most_FF_STARTS_PER_STEP_new_transfers_on_the_wire(void) {
  ff_engine *e;
  ff_xfer *x[N];
  int port = 0, fd = silent_server(&port), i;
  CHECK(fd >= 0);
  e = engine_with_transfers(x, port, on_done);
  /* Started, not yet on the wire: the engine is due at once, and not idle. */
  CHECK(ff_engine_running(e) == 0);
  CHECK(ff_engine_timeout(e) == 0);
  CHECK(!ff_engine_idle(e));
  for (i = 1; i * FF_STARTS_PER_STEP < N; i++) {
    ff_engine_step(e, 0);
    CHECK(ff_engine_running(e) == i * FF_STARTS_PER_STEP);
    CHECK(ff_engine_timeout(e) == 0); /* the others wait their turn: due now */
  }
  ff_engine_step(e, 0);
  CHECK(ff_engine_running(e) == N);
  /* Connected sockets turn writable FF_SOCKETS_PER_STEP a step; once the requests are out, the silence. */
  for (i = 0; i < N && ff_engine_timeout(e) == 0; i++) ff_engine_step(e, 0);
  CHECK(ff_engine_timeout(e) > 0); /* all on the wire: the next deadline is libcurl's own */
  /* A transfer freed while it waits its turn leaves the queue: no later step touches it. */
  for (i = 0; i < N; i++) ff_xfer_free(x[i]);
  CHECK(ended == 0);
  CHECK(ff_engine_running(e) == 0);
  ff_engine_free(e);
  close(fd);
}

static void a_transfer_freed_before_its_turn_is_never_started(void) {
  ff_engine *e;
  ff_xfer *x[N];
  int port = 0, fd = silent_server(&port), i;
  CHECK(fd >= 0);
  e = engine_with_transfers(x, port, on_done);
  /* The first, one in the middle and the last go: the rest keep their order. */
  ff_xfer_free(x[0]);
  ff_xfer_free(x[10]);
  ff_xfer_free(x[N - 1]);
  x[0] = x[10] = x[N - 1] = NULL;
  ff_engine_step(e, 0);
  ff_engine_step(e, 0);
  CHECK(ff_engine_running(e) == 2 * FF_STARTS_PER_STEP);
  for (i = 0; i < 2 * N && ff_engine_timeout(e) == 0; i++) ff_engine_step(e, 0);
  CHECK(ff_engine_running(e) == N - 3);
  CHECK(ff_engine_timeout(e) > 0);
  for (i = 0; i < N; i++) ff_xfer_free(x[i]);
  CHECK(ended == 0);
  ff_engine_free(e);
  close(fd);
}

static int fired;
static void on_fire(ff_timer *t) {
  (void)t;
  fired++;
}

static void a_step_fires_at_most_FF_TIMERS_PER_STEP_timers_and_the_rest_are_due_at_once(void) {
  ff_engine_config cfg;
  ff_engine *e;
  ff_timer t[N];
  int i, steps = 0;
  memset(&cfg, 0, sizeof cfg);
  memset(t, 0, sizeof t);
  e = ff_engine_new(&cfg);
  for (i = 0; i < N; i++) {
    CHECK(ff_timer_reserve(e) == 0);
    t[i].fire = on_fire;
    ff_timer_start(e, &t[i], 0); /* long due */
  }
  while (fired < N && steps < N) {
    int before = fired;
    ff_engine_step(e, 0);
    steps++;
    CHECK(fired - before == (N - before < FF_TIMERS_PER_STEP ? N - before : FF_TIMERS_PER_STEP));
    if (fired < N) CHECK(ff_engine_timeout(e) == 0);
  }
  CHECK(fired == N);
  CHECK(ff_engine_timeout(e) < 0 && ff_engine_idle(e));
  for (i = 0; i < N; i++) ff_timer_release(e, &t[i]);
  ff_engine_free(e);
}

/* Nothing listens on the port: every transfer ends at once, refused, and each step hands on a few. */
static int most_in_a_step, this_step;
static void on_refused(ff_xfer *x) {
  (void)x;
  ended++;
  if (++this_step > most_in_a_step) most_in_a_step = this_step;
}

static void a_step_hands_on_at_most_FF_DONE_PER_STEP_finished_transfers(void) {
  ff_engine *e;
  ff_xfer *x[N];
  int port = 0, fd = silent_server(&port), i, steps = 0;
  close(fd); /* the port is free again: connections to it are refused */
  e = engine_with_transfers(x, port, on_refused);
  while (ended < N && steps < 1000) {
    this_step = 0;
    ff_engine_step(e, 0.05);
    steps++;
  }
  CHECK(ended == N);
  CHECK(most_in_a_step >= 1 && most_in_a_step <= FF_DONE_PER_STEP);
  for (i = 0; i < N; i++) ff_xfer_free(x[i]);
  ff_engine_free(e);
}

int main(void) {
  a_step_puts_at_most_FF_STARTS_PER_STEP_new_transfers_on_the_wire();
  a_step_fires_at_most_FF_TIMERS_PER_STEP_timers_and_the_rest_are_due_at_once();
  a_step_hands_on_at_most_FF_DONE_PER_STEP_finished_transfers();
  a_transfer_freed_before_its_turn_is_never_started();
  return CHECK_DONE();
}

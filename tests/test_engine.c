/* The engine's pacing of work per step, so a host's ff:step(0) stays short; handles reused between transfers. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/*
** A keep-alive HTTP server on a thread: each request is answered 200 "ok" and
** noted with the connection it came on (in accept order), its method and its
** body's length, so a test sees what libcurl put on the wire.
*/
#define SEEN_MAX 16
typedef struct seen {
  int conn;
  char method[8];
  long body;
  int agents;  /* User-Agent lines */
  int ours;    /* ... that are the engine's */
} seen;

typedef struct server {
  int listen_fd, stop[2], port, nseen;
  seen seen[SEEN_MAX];
  pthread_mutex_t lock;
} server;

static void *serve(void *ud) {
  server *sv = ud;
  struct pollfd fds[10];
  char buf[8][4096];
  size_t have[8];
  int nconn = 0, i;
  memset(have, 0, sizeof have);
  for (;;) {
    fds[0].fd = sv->stop[0];
    fds[1].fd = sv->listen_fd;
    for (i = 0; i < 10; i++) fds[i].events = POLLIN;
    if (poll(fds, (nfds_t)(2 + nconn), -1) < 0 || fds[0].revents) break;
    if (fds[1].revents && nconn < 8) {
      fds[2 + nconn].fd = accept(sv->listen_fd, NULL, NULL);
      fds[2 + nconn].revents = 0; /* not polled yet: its turn comes at the next poll */
      if (fds[2 + nconn].fd >= 0) have[nconn++] = 0;
    }
    for (i = 0; i < nconn; i++) {
      ssize_t got;
      char *end, *cl;
      long body;
      if (fds[2 + i].fd < 0 || !(fds[2 + i].revents & (POLLIN | POLLHUP))) continue;
      got = read(fds[2 + i].fd, buf[i] + have[i], sizeof buf[i] - 1 - have[i]);
      if (got <= 0) {
        close(fds[2 + i].fd);
        fds[2 + i].fd = -1; /* poll(2) skips a negative descriptor */
        continue;
      }
      have[i] += (size_t)got;
      buf[i][have[i]] = '\0';
      /* Whole requests only: the head, then Content-Length bytes of body. */
      while ((end = strstr(buf[i], "\r\n\r\n")) != NULL) {
        size_t len;
        cl = strstr(buf[i], "Content-Length: ");
        body = cl && cl < end ? strtol(cl + 16, NULL, 10) : 0;
        len = (size_t)(end + 4 - buf[i]) + (size_t)body;
        if (len > have[i]) break;
        pthread_mutex_lock(&sv->lock);
        if (sv->nseen < SEEN_MAX) {
          seen *r = &sv->seen[sv->nseen++];
          const char *h;
          r->conn = i;
          r->body = body;
          r->agents = r->ours = 0;
          for (h = strstr(buf[i], "\r\nUser-Agent:"); h && h < end; h = strstr(h + 2, "\r\nUser-Agent:")) r->agents++;
          h = strstr(buf[i], "\r\nUser-Agent: firefly-test/1\r\n");
          r->ours = h != NULL && h < end;
          sscanf(buf[i], "%7s", r->method);
        }
        pthread_mutex_unlock(&sv->lock);
        if (write(fds[2 + i].fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 40) != 40) break;
        memmove(buf[i], buf[i] + len, have[i] - len + 1);
        have[i] -= len;
      }
    }
  }
  for (i = 0; i < nconn; i++)
    if (fds[2 + i].fd >= 0) close(fds[2 + i].fd);
  return NULL;
}

static int one_transfer_done;
static void on_one_done(ff_xfer *x) {
  (void)x;
  one_transfer_done = 1;
}

/* One transfer, start to end, on e: what came back. */
static long transfer(ff_engine *e, int port, const char *method, const char *body, ff_retry_mode retry) {
  ff_xfer *x = ff_xfer_new(e);
  char url[64];
  long status;
  int steps = 0;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
  x->url = strdup(url);
  x->method = method;
  x->retry = retry;
  x->max_retries = 0;
  x->timeout = 5;
  x->done = on_one_done;
  if (body) ff_buf_appends(&x->body, body);
  if (strcmp(method, "GET") != 0) ff_xfer_header(x, "Content-Type:");
  one_transfer_done = 0;
  CHECK(ff_xfer_start(x) == 0);
  while (!one_transfer_done && steps++ < 1000) ff_engine_step(e, 0.05);
  status = x->code == CURLE_OK ? x->status : -1;
  CHECK(strcmp(x->response.data ? x->response.data : "", "ok") == 0);
  ff_xfer_free(x);
  return status;
}

static void a_reused_handle_carries_nothing_of_its_last_transfer_and_a_submit_gets_its_own_connection_and_the_user_agent(void) {
  ff_engine_config cfg;
  ff_engine *e;
  server sv;
  pthread_t t;
  int fd, i;
  memset(&sv, 0, sizeof sv);
  memset(&cfg, 0, sizeof cfg);
  cfg.user_agent = "firefly-test/1";
  fd = silent_server(&sv.port); /* listening; the thread answers */
  CHECK(fd >= 0 && pipe(sv.stop) == 0);
  sv.listen_fd = fd;
  pthread_mutex_init(&sv.lock, NULL);
  CHECK(pthread_create(&t, NULL, serve, &sv) == 0);
  e = ff_engine_new(&cfg);
  /* One after another: each transfer gets the handle the one before gave back. */
  CHECK(transfer(e, sv.port, "GET", NULL, FF_RETRY_IDEMPOTENT) == 200);
  CHECK(transfer(e, sv.port, "GET", NULL, FF_RETRY_IDEMPOTENT) == 200);
  CHECK(transfer(e, sv.port, "POST", "{\"prompt\":\"a\"}", FF_RETRY_SUBMIT) == 200);
  CHECK(transfer(e, sv.port, "GET", NULL, FF_RETRY_IDEMPOTENT) == 200);
  CHECK(transfer(e, sv.port, "PUT", NULL, FF_RETRY_IDEMPOTENT) == 200);
  CHECK(transfer(e, sv.port, "GET", NULL, FF_RETRY_IDEMPOTENT) == 200);
  CHECK(transfer(e, sv.port, "POST", "{}", FF_RETRY_SUBMIT) == 200);
  ff_engine_free(e);
  CHECK(write(sv.stop[1], "x", 1) == 1);
  pthread_join(t, NULL);
  CHECK(sv.nseen == 7);
  if (sv.nseen == 7) {
    seen *r = sv.seen;
    /* The second GET reuses the first's connection; each submit opens one of its own. */
    CHECK(r[0].conn == 0 && r[1].conn == 0);
    CHECK(strcmp(r[2].method, "POST") == 0 && r[2].body == 14 && r[2].conn == 1);
    CHECK(strcmp(r[6].method, "POST") == 0 && r[6].body == 2 && r[6].conn == 2);
    /* After a POST a GET is a GET again, without a body; after a PUT, too. */
    CHECK(strcmp(r[3].method, "GET") == 0 && r[3].body == 0 && r[3].conn != 2);
    CHECK(strcmp(r[4].method, "PUT") == 0 && r[4].body == 0);
    CHECK(strcmp(r[5].method, "GET") == 0 && r[5].body == 0);
    for (i = 0; i < 7; i++) CHECK(r[i].agents == 1 && r[i].ours); /* the engine's, once, whatever else is sent */
  }
  close(fd);
  close(sv.stop[0]);
  close(sv.stop[1]);
  pthread_mutex_destroy(&sv.lock);
}

/*
** Eight answers of BIG bytes each, one per connection, each written whole by
** its own thread as fast as the socket takes it: when a step comes, several
** bodies wait in the sockets at once, as 1024x1024 outputs do on a fast link.
*/
#define BIG (192 * 1024)
#define NBIG 8
#define CUT 1000 /* where a failing sink stops taking a body: within its first chunk */
typedef struct big_conn {
  int fd, n;
  int late_ms; /* bodies n % 4 < 2 (those outgrow_or_fill_the_disk fails) wait this long: others fill a step first */
  pthread_t t;
} big_conn;

static unsigned char big_byte(int n, size_t i) { return (unsigned char)(i * 31u + (unsigned)n * 7u); }

static void *big_answer(void *ud) {
  big_conn *c = ud;
  char head[4096], *body = malloc(BIG);
  size_t have = 0, i, off = 0;
  ssize_t got;
  CHECK(body != NULL);
  while (have < sizeof head - 1 && (got = read(c->fd, head + have, sizeof head - 1 - have)) > 0) {
    have += (size_t)got;
    head[have] = '\0';
    if (strstr(head, "\r\n\r\n")) break;
  }
  sscanf(strstr(head, "/big") ? strstr(head, "/big") + 4 : "0", "%d", &c->n);
  for (i = 0; i < BIG; i++) body[i] = (char)big_byte(c->n, i);
  snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", BIG);
  if (c->late_ms > 0 && c->n % 4 < 2) poll(NULL, 0, c->late_ms);
  if (write(c->fd, head, strlen(head)) > 0)
    while (off < BIG && (got = write(c->fd, body + off, BIG - off)) > 0) off += (size_t)got;
  free(body);
  close(c->fd);
  return NULL;
}

/*
** NBIG transfers of BIG bytes, each set up by setup(x, i) before it starts, driven by
** host-like steps 20 ms apart until all have ended. Returns the most body bytes one step
** took; *capped counts the steps that met the budget, *capped_due_now those after which
** ff_engine_timeout was 0 (the paused transfers go on at the very next step); *out is the engine.
*/
static size_t run_big(ff_engine **out, ff_xfer *x[NBIG], void (*setup)(ff_xfer *x, int i), int *capped, int *capped_due_now) {
  ff_engine_config cfg;
  ff_engine *e;
  big_conn conns[NBIG];
  size_t last[NBIG], most = 0;
  int port = 0, fd = silent_server(&port), i, j, steps = 0;
  char url[64];
  CHECK(fd >= 0);
  memset(&cfg, 0, sizeof cfg);
  e = ff_engine_new(&cfg);
  ended = 0;
  *capped = *capped_due_now = 0;
  for (i = 0; i < NBIG; i++) {
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big%d", port, i);
    x[i] = ff_xfer_new(e);
    x[i]->url = strdup(url);
    x[i]->max_retries = 0;
    x[i]->timeout = 30;
    x[i]->done = on_done;
    if (setup) setup(x[i], i);
    CHECK(ff_xfer_start(x[i]) == 0);
  }
  /* FF_STARTS_PER_STEP a step: the connections come while the first steps run. */
  for (i = 0; i < NBIG; i++) {
    struct pollfd p;
    p.fd = fd;
    p.events = POLLIN;
    while (poll(&p, 1, 0) == 0 && steps++ < 1000) ff_engine_step(e, 0.01);
    conns[i].fd = accept(fd, NULL, NULL);
    conns[i].late_ms = setup ? 30 : 0;
    CHECK(conns[i].fd >= 0 && pthread_create(&conns[i].t, NULL, big_answer, &conns[i]) == 0);
  }
  for (i = 0; i < NBIG; i++) last[i] = x[i]->response.len + x[i]->received; /* those steps' are not a step's */
  while (ended < NBIG && steps++ < 20000) {
    size_t step = 0;
    poll(NULL, 0, 20); /* a host's frame: the bodies pile up in the sockets meanwhile */
    ff_engine_step(e, 0);
    for (j = 0; j < NBIG; j++) {
      size_t now = x[j]->response.len + x[j]->received;
      step += now - last[j];
      last[j] = now;
    }
    if (step > most) most = step;
    if (step >= FF_BYTES_PER_STEP && ended < NBIG) {
      (*capped)++;
      *capped_due_now += ff_engine_timeout(e) == 0;
    }
  }
  CHECK(ended == NBIG);
  for (i = 0; i < NBIG; i++) pthread_join(conns[i].t, NULL);
  close(fd);
  *out = e;
  return most;
}

static void a_step_takes_at_most_FF_BYTES_PER_STEP_of_bodies_and_the_paused_rest_arrives_whole_at_the_next_steps(void) {
  ff_xfer *x[NBIG];
  ff_engine *e;
  int i, capped, capped_due_now;
  size_t most = run_big(&e, x, NULL, &capped, &capped_due_now);
  /* The budget, and at most the one chunk of libcurl's that crossed it. */
  CHECK(most <= FF_BYTES_PER_STEP + CURL_MAX_WRITE_SIZE);
  CHECK(capped > 0); /* the steps did meet more than the budget: there was something to hold back */
  CHECK(capped_due_now == capped);
  for (i = 0; i < NBIG; i++) {
    size_t k, bad = 0;
    CHECK(x[i]->code == CURLE_OK && x[i]->status == 200 && x[i]->response.len == BIG);
    for (k = 0; k < x[i]->response.len && k < BIG; k++) bad += (unsigned char)x[i]->response.data[k] != big_byte(i, k);
    CHECK(bad == 0); /* every byte, in order: a paused chunk is handed on once, at its place */
    ff_xfer_free(x[i]);
  }
  ff_engine_free(e);
}

/*
** Of each four bodies, one outgrows its cap, one fills the disk and two (in memory) fill
** the steps' budget while the failing two answer late (big_conn.late_ms), so their first
** chunk is the one held back and handed on at the unpause: a file may not grow
** past CUT (RLIMIT_FSIZE, SIGXFSZ ignored, so the write fails with EFBIG as a full
** disk's fails with ENOSPC).
*/
static void outgrow_or_fill_the_disk(ff_xfer *x, int i) {
  if (i % 4 == 0) {
    x->max_body = CUT;
  } else if (i % 4 == 1) {
    x->file = tmpfile();
    CHECK(x->file != NULL);
    setvbuf(x->file, NULL, _IONBF, 0); /* every fwrite reaches the file: the error at the chunk that crossed */
  }
}

static void a_body_that_fails_its_sink_at_an_unpause_ends_with_its_own_error_and_the_others_arrive_whole(void) {
  ff_xfer *x[NBIG];
  ff_engine *e;
  int i, capped, capped_due_now;
  struct rlimit was, small;
  CHECK(getrlimit(RLIMIT_FSIZE, &was) == 0);
  small = was;
  small.rlim_cur = CUT;
  signal(SIGXFSZ, SIG_IGN);
  CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
  run_big(&e, x, outgrow_or_fill_the_disk, &capped, &capped_due_now);
  CHECK(setrlimit(RLIMIT_FSIZE, &was) == 0);
  /* Whether a failing chunk was one held back depends on the sockets' timing, so it is not
     checked; with the failing answers 30 ms late it was, in each of five instrumented runs. */
  (void)capped;
  (void)capped_due_now;
  for (i = 0; i < NBIG; i++) {
    if (i % 4 == 0) {
      CHECK(x[i]->code != CURLE_OK && x[i]->too_large);
      CHECK(x[i]->response.len <= CUT); /* never past the cap, whichever chunk crossed it */
    } else if (i % 4 == 1) {
      CHECK(x[i]->code != CURLE_OK);
      CHECK(x[i]->write_errno == EFBIG); /* the caller hears the file's own error, not "transport" */
      CHECK(x[i]->received <= CUT);
      fclose(x[i]->file);
      x[i]->file = NULL;
    } else {
      size_t k, bad = 0;
      CHECK(x[i]->code == CURLE_OK && x[i]->response.len == BIG);
      for (k = 0; k < x[i]->response.len && k < BIG; k++) bad += (unsigned char)x[i]->response.data[k] != big_byte(i, k);
      CHECK(bad == 0);
    }
    ff_xfer_free(x[i]);
  }
  ff_engine_free(e);
}

int main(void) {
  a_step_puts_at_most_FF_STARTS_PER_STEP_new_transfers_on_the_wire();
  a_step_fires_at_most_FF_TIMERS_PER_STEP_timers_and_the_rest_are_due_at_once();
  a_step_hands_on_at_most_FF_DONE_PER_STEP_finished_transfers();
  a_transfer_freed_before_its_turn_is_never_started();
  a_step_takes_at_most_FF_BYTES_PER_STEP_of_bodies_and_the_paused_rest_arrives_whole_at_the_next_steps();
  a_body_that_fails_its_sink_at_an_unpause_ends_with_its_own_error_and_the_others_arrive_whole();
  a_reused_handle_carries_nothing_of_its_last_transfer_and_a_submit_gets_its_own_connection_and_the_user_agent();
  return CHECK_DONE();
}

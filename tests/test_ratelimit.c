/* The client-side rate limiter: bucket arithmetic, queue order, the 429 pause. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "clock.h"
#include "ratelimit.h"

static void a_bucket_lets_its_capacity_through_then_refills(void) {
  ff_bucket b;
  int i;
  ff_bucket_init(&b, 4, 60, 100);
  for (i = 0; i < 4; i++) {
    CHECK(ff_bucket_wait(&b, 100) == 0);
    ff_bucket_take(&b);
  }
  CHECK(fabs(ff_bucket_wait(&b, 100) - 15) < 1e-9); /* 4 a minute: one every 15 s */
  CHECK(fabs(ff_bucket_wait(&b, 110) - 5) < 1e-9);
  CHECK(ff_bucket_wait(&b, 115) == 0);
}

static void an_unlimited_bucket_never_waits(void) {
  ff_bucket b;
  int i;
  ff_bucket_init(&b, 0, 60, 0);
  for (i = 0; i < 1000; i++) {
    CHECK(ff_bucket_wait(&b, 0) == 0);
    ff_bucket_take(&b);
  }
}

static int order[8], norder;

typedef struct { ff_rl_waiter w; int id; } tagged;
static void go_tagged(ff_rl_waiter *w) { order[norder++] = ((tagged *)w)->id; }

static void queued_submits_go_in_order_and_a_pause_holds_them_all(void) {
  ff_engine_config cfg;
  ff_engine *e;
  ff_ratelimit rl;
  tagged t[3];
  double start;
  int i;
  memset(&cfg, 0, sizeof cfg);
  e = ff_engine_new(&cfg);
  CHECK(e != NULL);
  CHECK(ff_ratelimit_init(&rl, e, 0, 0) == 0);
  memset(t, 0, sizeof t);
  for (i = 0; i < 3; i++) t[i].w.go = go_tagged, t[i].id = i + 1;
  CHECK(ff_ratelimit_enter(&rl, &t[0].w) == 1); /* no budget, no pause: straight through */
  ff_ratelimit_pause(&rl, 0.3);
  start = ff_now();
  CHECK(ff_ratelimit_enter(&rl, &t[1].w) == 0);
  CHECK(ff_ratelimit_enter(&rl, &t[2].w) == 0);
  CHECK(norder == 0);
  while (norder < 2 && ff_now() - start < 5) ff_engine_step(e, 0.5);
  CHECK(norder == 2 && order[0] == 2 && order[1] == 3);
  CHECK(ff_now() - start >= 0.29);
  ff_ratelimit_free(&rl);
  ff_engine_free(e);
}

static void a_waiter_that_leaves_is_never_let_through(void) {
  ff_engine_config cfg;
  ff_engine *e;
  ff_ratelimit rl;
  tagged t[2];
  double start;
  memset(&cfg, 0, sizeof cfg);
  e = ff_engine_new(&cfg);
  CHECK(ff_ratelimit_init(&rl, e, 0, 0) == 0);
  memset(t, 0, sizeof t);
  t[0].w.go = t[1].w.go = go_tagged;
  t[0].id = 10, t[1].id = 11;
  norder = 0;
  ff_ratelimit_pause(&rl, 0.1);
  CHECK(ff_ratelimit_enter(&rl, &t[0].w) == 0);
  CHECK(ff_ratelimit_enter(&rl, &t[1].w) == 0);
  CHECK(ff_ratelimit_leave(&rl, &t[0].w) == 1);
  CHECK(ff_ratelimit_leave(&rl, &t[0].w) == 0);
  start = ff_now();
  while (norder < 1 && ff_now() - start < 5) ff_engine_step(e, 0.5);
  CHECK(norder == 1 && order[0] == 11);
  ff_ratelimit_free(&rl);
  ff_engine_free(e);
}

int main(void) {
  a_bucket_lets_its_capacity_through_then_refills();
  an_unlimited_bucket_never_waits();
  queued_submits_go_in_order_and_a_pause_holds_them_all();
  a_waiter_that_leaves_is_never_let_through();
  return CHECK_DONE();
}

#include "ratelimit.h"

#include <stddef.h>

#include "clock.h"

void ff_bucket_init(ff_bucket *b, double capacity, double period, double now) {
  b->capacity = capacity > 0 ? capacity : 0;
  b->period = period;
  b->tokens = b->capacity;
  b->stamp = now;
}

double ff_bucket_wait(ff_bucket *b, double now) {
  double rate;
  if (b->capacity <= 0) return 0;
  rate = b->capacity / b->period;
  if (now > b->stamp) {
    b->tokens += (now - b->stamp) * rate;
    if (b->tokens > b->capacity) b->tokens = b->capacity;
    b->stamp = now;
  }
  return b->tokens >= 1 ? 0 : (1 - b->tokens) / rate;
}

void ff_bucket_take(ff_bucket *b) {
  if (b->capacity > 0) b->tokens -= 1;
}

/* Seconds until the next submit may go; 0 takes its tokens. */
static double admit(ff_ratelimit *rl, double now) {
  double a = rl->paused_until > now ? rl->paused_until - now : 0;
  double m = ff_bucket_wait(&rl->minute, now);
  double d = ff_bucket_wait(&rl->day, now);
  double w = a > m ? a : m;
  if (d > w) w = d;
  if (w > 0) return w;
  ff_bucket_take(&rl->minute);
  ff_bucket_take(&rl->day);
  return 0;
}

static void unlink_waiter(ff_ratelimit *rl, ff_rl_waiter *w) {
  if (w->prev) w->prev->next = w->next; else rl->head = w->next;
  if (w->next) w->next->prev = w->prev; else rl->tail = w->prev;
  w->next = w->prev = NULL;
  w->queued = 0;
}

/* Lets through, in order, every waiter the budget allows; re-arms for the rest. */
static void drain(ff_ratelimit *rl) {
  while (rl->head) {
    double wait = admit(rl, ff_now());
    ff_rl_waiter *w = rl->head;
    if (wait > 0) {
      ff_timer_start(rl->engine, &rl->timer, ff_now() + wait);
      return;
    }
    unlink_waiter(rl, w);
    w->go(w);
  }
}

static void on_timer(ff_timer *t) {
  drain((ff_ratelimit *)((char *)t - offsetof(ff_ratelimit, timer)));
}

int ff_ratelimit_init(ff_ratelimit *rl, ff_engine *e, double per_minute, double per_day) {
  double now = ff_now();
  if (ff_timer_reserve(e) != 0) return -1;
  rl->engine = e;
  ff_bucket_init(&rl->minute, per_minute, 60, now);
  ff_bucket_init(&rl->day, per_day, 86400, now);
  rl->paused_until = 0;
  rl->head = rl->tail = NULL;
  rl->timer.slot = 0;
  rl->timer.fire = on_timer;
  return 0;
}

void ff_ratelimit_free(ff_ratelimit *rl) {
  if (rl->engine) ff_timer_release(rl->engine, &rl->timer);
  rl->engine = NULL;
}

int ff_ratelimit_enter(ff_ratelimit *rl, ff_rl_waiter *w) {
  /* Only an empty queue may go straight through: the queue keeps its order. */
  double wait = rl->head ? 0 : admit(rl, ff_now());
  if (rl->head == NULL && wait == 0) return 1;
  w->next = NULL;
  w->prev = rl->tail;
  if (rl->tail) rl->tail->next = w; else rl->head = w;
  rl->tail = w;
  w->queued = 1;
  if (rl->head == w) ff_timer_start(rl->engine, &rl->timer, ff_now() + wait);
  return 0;
}

int ff_ratelimit_leave(ff_ratelimit *rl, ff_rl_waiter *w) {
  if (!w->queued) return 0;
  unlink_waiter(rl, w);
  if (rl->head == NULL) ff_timer_stop(rl->engine, &rl->timer);
  return 1;
}

void ff_ratelimit_pause(ff_ratelimit *rl, double seconds) {
  double until = ff_now() + (seconds > 0 ? seconds : 1);
  if (until > rl->paused_until) rl->paused_until = until;
}

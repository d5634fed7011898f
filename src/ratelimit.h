/*
** The client-side rate limiter: token buckets (per minute, per day) that
** every job submit of a client passes through, and a pause that a 429 sets
** for all of them at once. A submit that may not go yet waits in a queue,
** in order, and is let through by a timer; nothing here blocks.
*/
#ifndef FF_RATELIMIT_H
#define FF_RATELIMIT_H

#include "engine.h"

/* A bucket of `capacity` tokens refilled at capacity per `period` seconds. */
typedef struct ff_bucket {
  double capacity; /* 0: unlimited */
  double period;
  double tokens;
  double stamp;
} ff_bucket;

void ff_bucket_init(ff_bucket *b, double capacity, double period, double now);
/* Seconds until a token is there (0 now). Pure apart from the refill. */
double ff_bucket_wait(ff_bucket *b, double now);
void ff_bucket_take(ff_bucket *b);

typedef struct ff_rl_waiter ff_rl_waiter;
struct ff_rl_waiter {
  ff_rl_waiter *next;
  ff_rl_waiter *prev;
  int queued;
  void (*go)(ff_rl_waiter *w); /* called from the limiter's timer, token taken */
};

typedef struct ff_ratelimit {
  ff_engine *engine;
  ff_bucket minute;
  ff_bucket day;
  double paused_until;
  ff_rl_waiter *head;
  ff_rl_waiter *tail;
  ff_timer timer;
} ff_ratelimit;

/* per_minute, per_day: 0 for no budget. -1 when the engine cannot take a timer. */
int ff_ratelimit_init(ff_ratelimit *rl, ff_engine *e, double per_minute, double per_day);
void ff_ratelimit_free(ff_ratelimit *rl);
/* 1: go now (a token was taken). 0: queued; w->go is called later. */
int ff_ratelimit_enter(ff_ratelimit *rl, ff_rl_waiter *w);
/* Takes w out of the queue; 1 if it was there. */
int ff_ratelimit_leave(ff_ratelimit *rl, ff_rl_waiter *w);
/* Nothing passes for `seconds` (a 429's retry-after). */
void ff_ratelimit_pause(ff_ratelimit *rl, double seconds);

#endif

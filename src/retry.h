/*
** The retry policy's arithmetic, kept apart from the transfers so it can be
** unit-tested and fuzzed: which answers are worth another try, how long to
** wait (exponential backoff with full jitter), and what `retry-after` says.
*/
#ifndef FF_RETRY_H
#define FF_RETRY_H

#include <stdint.h>

/* A small per-client PRNG (splitmix64): jitter needs no global state. */
typedef struct ff_rng {
  uint64_t state;
} ff_rng;

void ff_rng_seed(ff_rng *r, uint64_t seed);
uint64_t ff_rng_next(ff_rng *r);
double ff_rng_unit(ff_rng *r); /* uniform in [0, 1) */
/* A version 4 UUID from 16 bytes of r, lowercase with dashes: out gets 36 chars and a NUL. */
void ff_uuid4(ff_rng *r, char out[37]);

/* Full jitter: uniform in [0, min(cap, base * 2^attempt)). attempt counts from 0. */
double ff_backoff(ff_rng *r, int attempt, double base, double cap);

/*
** Parses a `retry-after` value: delta-seconds ("120") or an HTTP date
** ("Wed, 21 Oct 2015 07:28:00 GMT"), relative to now_wall (epoch seconds).
** Returns 0 and sets *seconds (never negative), or -1 if it is neither.
*/
int ff_parse_retry_after(const char *value, double now_wall, double *seconds);

/* 408, 429 and every 5xx: answers that say "try again later". */
int ff_status_retryable(long status);

#endif

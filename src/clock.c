#define _POSIX_C_SOURCE 200809L
#include "clock.h"

#include <math.h>
#include <time.h>

double ff_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double ff_wall(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long ff_ms_of(double seconds) {
  if (!(seconds > 0)) return 0;
  if (seconds > 86400.0 * 366) return 86400L * 366 * 1000;
  return (long)ceil(seconds * 1000.0);
}

/* Clocks: deadlines and timers use the monotonic clock, never the wall clock. */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

double ff_now(void);  /* monotonic seconds */
double ff_wall(void); /* seconds since the epoch, only for HTTP dates */
/* Milliseconds for libcurl and poll(2), rounded up (a sub-millisecond wait rounded down would
   spin) and bounded to a year, so no NaN or huge double is ever converted to an integer. */
long ff_ms_of(double seconds);

#endif

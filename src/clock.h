/* Clocks: deadlines and timers use the monotonic clock, never the wall clock. */
#ifndef FF_CLOCK_H
#define FF_CLOCK_H

double ff_now(void);  /* monotonic seconds */
double ff_wall(void); /* seconds since the epoch, only for HTTP dates */

#endif

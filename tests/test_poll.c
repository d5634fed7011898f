/* Poll pacing: guided by progress when there is some, backing off when not. */
#include "check.h"
#include "job.h"

static void progress_predicts_the_end(void) {
  double backoff = 1;
  /* 1 s in, 50 % done: the job should end about 1 s from now */
  double d = ff_poll_delay(1.0, 50, &backoff, 10);
  CHECK(d > 1.0 && d < 1.2);
  CHECK(backoff == 1); /* the backoff is untouched while progress guides */
}

static void no_progress_backs_off_to_the_cap(void) {
  double backoff = 1, d;
  d = ff_poll_delay(1, -1, &backoff, 10);
  CHECK(d == 1);
  d = ff_poll_delay(2, -1, &backoff, 10);
  CHECK(d == 1.5);
  for (int i = 0; i < 20; i++) d = ff_poll_delay(3, -1, &backoff, 10);
  CHECK(d == 10);
}

static void delays_stay_between_the_floor_and_the_cap(void) {
  double backoff = 1;
  CHECK(ff_poll_delay(5, 99.9, &backoff, 10) >= 0.2); /* almost done: not a tight loop */
  CHECK(ff_poll_delay(1, 0.5, &backoff, 10) == 10);   /* barely started: wait, but not forever */
  CHECK(ff_poll_delay(0, 50, &backoff, 10) <= 10);
}

int main(void) {
  progress_predicts_the_end();
  no_progress_backs_off_to_the_cap();
  delays_stay_between_the_floor_and_the_cap();
  return CHECK_DONE();
}

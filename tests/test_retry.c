/* The retry policy's arithmetic: retry-after parsing, backoff bounds, statuses. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "retry.h"

static void retry_after_in_seconds(void) {
  double s = -1;
  CHECK(ff_parse_retry_after("120", 0, &s) == 0 && s == 120);
  CHECK(ff_parse_retry_after("  7 ", 0, &s) == 0 && s == 7);
  CHECK(ff_parse_retry_after("0", 0, &s) == 0 && s == 0);
  CHECK(ff_parse_retry_after("1.5", 0, &s) == 0 && s == 1.5);
}

static void retry_after_as_an_http_date(void) {
  double s = -1;
  /* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 */
  CHECK(ff_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 - 30, &s) == 0);
  CHECK(fabs(s - 30) < 1e-6);
  /* a date in the past means "now", never a negative wait */
  CHECK(ff_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480.0 + 99, &s) == 0 && s == 0);
}

static void retry_after_garbage_is_refused(void) {
  double s = 42;
  CHECK(ff_parse_retry_after("", 0, &s) == -1);
  CHECK(ff_parse_retry_after("soon", 0, &s) == -1);
  CHECK(ff_parse_retry_after("-5", 0, &s) == -1);
  CHECK(ff_parse_retry_after(NULL, 0, &s) == -1);
  CHECK(s == 42);
}

static void backoff_is_full_jitter_under_a_growing_ceiling(void) {
  ff_rng r;
  int attempt, i;
  ff_rng_seed(&r, 1);
  for (attempt = 0; attempt < 12; attempt++) {
    double ceiling = 0.5 * pow(2, attempt);
    double max_seen = 0;
    if (ceiling > 30) ceiling = 30;
    for (i = 0; i < 2000; i++) {
      double d = ff_backoff(&r, attempt, 0.5, 30);
      CHECK(d >= 0 && d < ceiling);
      if (d > max_seen) max_seen = d;
    }
    CHECK(max_seen > ceiling * 0.9); /* the whole range is used, not just its bottom */
  }
}

static void retryable_statuses(void) {
  CHECK(ff_status_retryable(408));
  CHECK(ff_status_retryable(429));
  CHECK(ff_status_retryable(500));
  CHECK(ff_status_retryable(503));
  CHECK(!ff_status_retryable(400));
  CHECK(!ff_status_retryable(401));
  CHECK(!ff_status_retryable(404));
  CHECK(!ff_status_retryable(422));
}

static void uuid4_is_version_4_and_fresh(void) {
  ff_rng r;
  char a[37], b[37];
  int i;
  ff_rng_seed(&r, 7);
  ff_uuid4(&r, a);
  ff_uuid4(&r, b);
  CHECK(strlen(a) == 36 && strcmp(a, b) != 0);
  CHECK(a[8] == '-' && a[13] == '-' && a[18] == '-' && a[23] == '-');
  CHECK(a[14] == '4');
  CHECK(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
  for (i = 0; i < 36; i++) CHECK(a[i] == '-' || (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
}

int main(void) {
  retry_after_in_seconds();
  retry_after_as_an_http_date();
  retry_after_garbage_is_refused();
  backoff_is_full_jitter_under_a_growing_ceiling();
  retryable_statuses();
  uuid4_is_version_4_and_fresh();
  return CHECK_DONE();
}

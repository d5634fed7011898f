#include "retry.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

void ff_rng_seed(ff_rng *r, uint64_t seed) {
  r->state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

uint64_t ff_rng_next(ff_rng *r) {
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void ff_uuid4(ff_rng *r, char out[37]) {
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  uint64_t a = ff_rng_next(r), c = ff_rng_next(r);
  int i, o = 0;
  for (i = 0; i < 8; i++) {
    b[i] = (unsigned char)(a >> (8 * i));
    b[8 + i] = (unsigned char)(c >> (8 * i));
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  for (i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
}

double ff_rng_unit(ff_rng *r) {
  return (double)(ff_rng_next(r) >> 11) / 9007199254740992.0; /* 2^53 */
}

double ff_backoff(ff_rng *r, int attempt, double base, double cap) {
  double ceiling = base;
  int i;
  for (i = 0; i < attempt && ceiling < cap; i++) ceiling *= 2;
  if (ceiling > cap) ceiling = cap;
  return ff_rng_unit(r) * ceiling;
}

int ff_parse_retry_after(const char *value, double now_wall, double *seconds) {
  const char *p = value;
  char *end;
  if (value == NULL) return -1;
  while (*p == ' ' || *p == '\t') p++;
  if (*p == '\0') return -1;
  if (isdigit((unsigned char)*p)) {
    double v = strtod(p, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (*end == '\0' && v >= 0) {
      *seconds = v;
      return 0;
    }
    /* a date can start with a digit too ("21 Oct 2015 ..."): fall through */
  }
  {
    time_t t = curl_getdate(p, NULL);
    double d;
    if (t == (time_t)-1) return -1;
    d = (double)t - now_wall;
    *seconds = d > 0 ? d : 0;
    return 0;
  }
}

int ff_status_retryable(long status) {
  return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

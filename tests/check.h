/* A minimal assertion kit for the C unit tests: count, report, exit status. */
#ifndef FF_CHECK_H
#define FF_CHECK_H

#include <stdio.h>

/* unused where a test compiles its checks out (test_secrets.c under ASan) */
static int check_failures __attribute__((unused)), check_count __attribute__((unused));

#define CHECK(cond)                                                       \
  do {                                                                    \
    check_count++;                                                        \
    if (!(cond)) {                                                        \
      check_failures++;                                                   \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                     \
  } while (0)

#define CHECK_DONE()                                                      \
  (printf("%d passed, %d failed\n", check_count - check_failures, check_failures), \
   check_failures ? 1 : 0)

#endif

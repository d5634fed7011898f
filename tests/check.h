/* A minimal assertion kit for the C unit tests: count, report, exit status. */
#ifndef FF_CHECK_H
#define FF_CHECK_H

#include <stdio.h>

static int check_failures, check_count;

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

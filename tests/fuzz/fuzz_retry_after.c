/* libFuzzer: ff_parse_retry_after reads a server's retry-after header as is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  double seconds = -1;
  if (s == NULL) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  if (ff_parse_retry_after(s, 1700000000.0, &seconds) == 0 && !(seconds >= 0)) abort();
  free(s);
  return 0;
}

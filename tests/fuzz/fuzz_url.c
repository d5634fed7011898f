/*
** libFuzzer: statusUrl, cancelUrl and output URLs come from the server; the
** host check that decides where credentials go must never misread one.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char host[256];
  char *url = malloc(size + 1);
  if (url == NULL) return 0;
  memcpy(url, data, size);
  url[size] = '\0';
  if (ff_url_host(url, host, sizeof host) == 0 && strlen(host) >= sizeof host) abort();
  /* Only the configured host and *.adobe.io may be allowed. */
  if (ff_host_allowed("api.example.test,.adobe.io", url)) {
    size_t n;
    if (ff_url_host(url, host, sizeof host) != 0) abort();
    n = strlen(host);
    if (strcasecmp(host, "api.example.test") != 0 &&
        !(n > 9 && strcasecmp(host + n - 9, ".adobe.io") == 0))
      abort();
  }
  free(url);
  return 0;
}

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
  /* Only api_url's origin, https *.adobe.io on 443 and api_hosts' entry may be allowed. */
  if (ff_cred_allowed("https://api.example.test:8443", "studio.example:9000", url)) {
    ff_origin o;
    size_t n;
    if (ff_url_origin(url, &o) != 0 || strcmp(o.scheme, "https") != 0) abort();
    n = strlen(o.host);
    if (!(strcmp(o.host, "api.example.test") == 0 && o.port == 8443) &&
        !(strcmp(o.host, "studio.example") == 0 && o.port == 9000) &&
        !(n > 9 && strcmp(o.host + n - 9, ".adobe.io") == 0 && o.port == 443))
      abort();
  }
  /* Clear text goes nowhere off this machine. */
  if (ff_cred_allowed("http://127.0.0.1:8080", ".example", url)) {
    ff_origin o;
    if (ff_url_origin(url, &o) != 0 || (strcmp(o.scheme, "https") != 0 && !ff_origin_loopback(&o))) abort();
  }
  free(url);
  return 0;
}

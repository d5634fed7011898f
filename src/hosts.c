#include "hosts.h"

#include <string.h>
#include <strings.h>

#include <curl/curl.h>

int ff_url_host(const char *url, char *dst, unsigned size) {
  CURLU *u = curl_url();
  char *host = NULL;
  int rc = -1;
  if (u == NULL) return -1;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && strlen(host) < size) {
    strcpy(dst, host);
    rc = 0;
  }
  curl_free(host);
  curl_url_cleanup(u);
  return rc;
}

static int entry_matches(const char *entry, size_t len, const char *host) {
  size_t hlen = strlen(host);
  if (len == 0) return 0;
  if (entry[0] == '.') /* a suffix: "x.adobe.io" matches ".adobe.io" */
    return hlen > len && strncasecmp(host + hlen - len, entry, len) == 0;
  return hlen == len && strncasecmp(host, entry, len) == 0;
}

int ff_host_allowed(const char *allowed, const char *url) {
  char host[256];
  const char *p = allowed;
  if (allowed == NULL || ff_url_host(url, host, sizeof host) != 0) return 0;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len > 0 && *p == ' ') p++, len--;
    while (len > 0 && p[len - 1] == ' ') len--;
    if (entry_matches(p, len, host)) return 1;
    if (comma == NULL) break;
    p = comma + 1;
  }
  return 0;
}

#include "hosts.h"

#include <ctype.h>
#include <stdlib.h>
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

/*
** The common URL read without libcurl: "http(s)://host[:port]/rest" with the
** scheme in lower case, a host of letters, digits, dots and hyphens (one that
** starts with a digit only as a plain dotted quad, which libcurl would leave
** as it is), a port of 1-65535 written without leading zeros, and in the rest
** no byte libcurl's parser refuses (controls, DEL, space). libcurl 7.88+
** reads such a URL to the same origin and accepts it; anything else, 0, and
** the caller parses with libcurl. Each request's credential check and each
** output URL's check cost a full parse (~8,000 instructions) before this.
*/
static int dotted_quad(const char *h, size_t n) {
  size_t i = 0;
  int part;
  for (part = 0; part < 4; part++) {
    size_t start = i;
    unsigned v = 0;
    while (i < n && h[i] >= '0' && h[i] <= '9' && i - start < 3) v = v * 10 + (unsigned)(h[i++] - '0');
    if (i == start || v > 255 || (h[start] == '0' && i - start > 1)) return 0;
    if (part < 3 && (i >= n || h[i++] != '.')) return 0;
  }
  return i == n;
}

static int quick_origin(const char *url, ff_origin *o) {
  const char *p = url, *host;
  size_t n, i;
  long port;
  if (strncmp(p, "https://", 8) == 0) {
    strcpy(o->scheme, "https");
    port = 443;
    p += 8;
  } else if (strncmp(p, "http://", 7) == 0) {
    strcpy(o->scheme, "http");
    port = 80;
    p += 7;
  } else {
    return 0;
  }
  host = p;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-') p++;
  n = (size_t)(p - host);
  if (n == 0 || n >= sizeof o->host || (host[0] >= '0' && host[0] <= '9' && !dotted_quad(host, n))) return 0;
  if (*p == ':') {
    const char *d = ++p;
    port = 0;
    while (*p >= '0' && *p <= '9' && p - d < 5) port = port * 10 + (*p++ - '0');
    if (p == d || *d == '0' || port > 65535) return 0;
  }
  if (*p != '/') return 0;
  for (; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f) return 0;
  if ((size_t)(p - url) > 8000000) return 0; /* libcurl's longest URL */
  for (i = 0; i < n; i++) o->host[i] = (char)tolower((unsigned char)host[i]);
  o->host[n] = '\0';
  o->port = port;
  return 1;
}

int ff_url_origin(const char *url, ff_origin *o) {
  if (quick_origin(url, o)) return 0;
  return ff_url_origin_parsed(url, o);
}

int ff_url_origin_parsed(const char *url, ff_origin *o) {
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL;
  int rc = -1;
  if (u == NULL) return -1;
  /* Parsed exactly as libcurl will parse it to connect: no second reading of the URL. */
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
      (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0) &&
      strlen(host) < sizeof o->host && host[0] != '\0') {
    size_t i;
    char *end;
    for (i = 0; scheme[i]; i++) o->scheme[i] = (char)tolower((unsigned char)scheme[i]);
    o->scheme[i] = '\0';
    for (i = 0; host[i]; i++) o->host[i] = (char)tolower((unsigned char)host[i]);
    o->host[i] = '\0';
    o->port = strtol(port, &end, 10);
    rc = *end == '\0' && o->port > 0 && o->port < 65536 ? 0 : -1;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return rc;
}

int ff_origin_same(const ff_origin *a, const ff_origin *b) {
  return strcmp(a->scheme, b->scheme) == 0 && strcmp(a->host, b->host) == 0 && a->port == b->port;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

int ff_origin_loopback(const ff_origin *o) {
  const char *h = o->host;
  if (strcmp(h, "localhost") == 0 || ends_with(h, ".localhost") || strcmp(h, "[::1]") == 0) return 1;
  /* 127.0.0.0/8 in dotted form only: libcurl has already normalised the numbers. */
  if (strncmp(h, "127.", 4) == 0) {
    int dots = 0;
    for (h += 4; *h; h++) {
      if (*h == '.') dots++;
      else if (!isdigit((unsigned char)*h)) return 0;
    }
    return dots == 2;
  }
  return 0;
}

int ff_url_private(const char *url) {
  ff_origin o;
  if (ff_url_origin(url, &o) != 0) return 0;
  return strcmp(o.scheme, "https") == 0 || ff_origin_loopback(&o);
}

static long default_port(const ff_origin *o) {
  return strcmp(o->scheme, "https") == 0 ? 443 : 80;
}

/* One api_hosts entry, "host", ".suffix", "[v6]", each with an optional ":port". */
static int entry_matches(const char *entry, size_t len, const ff_origin *t) {
  char host[256];
  long port = default_port(t);
  const char *colon = NULL;
  size_t i, hlen = len;
  for (i = 0; i < len; i++) {
    if (entry[i] == ']') colon = NULL; /* a colon inside [v6] is not the port's */
    else if (entry[i] == ':') colon = entry + i;
  }
  if (colon) {
    char digits[8];
    size_t n = len - (size_t)(colon + 1 - entry);
    char *end;
    hlen = (size_t)(colon - entry);
    if (n == 0 || n >= sizeof digits) return 0;
    memcpy(digits, colon + 1, n);
    digits[n] = '\0';
    port = strtol(digits, &end, 10);
    if (*end != '\0') return 0;
  }
  if (hlen == 0 || hlen >= sizeof host || port != t->port) return 0;
  for (i = 0; i < hlen; i++) host[i] = (char)tolower((unsigned char)entry[i]);
  host[hlen] = '\0';
  if (host[0] == '.') return ends_with(t->host, host); /* "x.adobe.io" under ".adobe.io", not "adobe.io" */
  return strcmp(t->host, host) == 0;
}

int ff_cred_allowed(const char *api_url, const char *api_hosts, const char *url) {
  ff_origin api;
  int have_api = api_url != NULL && ff_url_origin(api_url, &api) == 0;
  return ff_cred_allowed_origin(have_api ? &api : NULL, api_hosts, url);
}

int ff_cred_allowed_origin(const ff_origin *api, const char *api_hosts, const char *url) {
  ff_origin t;
  const char *p = api_hosts;
  if (ff_url_origin(url, &t) != 0) return 0;
  if (strcmp(t.scheme, "http") == 0) {
    /* Clear text only where api_url itself is clear text on this machine. */
    if (!(api && strcmp(api->scheme, "http") == 0 && ff_origin_loopback(api) && ff_origin_loopback(&t)))
      return 0;
  }
  if (api && ff_origin_same(api, &t)) return 1;
  if (strcmp(t.scheme, "https") == 0 && t.port == 443 && ends_with(t.host, ".adobe.io")) return 1;
  while (p && *p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    while (len > 0 && *p == ' ') p++, len--;
    while (len > 0 && p[len - 1] == ' ') len--;
    if (len > 0 && entry_matches(p, len, &t)) return 1;
    if (comma == NULL) break;
    p = comma + 1;
  }
  return 0;
}

/* Labels of letters, digits and hyphens, none empty, none starting or ending with a hyphen. */
static int host_name_ok(const char *h, size_t n, int *labels) {
  size_t i, start = 0;
  *labels = 0;
  if (n == 0 || n > 253) return 0;
  for (i = 0; i <= n; i++) {
    if (i == n || h[i] == '.') {
      size_t l = i - start;
      if (l == 0 || l > 63 || h[start] == '-' || h[i - 1] == '-') return 0;
      (*labels)++;
      start = i + 1;
    } else if (!isalnum((unsigned char)h[i]) && h[i] != '-') {
      return 0;
    }
  }
  return 1;
}

const char *ff_api_host_invalid(const char *entry, size_t len) {
  size_t hlen = len;
  int labels;
  const char *close = NULL, *p;
  while (hlen > 0 && *entry == ' ') entry++, hlen--, len--;
  while (hlen > 0 && entry[hlen - 1] == ' ') hlen--, len--;
  if (len == 0) return "it is empty";
  if (entry[0] == '[') close = memchr(entry, ']', len);
  p = close ? close + 1 : entry;
  for (; p < entry + len; p++) {
    if (*p == ':') {
      size_t i, n = (size_t)(entry + len - (p + 1));
      long port = 0;
      if (n == 0 || n > 5) return "its port is not a number from 1 to 65535";
      for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[1 + i])) return "its port is not a number from 1 to 65535";
        port = port * 10 + (p[1 + i] - '0');
      }
      if (port < 1 || port > 65535) return "its port is not a number from 1 to 65535";
      hlen = (size_t)(p - entry);
      break;
    }
  }
  if (hlen == 0) return "it names no host";
  if (entry[0] == '[') {
    size_t i;
    if (close == NULL || (size_t)(close - entry) != hlen - 1 || hlen < 4) return "its [IPv6] address is not closed";
    for (i = 1; i < hlen - 1; i++)
      if (!isxdigit((unsigned char)entry[i]) && entry[i] != ':' && entry[i] != '.') return "its [IPv6] address has other characters";
    return NULL;
  }
  if (entry[0] == '.') {
    if (!host_name_ok(entry + 1, hlen - 1, &labels)) return "its suffix is not a host name";
    /* ".com" would hand the key to every .com host. */
    if (labels < 2) return "a .suffix needs at least two labels (.example.com)";
    return NULL;
  }
  if (!host_name_ok(entry, hlen, &labels)) return "it is not a host name (letters, digits, hyphens and dots)";
  return NULL;
}

const char *ff_api_hosts_invalid(const char *api_hosts, const char **entry, size_t *len) {
  const char *p = api_hosts;
  while (p && *p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    const char *why = ff_api_host_invalid(p, n);
    if (why) {
      *entry = p;
      *len = n;
      return why;
    }
    if (comma == NULL) break;
    p = comma + 1;
  }
  return NULL;
}

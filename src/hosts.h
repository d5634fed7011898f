/*
** Where the API key and bearer token may go. Adobe hands back statusUrl and
** cancelUrl that may name another Adobe host, and the client follows them as
** returned; credentials still go only to api_url's origin (scheme, host and
** port), to https *.adobe.io on the default port, and to the hosts the user
** names in api_hosts; never over plain HTTP unless api_url itself is plain
** HTTP on a loopback address (the emulator), and then only to loopback.
*/
#ifndef FF_HOSTS_H
#define FF_HOSTS_H

#include <stddef.h>

/* An origin: "http" or "https", the host in lower case, the port (explicit or the scheme's). */
typedef struct ff_origin {
  char scheme[8];
  char host[256];
  long port;
} ff_origin;

/* 0, or -1 when url is not an http(s) URL with a readable host. */
int ff_url_origin(const char *url, ff_origin *o);
/* The same, always by libcurl's own parse (ff_url_origin skips it for the common, unambiguous URL). */
int ff_url_origin_parsed(const char *url, ff_origin *o);
int ff_origin_same(const ff_origin *a, const ff_origin *b);
/* localhost, *.localhost, 127.0.0.0/8 or ::1. */
int ff_origin_loopback(const ff_origin *o);
/* 1 when a secret may travel to url: https, or plain http to a loopback address. */
int ff_url_private(const char *url);

/*
** 1 when url may receive the API key and token. api_url: the client's API
** base (NULL: none). api_hosts: a comma-separated list of entries the user
** named, "host", ".suffix" (any host ending in it), each with an optional
** ":port" (without one, only the scheme's default port matches).
*/
int ff_cred_allowed(const char *api_url, const char *api_hosts, const char *url);
/* The same with api_url's origin read already (NULL: none), as a client does once, not per request. */
int ff_cred_allowed_origin(const ff_origin *api, const char *api_hosts, const char *url);

/*
** NULL when entry[len] is an api_hosts entry of the shape above: a host name
** (letters, digits and hyphens in dot-separated labels), a ".suffix" of at
** least two labels, or a bracketed IPv6 address, with an optional ":port" of
** 1 to 65535. Otherwise why not, for a message. "*", "." or ":80" would
** silently match nothing, or (".") every name with a trailing dot.
*/
const char *ff_api_host_invalid(const char *entry, size_t len);
/* The first bad entry of a comma-separated list (its start and length), or NULL when all are good. */
const char *ff_api_hosts_invalid(const char *api_hosts, const char **entry, size_t *len);

/* Copies url's host into dst[size]; 0, or -1 when url has no readable host. */
int ff_url_host(const char *url, char *dst, unsigned size);

#endif

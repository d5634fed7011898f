/*
** Which hosts may receive the API key and bearer token. Adobe hands back
** statusUrl and cancelUrl that may name another Adobe host, and the client
** follows them as returned; credentials still go only to the configured API
** host and to hosts under a trusted suffix (".adobe.io"), never elsewhere.
*/
#ifndef FF_HOSTS_H
#define FF_HOSTS_H

/*
** allowed: a comma-separated list; "host" matches exactly (case-insensitive),
** ".suffix" matches any host ending in it. Returns 1 when url's host is allowed.
*/
int ff_host_allowed(const char *allowed, const char *url);

/* Copies url's host into dst[size]; 0, or -1 when url has no readable host. */
int ff_url_host(const char *url, char *dst, unsigned size);

#endif

/*
** Secrets in memory: the client secret's token form, IMS's answer and the
** Authorization header are zeroed before their memory is freed. This test
** interposes free() and looks for the secrets in every block handed back.
** The requests go to a closed port on loopback, so libcurl never builds a
** request of its own (its send buffer is beyond this client's reach).
*/
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "client.h"

#if defined(__SANITIZE_ADDRESS__)
#define FF_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define FF_NO_INTERPOSE 1
#endif
#endif

#ifndef FF_NO_INTERPOSE
#define SECRET "S3cr3t-wipe-me-0123456789"
#define TOKEN "T0ken-wipe-me-9876543210"

/* The test's only mutable globals: what the interposed free() has seen. */
static int armed, secret_seen, token_seen;

extern void __libc_free(void *p);

void free(void *p) {
  if (p && armed) {
    size_t n = malloc_usable_size(p);
    armed = 0; /* memmem must not recurse into us */
    if (memmem(p, n, SECRET, strlen(SECRET))) secret_seen++;
    if (memmem(p, n, TOKEN, strlen(TOKEN))) token_seen++;
    armed = 1;
  }
  __libc_free(p);
}

static int no_token(void *ud, const char *json, size_t len, char **token, double *expires_in) {
  (void)ud, (void)json, (void)len, (void)expires_in;
  *token = NULL;
  return -1;
}
static int no_accept(void *ud, const char *json, size_t len, ff_accept *out) {
  (void)ud, (void)json, (void)len, (void)out;
  return -1;
}
static int no_jobdoc(void *ud, const char *json, size_t len, ff_jobdoc *out) {
  (void)ud, (void)json, (void)len, (void)out;
  return -1;
}

/* One submit to a closed port, stepped until its error event; then the client is freed. */
static void run(const char *secret, const char *token) {
  ff_decoder dec = {NULL, no_token, no_accept, no_jobdoc};
  ff_config cfg;
  ff_error err;
  ff_client *c;
  ff_event *ev = NULL;
  int i;
  memset(&cfg, 0, sizeof cfg);
  cfg.client_id = "id";
  cfg.client_secret = secret;
  cfg.access_token = token;
  cfg.scopes = "openid";
  cfg.ims_url = "http://127.0.0.1:1";
  cfg.api_url = "http://127.0.0.1:1";
  cfg.connect_timeout = 2;
  cfg.request_timeout = 2;
  cfg.poll_first = 1;
  cfg.poll_max = 1;
  ff_error_init(&err);
  c = ff_client_new(&cfg, &dec, &err);
  CHECK(c != NULL);
  if (c == NULL) return;
  CHECK(ff_client_submit(c, "http://127.0.0.1:1/v3/images/generate-async", "{}", 2, NULL, 10, 0, &err) != 0);
  for (i = 0; i < 200 && ev == NULL; i++) {
    ff_client_step(c, 0.05);
    ev = ff_client_event(c);
  }
  CHECK(ev != NULL && ev->type == FF_EV_ERROR);
  ff_event_free(ev);
  ff_client_free(c);
  ff_error_free(&err);
}

static void the_token_form_holding_the_secret_is_wiped_before_it_is_freed(void) {
  secret_seen = 0;
  armed = 1;
  run(SECRET, NULL);
  armed = 0;
  CHECK(secret_seen == 0);
}

static void the_authorization_header_is_wiped_before_it_is_freed(void) {
  token_seen = 0;
  armed = 1;
  run(NULL, TOKEN);
  armed = 0;
  CHECK(token_seen == 0);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  the_token_form_holding_the_secret_is_wiped_before_it_is_freed();
  the_authorization_header_is_wiped_before_it_is_freed();
  curl_global_cleanup();
  return CHECK_DONE();
}
#else
int main(void) {
  puts("skipped: free() cannot be interposed under a sanitizer");
  return 0;
}
#endif

#include "auth.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define FF_TOKEN_MARGIN_MAX 300.0 /* seconds before expiry to fetch anew */

int ff_auth_init(ff_auth *a, ff_ctx *ctx, const char *client_id, const char *client_secret,
                 const char *scopes, const char *ims_url, const char *access_token) {
  ff_buf url = FF_BUF_INIT;
  memset(a, 0, sizeof *a);
  a->ctx = ctx;
  a->waiting.next = a->waiting.prev = &a->waiting;
  a->woken.next = a->woken.prev = &a->woken;
  if (access_token) {
    a->fixed = 1;
    a->token = ff_strdup(access_token);
    return a->token ? 0 : -1;
  }
  if (ff_buf_appends(&url, ims_url) || ff_buf_appends(&url, "/ims/token/v3")) goto fail;
  a->token_url = url.data;
  a->client_id = ff_strdup(client_id);
  a->client_secret = ff_strdup(client_secret);
  a->scopes = ff_strdup(scopes);
  if (!a->client_id || !a->client_secret || !a->scopes) goto fail;
  return 0;
fail:
  if (a->token_url == NULL) ff_buf_free(&url);
  ff_auth_free(a);
  return -1;
}

static void wipe(char *s) {
  if (s == NULL) return;
  ff_wipe(s, strlen(s)); /* secrets do not linger in freed memory */
  free(s);
}

void ff_auth_free(ff_auth *a) {
  ff_xfer_free(a->fetch);
  a->fetch = NULL;
  wipe(a->client_secret);
  wipe(a->token);
  free(a->client_id);
  free(a->scopes);
  free(a->token_url);
  a->client_secret = a->token = a->client_id = a->scopes = a->token_url = NULL;
}

void ff_auth_forget(ff_auth *a, ff_auth_waiter *w) {
  (void)a;
  if (w->next == NULL) return;
  w->prev->next = w->next;
  w->next->prev = w->prev;
  w->next = w->prev = NULL;
}

/* Moves every waiter of list onto the end of to (both list heads). */
static void splice(ff_auth_waiter *list, ff_auth_waiter *to) {
  if (list->next == list) return;
  list->next->prev = to->prev;
  to->prev->next = list->next;
  list->prev->next = to;
  to->prev = list->prev;
  list->next = list->prev = list;
}

/*
** Tells the next FF_AUTH_WAKES_PER_STEP woken waiters that a token is at
** hand; the client's next step tells the next ones (ff_client_step), and its
** timeout is 0 meanwhile. Each asks ff_auth_token again, so a token gone
** stale in between is fetched anew rather than used.
*/
void ff_auth_step(ff_auth *a) {
  int n;
  for (n = 0; n < FF_AUTH_WAKES_PER_STEP && a->woken.next != &a->woken; n++) {
    ff_auth_waiter *w = a->woken.next;
    ff_auth_forget(a, w);
    w->ready(w, NULL);
  }
}

int ff_auth_woken(const ff_auth *a) { return a->woken.next != &a->woken; }

/*
** A token came: its waiters are told a few a step. A failed fetch tells its
** waiters at once (an error event each, no request built); any still queued
** from an earlier token are told first, and ask for a token again.
*/
static void wake(ff_auth *a, const ff_error *err) {
  ff_auth_waiter list;
  if (err == NULL) {
    splice(&a->waiting, &a->woken);
    ff_auth_step(a); /* a few at once: no step's delay when few wait */
    return;
  }
  list.next = list.prev = &list;
  splice(&a->waiting, &list); /* first: a waiter told below may queue again */
  while (a->woken.next != &a->woken) {
    ff_auth_waiter *w = a->woken.next;
    ff_auth_forget(a, w);
    w->ready(w, NULL);
  }
  while (list.next != &list) {
    ff_auth_waiter *w = list.next;
    ff_auth_forget(a, w);
    w->ready(w, err);
  }
}

static void fetched(ff_xfer *x) {
  ff_auth *a = x->ud;
  ff_error err;
  char *token = NULL;
  double expires_in = 0;
  ff_error_init(&err);
  a->fetch = NULL;
  if (x->code == CURLE_OK && x->status == 200 &&
      a->ctx->dec->token(a->ctx->dec->ud, x->response.data, x->response.len, &token, &expires_in) == 0) {
    wipe(a->token);
    a->token = token;
    a->expires_at = ff_now() + expires_in;
    /* A quarter of the lifetime, at most five minutes: a 24 h token renews 5 min early,
       and even a seconds-long token (the emulator's tests) leaves room for a slow request. */
    a->margin = expires_in / 4 < FF_TOKEN_MARGIN_MAX ? expires_in / 4 : FF_TOKEN_MARGIN_MAX;
    a->gen++;
    ff_xfer_free(x);
    wake(a, NULL);
    return;
  }
  ff_error_from_xfer(&err, x);
  if (x->code == CURLE_OK) {
    if (x->status == 200)
      ff_error_set(&err, FF_E_AUTH, "the IMS token response has no usable access_token");
    else if (x->status >= 400 && x->status < 500 && x->status != 429)
      ff_error_set(&err, FF_E_AUTH, "IMS refused the credentials (HTTP %ld)", x->status);
    else
      err.kind = err.kind == FF_E_RATE_LIMITED ? FF_E_RATE_LIMITED : FF_E_AUTH;
  }
  ff_xfer_free(x);
  wake(a, &err);
  ff_error_free(&err);
}

static int start_fetch(ff_auth *a) {
  ff_xfer *x = ff_xfer_new(a->ctx->engine);
  ff_buf *b;
  if (x == NULL) return -1;
  x->method = "POST";
  x->url = ff_strdup(a->token_url);
  x->retry = FF_RETRY_IDEMPOTENT; /* a token request creates nothing: safe to repeat */
  x->timeout = a->ctx->request_timeout;
  x->max_body = 64 * 1024;
  x->retry_oversize = 1; /* an answer past the cap was broken on the way: ask again */
  x->done = fetched;
  x->ud = a;
  x->secret = 1; /* the form holds the secret, the answer the token: both wiped when freed */
  b = &x->body;
  /*
  ** Room for the whole form and the largest answer first: a buffer that grew
  ** by realloc would leave copies of the secret or token in freed blocks.
  */
  if (x->url == NULL ||
      ff_buf_reserve(b, 64 + 3 * (strlen(a->client_id) + strlen(a->client_secret) + strlen(a->scopes))) ||
      ff_buf_reserve(&x->response, x->max_body) ||
      ff_buf_appends(b, "grant_type=client_credentials&client_id=") ||
      ff_buf_urlencode(b, a->client_id) || ff_buf_appends(b, "&client_secret=") ||
      ff_buf_urlencode(b, a->client_secret) || ff_buf_appends(b, "&scope=") ||
      ff_buf_urlencode(b, a->scopes) ||
      ff_xfer_header(x, "Content-Type: application/x-www-form-urlencoded") ||
      ff_xfer_header(x, "Accept: application/json") || ff_xfer_start(x)) {
    ff_xfer_free(x);
    return -1;
  }
  a->fetch = x;
  a->fetches++;
  return 0;
}

int ff_auth_token(ff_auth *a, ff_auth_waiter *w, const char **token, ff_error *err) {
  if (a->token && (a->fixed || ff_now() < a->expires_at - a->margin)) {
    *token = a->token;
    return 1;
  }
  if (a->fixed) {
    ff_error_set(err, FF_E_AUTH,
                 "the access token was refused, and with no client secret no other can be fetched");
    return -1;
  }
  /* Waiters exist only while a fetch is in flight, so one fetch serves them all. */
  if (a->fetch == NULL && start_fetch(a) != 0) {
    ff_error_set(err, FF_E_NOMEM, "out of memory starting the token request");
    return -1;
  }
  w->next = &a->waiting;
  w->prev = a->waiting.prev;
  a->waiting.prev->next = w;
  a->waiting.prev = w;
  return 0;
}

int ff_auth_rejected(ff_auth *a, unsigned gen) {
  if (a->fixed) {
    wipe(a->token);
    a->token = NULL;
    return 0;
  }
  if (gen == a->gen) {
    wipe(a->token);
    a->token = NULL;
  }
  return 1;
}

#include "call.h"

#include "hosts.h"
#include "retry.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static void finished(ff_xfer *x);

void ff_call_init(ff_call *c, ff_ctx *ctx, ff_call_done done, void *ud) {
  memset(c, 0, sizeof *c);
  c->ctx = ctx;
  c->done = done;
  c->ud = ud;
  c->method = "GET";
  c->auth = 1;
  c->max_retries = -1;
  c->max_body = 8u << 20;
  c->timeout = ctx->request_timeout;
}

int ff_call_set(ff_call *c, const char *method, const char *url, const char *body, size_t len,
                const char *content_type) {
  char *u = ff_strdup(url);
  char *ct = content_type ? ff_strdup(content_type) : NULL;
  if (u == NULL || (content_type && ct == NULL)) {
    free(u);
    free(ct);
    return -1;
  }
  ff_buf_reset(&c->body);
  if (body && ff_buf_append(&c->body, body, len)) {
    free(u);
    free(ct);
    return -1;
  }
  free(c->url);
  free(c->content_type);
  c->url = u;
  c->content_type = ct;
  c->method = method;
  c->refreshed = 0;
  return 0;
}

static int build(ff_call *c, const char *token) {
  ff_xfer *x = ff_xfer_new(c->ctx->engine);
  int get = strcmp(c->method, "GET") == 0;
  if (x == NULL) return -1;
  x->method = c->method;
  x->retry = c->retry;
  x->max_retries = c->max_retries;
  x->timeout = c->timeout;
  x->max_body = c->max_body;
  x->retry_oversize = c->retry_oversize;
  x->file = c->file;
  x->source = c->source;
  x->source_size = c->source_size;
  x->min_rate = c->min_rate;
  x->rate_grace = c->rate_grace;
  x->https_only = c->https_only;
  x->follow_redirects = c->auth ? 0 : c->follow_redirects;
  x->done = finished;
  x->ud = c;
  x->secret = c->auth;
  x->url = ff_strdup(c->url);
  /* A GET has no body: libcurl sends neither a Content-Type nor an Expect for it, nothing to remove. */
  if (x->url == NULL || (c->body.len && ff_buf_append(&x->body, c->body.data, c->body.len)) ||
      (c->content_type && ff_xfer_header_pair(x, "Content-Type: ", c->content_type)) ||
      /* A bodyless PUT (cancel) must not carry libcurl's default form type. */
      (!c->content_type && !get && ff_xfer_header(x, "Content-Type:")) ||
      (!get && ff_xfer_header(x, "Expect:")) /* no 100-continue round trip for uploads */) {
    ff_xfer_free(x);
    return -1;
  }
  /* A fresh id per request, for the user's logs and Adobe support alike. */
  if (c->auth) ff_uuid4(ff_engine_rng(c->ctx->engine), x->sent_request_id);
  if (c->auth && (ff_xfer_header(x, "Accept: application/json") ||
                  ff_xfer_header_pair(x, "x-request-id: ", x->sent_request_id) ||
                  ff_xfer_header_pair(x, "x-api-key: ", c->ctx->api_key) ||
                  ff_xfer_header_pair(x, "Authorization: Bearer ", token) ||
                  (c->model_version && ff_xfer_header_pair(x, "x-model-version: ", c->model_version)))) {
    ff_xfer_free(x);
    return -1;
  }
  if (ff_xfer_start(x) != 0) {
    ff_xfer_free(x);
    return -1;
  }
  c->x = x;
  return 0;
}

static void token_ready(ff_auth_waiter *w, const ff_error *err) {
  ff_call *c = (ff_call *)((char *)w - offsetof(ff_call, waiter));
  ff_error e;
  ff_error_init(&e);
  if (err != NULL) {
    ff_error_copy(&e, err);
  } else if (ff_call_send(c, &e) == 0) {
    return;
  }
  c->done(c, NULL, &e);
  ff_error_free(&e);
}

int ff_call_send(ff_call *c, ff_error *err) {
  const char *token = NULL;
  if (c->auth) {
    int r;
    /* A statusUrl naming some other host gets no key and no token. */
    if (!ff_cred_allowed_origin(c->ctx->api_origin, c->ctx->api_hosts, c->url)) {
      ff_origin o;
      if (ff_url_origin(c->url, &o) != 0)
        ff_error_set(err, FF_E_AUTH, "refusing to send credentials to an unreadable URL");
      else
        ff_error_set(err, FF_E_AUTH,
                     "refusing to send credentials to %s://%s:%ld: not api_url's origin, https *.adobe.io, "
                     "or an api_hosts entry%s", o.scheme, o.host, o.port,
                     strcmp(o.scheme, "http") == 0 ? " (and plain http only from a loopback api_url)" : "");
      return -1;
    }
    r = ff_auth_token(c->ctx->auth, &c->waiter, &token, err);
    if (r < 0) return -1;
    if (r == 0) {
      c->waiter.ready = token_ready;
      return 0;
    }
    c->gen = c->ctx->auth->gen;
  }
  if (build(c, token) != 0) {
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a request");
    return -1;
  }
  return 0;
}

static void finished(ff_xfer *x) {
  ff_call *c = x->ud;
  c->x = NULL;
  /* A 401 means our token went stale early (revoked, clock skew): renew once. */
  if (c->auth && x->code == CURLE_OK && x->status == 401 && !c->refreshed &&
      ff_auth_rejected(c->ctx->auth, c->gen)) {
    ff_error err;
    ff_error_init(&err);
    c->refreshed = 1;
    if (ff_call_send(c, &err) == 0) {
      ff_xfer_free(x);
      return;
    }
    ff_error_free(&err);
  }
  c->done(c, x, NULL);
}

curl_off_t ff_call_sent(const ff_call *c) {
  return c->x ? ff_xfer_sent(c->x) : 0;
}

int ff_call_busy(const ff_call *c) {
  return c->x != NULL || c->waiter.next != NULL;
}

void ff_call_abort(ff_call *c) {
  ff_auth_forget(c->ctx->auth, &c->waiter);
  ff_xfer_free(c->x);
  c->x = NULL;
}

void ff_call_free(ff_call *c) {
  ff_call_abort(c);
  ff_buf_free(&c->body);
  free(c->url);
  free(c->content_type);
  free(c->model_version);
  c->url = c->content_type = c->model_version = NULL;
}

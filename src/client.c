#define _POSIX_C_SOURCE 200809L
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call.h"
#include "hosts.h"
#include "clock.h"
#include "job.h"

#define FF_SLOT_BITS 24 /* a handle is (generation << 24) | slot */
#define FF_INFLIGHT_WAIT 0.01 /* seconds: how soon a host without the descriptor looks at sockets */

typedef enum { OP_JOB, OP_REQUEST, OP_DOWNLOAD } ff_opkind;

typedef struct ff_op {
  ff_opkind kind;
  uint64_t handle;
  ff_client *client;
  ff_job *job;       /* OP_JOB */
  ff_call call;      /* OP_REQUEST, OP_DOWNLOAD */
  char *path;        /* OP_DOWNLOAD to a file: the final name ... */
  char *tmp;         /* ... and the temporary one written first */
  FILE *file;
  int finished;
} ff_op;

typedef struct ff_slot {
  ff_op *op;
  uint32_t gen;
  uint32_t next_free; /* index + 1 of the next free slot, 0 for none */
} ff_slot;

struct ff_client {
  ff_ctx ctx;
  ff_engine *engine;
  ff_auth auth;
  ff_ratelimit limit;
  ff_decoder *dec;
  char *api_key;
  char *api_url;
  char *api_hosts;
  ff_slot *slots;
  uint32_t nslots, capslots, free_head;
  unsigned long active;
  ff_event *head, *tail;
  uint64_t *reap;     /* operations released during a step, freed after it */
  int pollfd_taken;   /* a host waits on the descriptor: timeout() need not cover sockets */
  size_t nreap, capreap;
};

#define CLIENT(ctx) ((ff_client *)((char *)(ctx) - offsetof(ff_client, ctx)))

static void emit(ff_ctx *ctx, ff_event *ev) {
  ff_client *c = CLIENT(ctx);
  ev->next = NULL;
  if (c->tail) c->tail->next = ev; else c->head = ev;
  c->tail = ev;
}

static void release(ff_ctx *ctx, uint64_t handle) {
  ff_client *c = CLIENT(ctx);
  if (c->nreap == c->capreap) {
    size_t cap = c->capreap ? c->capreap * 2 : 64;
    uint64_t *r = realloc(c->reap, cap * sizeof *r);
    if (r == NULL) return; /* the operation then lives until the client is freed */
    c->reap = r;
    c->capreap = cap;
  }
  c->reap[c->nreap++] = handle;
}

/* ---- handles ---- */

static ff_op *lookup(ff_client *c, uint64_t handle) {
  uint32_t i = (uint32_t)(handle & ((1u << FF_SLOT_BITS) - 1));
  if (i == 0 || i > c->nslots) return NULL;
  if (c->slots[i - 1].gen != (uint32_t)(handle >> FF_SLOT_BITS)) return NULL;
  return c->slots[i - 1].op;
}

static ff_op *op_new(ff_client *c, ff_opkind kind) {
  uint32_t i;
  ff_op *op;
  if (c->free_head == 0) {
    if (c->nslots == c->capslots) {
      uint32_t cap = c->capslots ? c->capslots * 2 : 64;
      ff_slot *s;
      if (cap >= (1u << FF_SLOT_BITS)) return NULL;
      s = realloc(c->slots, cap * sizeof *s);
      if (s == NULL) return NULL;
      c->slots = s;
      c->capslots = cap;
    }
    c->slots[c->nslots].gen = 0;
    c->slots[c->nslots].op = NULL;
    c->slots[c->nslots].next_free = 0;
    c->free_head = ++c->nslots;
  }
  op = calloc(1, sizeof *op);
  if (op == NULL) return NULL;
  i = c->free_head - 1;
  c->free_head = c->slots[i].next_free;
  c->slots[i].gen = (c->slots[i].gen + 1) & 0x1FFFFFFF; /* keeps handles within a double's 53 bits */
  c->slots[i].op = op;
  op->kind = kind;
  op->client = c;
  op->handle = ((uint64_t)c->slots[i].gen << FF_SLOT_BITS) | (i + 1);
  c->active++;
  return op;
}

static void op_close_file(ff_op *op) {
  if (op->file) fclose(op->file);
  op->file = NULL;
  if (op->tmp) unlink(op->tmp); /* never leave a partial file behind */
}

static void op_free(ff_client *c, ff_op *op) {
  uint32_t i = (uint32_t)(op->handle & ((1u << FF_SLOT_BITS) - 1)) - 1;
  c->slots[i].op = NULL;
  c->slots[i].next_free = c->free_head;
  c->free_head = i + 1;
  c->active--;
  if (op->kind == OP_JOB) {
    ff_job_free(op->job);
  } else {
    ff_call_free(&op->call);
    op_close_file(op);
  }
  free(op->path);
  free(op->tmp);
  free(op);
}

static void reap(ff_client *c) {
  size_t i;
  for (i = 0; i < c->nreap; i++) {
    ff_op *op = lookup(c, c->reap[i]);
    if (op) op_free(c, op);
  }
  c->nreap = 0;
}

/* ---- the client ---- */

/* A 429 to one submit holds back every submit of the client. */
static void throttled(void *ud, double retry_after) {
  ff_client *c = ud;
  ff_ratelimit_pause(&c->limit, retry_after >= 0 ? retry_after : 1);
}

ff_client *ff_client_new(const ff_config *cfg, ff_decoder *dec, ff_error *err) {
  ff_engine_config ec;
  ff_client *c;
  /* Secrets never cross a network in clear text: plain http is for the emulator on this machine. */
  if (cfg->api_url && !ff_url_private(cfg->api_url)) {
    ff_error_set(err, FF_E_VALIDATION, "api_url must be an https URL (plain http only to a loopback address)");
    return NULL;
  }
  if (cfg->access_token == NULL && cfg->ims_url && !ff_url_private(cfg->ims_url)) {
    ff_error_set(err, FF_E_VALIDATION, "ims_url must be an https URL (plain http only to a loopback address)");
    return NULL;
  }
  c = calloc(1, sizeof *c);
  if (c == NULL) goto nomem;
  memset(&ec, 0, sizeof ec);
  ec.connect_timeout = cfg->connect_timeout;
  ec.stall_timeout = cfg->stall_timeout;
  ec.max_retries = cfg->max_retries;
  ec.backoff_base = 0.5;
  ec.backoff_cap = 30;
  ec.retry_after_cap = cfg->retry_after_cap;
  ec.ca_file = cfg->ca_file;
  ec.proxy = cfg->proxy;
  ec.user_agent = cfg->user_agent;
  ec.debug = cfg->debug;
  ec.throttled = throttled;
  ec.throttled_ud = c;
  c->engine = ff_engine_new(&ec);
  c->api_key = ff_strdup(cfg->client_id ? cfg->client_id : "");
  c->api_url = cfg->api_url ? ff_strdup(cfg->api_url) : NULL;
  c->api_hosts = cfg->api_hosts ? ff_strdup(cfg->api_hosts) : NULL;
  if (c->engine == NULL || c->api_key == NULL || (cfg->api_hosts && c->api_hosts == NULL) ||
      (cfg->api_url && c->api_url == NULL) ||
      ff_ratelimit_init(&c->limit, c->engine, cfg->rate_per_minute, cfg->rate_per_day) != 0)
    goto nomem;
  c->ctx.limit = &c->limit;
  c->dec = dec;
  c->ctx.engine = c->engine;
  c->ctx.auth = &c->auth;
  c->ctx.dec = dec;
  c->ctx.api_key = c->api_key;
  c->ctx.api_url = c->api_url;
  c->ctx.api_hosts = c->api_hosts;
  c->ctx.request_timeout = cfg->request_timeout;
  c->ctx.poll_first = cfg->poll_first;
  c->ctx.poll_max = cfg->poll_max;
  c->ctx.debug = cfg->debug;
  c->ctx.retry_unknown_outcome = cfg->retry_unknown_outcome;
  c->ctx.emit = emit;
  c->ctx.release = release;
  if (ff_auth_init(&c->auth, &c->ctx, cfg->client_id, cfg->client_secret, cfg->scopes, cfg->ims_url,
                   cfg->access_token) != 0)
    goto nomem;
  return c;
nomem:
  if (c) {
    ff_engine_free(c->engine);
    free(c->api_key);
    free(c->api_url);
    free(c->api_hosts);
    free(c);
  }
  ff_error_set(err, FF_E_NOMEM, "out of memory creating a client");
  return NULL;
}

void ff_client_free(ff_client *c) {
  uint32_t i;
  ff_event *ev;
  if (c == NULL) return;
  for (i = 0; i < c->nslots; i++)
    if (c->slots[i].op) op_free(c, c->slots[i].op);
  while ((ev = ff_client_event(c)) != NULL) ff_event_free(ev);
  ff_ratelimit_free(&c->limit);
  ff_auth_free(&c->auth);
  ff_engine_free(c->engine);
  free(c->slots);
  free(c->reap);
  free(c->api_key);
  free(c->api_url);
  free(c->api_hosts);
  free(c);
}

uint64_t ff_client_submit(ff_client *c, const char *url, const char *body, size_t len,
                          const char *model_version, double timeout, int max_retries, ff_error *err) {
  ff_op *op = op_new(c, OP_JOB);
  if (op == NULL || (op->job = ff_job_new(&c->ctx, op->handle, timeout)) == NULL) {
    if (op) op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory submitting a job");
    return 0;
  }
  ff_job_max_retries(op->job, max_retries);
  if (ff_job_submit(op->job, url, body, len, model_version, err) != 0) {
    op_free(c, op);
    return 0;
  }
  return op->handle;
}

uint64_t ff_client_attach(ff_client *c, const char *status_url, const char *cancel_url,
                          const char *job_id, double timeout, ff_error *err) {
  ff_op *op = op_new(c, OP_JOB);
  if (op == NULL || (op->job = ff_job_new(&c->ctx, op->handle, timeout)) == NULL) {
    if (op) op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory attaching to a job");
    return 0;
  }
  if (ff_job_attach(op->job, status_url, cancel_url, job_id, err) != 0) {
    op_free(c, op);
    return 0;
  }
  return op->handle;
}

/* ---- single requests and downloads ---- */

static void call_done(ff_call *call, ff_xfer *x, ff_error *err) {
  ff_op *op = call->ud;
  ff_client *c = op->client;
  int ok = err == NULL && x->code == CURLE_OK && x->status >= 200 && x->status < 300;
  ff_event *ev = ff_event_new(ok ? FF_EV_DONE : FF_EV_ERROR, op->handle);
  op->finished = 1;
  if (ok && op->file) {
    /* The whole body is on disk before the file takes its final name. */
    FILE *f = op->file;
    op->file = NULL;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(op->tmp, op->path) != 0) {
      int e = errno;
      unlink(op->tmp);
      ok = 0;
      if (ev) {
        ev->type = FF_EV_ERROR;
        ff_error_set(&ev->err, FF_E_IO, "cannot write %s: %s", op->path, strerror(e));
      }
    }
  } else if (!ok) {
    op_close_file(op);
  }
  if (ev) {
    if (err) {
      ff_error_copy(&ev->err, err);
    } else if (ev->type == FF_EV_ERROR && ev->err.kind == FF_E_NONE) {
      ff_error_from_xfer(&ev->err, x);
      /* No credential went to this host (a presigned URL): its 401/403 says nothing of ours. */
      if (!op->call.auth && ev->err.kind == FF_E_AUTH) ev->err.kind = FF_E_HTTP;
    } else if (ok) {
      ev->http_status = x->status;
      ff_strlcpy(ev->request_id, x->request_id, sizeof ev->request_id);
      ff_strlcpy(ev->content_type, x->content_type, sizeof ev->content_type);
      ff_buf_move(&ev->body, &x->response);
      if (op->path) ev->path = ff_strdup(op->path);
    }
    emit(&c->ctx, ev);
  }
  ff_xfer_free(x);
  release(&c->ctx, op->handle);
}

static uint64_t call_start(ff_client *c, ff_op *op, ff_error *err) {
  if (ff_call_send(&op->call, err) != 0) {
    op_free(c, op);
    return 0;
  }
  return op->handle;
}

uint64_t ff_client_request(ff_client *c, const char *method, const char *url, const char *body,
                           size_t len, const char *content_type, ff_retry_mode retry, ff_error *err) {
  ff_op *op = op_new(c, OP_REQUEST);
  if (op == NULL) goto nomem;
  ff_call_init(&op->call, &c->ctx, call_done, op);
  op->call.retry = retry;
  if (ff_call_set(&op->call, method, url, body, len, content_type) != 0) goto nomem;
  return call_start(c, op, err);
nomem:
  if (op) op_free(c, op);
  ff_error_set(err, FF_E_NOMEM, "out of memory starting a request");
  return 0;
}

static int open_tmp(ff_op *op, const char *path, ff_rng *rng) {
  size_t n = strlen(path) + 32;
  int fd;
  op->path = ff_strdup(path);
  op->tmp = malloc(n);
  if (op->path == NULL || op->tmp == NULL) return ENOMEM;
  snprintf(op->tmp, n, "%s.part-%08x", path, (unsigned)ff_rng_next(rng));
  fd = open(op->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    int e = errno;
    free(op->tmp);
    op->tmp = NULL;
    return e;
  }
  op->file = fdopen(fd, "wb");
  if (op->file == NULL) {
    int e = errno;
    close(fd);
    return e;
  }
  return 0;
}

uint64_t ff_client_download(ff_client *c, const char *url, const char *path, ff_error *err) {
  ff_op *op = op_new(c, OP_DOWNLOAD);
  int e;
  if (op == NULL) {
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a download");
    return 0;
  }
  ff_call_init(&op->call, &c->ctx, call_done, op);
  op->call.auth = 0; /* presigned URLs: no credential ever goes to an output host */
  op->call.follow_redirects = 1;
  op->call.retry = FF_RETRY_IDEMPOTENT;
  op->call.timeout = 0; /* large files take as long as they take; the stall timeout guards */
  op->call.max_body = (size_t)1 << 30;
  if (path && (e = open_tmp(op, path, ff_engine_rng(c->engine))) != 0) {
    ff_error_set(err, FF_E_IO, "cannot create %s: %s", path, strerror(e));
    op_free(c, op);
    return 0;
  }
  op->call.file = op->file;
  if (ff_call_set(&op->call, "GET", url, NULL, 0, NULL) != 0) {
    op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a download");
    return 0;
  }
  return call_start(c, op, err);
}

int ff_client_cancel(ff_client *c, uint64_t handle) {
  ff_op *op = lookup(c, handle);
  ff_event *ev;
  if (op == NULL || op->finished) return 0;
  if (op->kind == OP_JOB) return ff_job_cancel(op->job);
  /* A request or download stops here and now. */
  ff_call_abort(&op->call);
  op_close_file(op);
  op->finished = 1;
  ev = ff_event_new(FF_EV_ERROR, handle);
  if (ev) {
    ff_error_set(&ev->err, FF_E_CANCELED, "cancelled");
    emit(&c->ctx, ev);
  }
  release(&c->ctx, handle);
  return 1;
}

void ff_client_step(ff_client *c, double max_wait) {
  double end = ff_now() + max_wait;
  for (;;) {
    double left = end - ff_now();
    ff_engine_step(c->engine, left > 0 ? left : 0);
    reap(c);
    if (c->head || left <= 0 || ff_engine_idle(c->engine)) break;
  }
}

ff_event *ff_client_event(ff_client *c) {
  ff_event *ev = c->head;
  if (ev) {
    c->head = ev->next;
    if (c->head == NULL) c->tail = NULL;
    ev->next = NULL;
  }
  return ev;
}

/*
** Exact: the engine's next deadline (a poll, a backoff, a rate-limit window,
** libcurl's own timeouts), 0 while events wait, -1 only when nothing at all
** is pending. Every transfer carries a libcurl timer (its timeout or stall
** check), so "pending without a deadline" is not reached; should it be, the
** host is told to look again in a second rather than to sleep for good.
*/
double ff_client_timeout(ff_client *c) {
  double t;
  if (c->head || c->nreap) return 0;
  t = ff_engine_timeout(c->engine);
  if (t < 0 && (c->active > 0 || !ff_engine_idle(c->engine))) t = 1.0;
  /*
  ** A host that does not hold the descriptor cannot hear a socket: while a
  ** request is in flight its answer may come at any moment, so such a host
  ** is asked back within FF_INFLIGHT_WAIT. One that took pollfd() waits on
  ** the sockets and gets the next deadline alone.
  */
  if (!c->pollfd_taken && ff_engine_running(c->engine) && (t < 0 || t > FF_INFLIGHT_WAIT))
    t = FF_INFLIGHT_WAIT;
  return t;
}

int ff_client_pollfd(ff_client *c) {
  int fd = ff_engine_pollfd(c->engine);
  if (fd >= 0) c->pollfd_taken = 1;
  return fd;
}

void ff_client_stats(ff_client *c, ff_stats *st) {
  st->requests = ff_engine_requests(c->engine);
  st->retries = ff_engine_retries(c->engine);
  st->token_fetches = c->auth.fetches;
  st->active = c->active;
}

#define _POSIX_C_SOURCE 200809L
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "commit.h"
#include "hosts.h"
#include "clock.h"
#include "files.h"
#include "job.h"

#define FF_SLOT_BITS 24 /* a handle is (generation << 24) | slot */
#define FF_INFLIGHT_WAIT 0.01 /* seconds: how soon a host without the descriptor looks at sockets */

typedef enum { OP_JOB, OP_REQUEST, OP_DOWNLOAD, OP_WORK } ff_opkind;

typedef struct ff_op {
  ff_opkind kind;
  uint64_t handle;
  ff_client *client;
  ff_job *job;       /* OP_JOB */
  ff_call call;      /* OP_REQUEST, OP_DOWNLOAD */
  char *path;        /* OP_DOWNLOAD to a file: the final name ... */
  char *tmp;         /* ... and the temporary one written first */
  FILE *file;
  FILE *source;      /* an upload's file, read as the socket takes it */
  long long source_size, reported; /* its size, and the bytes sent last said (FF_EV_SENT) */
  char *stamp;       /* an upload's file as hashed (src/files.h): it must still be that file ... */
  char *source_path; /* ... at this name */
  ff_commit *work;   /* OP_WORK: its copy or hash, on the worker (src/commit.h); borrowed */
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
  ff_origin api_origin; /* api_url's, read once: every request's credential check compares with it */
  ff_slot *slots;
  uint32_t nslots, capslots, free_head;
  unsigned long active;
  ff_event *head, *tail;
  uint64_t *reap;     /* operations released during a step, freed after it */
  int pollfd_taken;   /* a host waits on the descriptor: timeout() need not cover sockets */
  unsigned long uploads; /* operations with a source file still open: their progress is reported */
  size_t nreap, capreap;
  size_t max_download;
  double min_download_rate, rate_grace;
  int plain_http_downloads;
  ff_committer *commits; /* finished downloads being made durable (src/commit.h), made on first need */
  char **cleaned;     /* folders whose stale temporaries were removed already */
  size_t ncleaned, capcleaned;
  ff_timer alarm;     /* a waiter's own deadline (ff_client_alarm): the descriptor turns readable then */
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
  if (op->source) {
    fclose(op->source);
    op->source = NULL;
    op->client->uploads--;
  }
}

static void op_free(ff_client *c, ff_op *op) {
  uint32_t i = (uint32_t)(op->handle & ((1u << FF_SLOT_BITS) - 1)) - 1;
  c->slots[i].op = NULL;
  c->slots[i].next_free = c->free_head;
  c->free_head = i + 1;
  c->active--;
  if (op->kind == OP_JOB) {
    ff_job_free(op->job);
  } else if (op->kind == OP_WORK) {
    /* released only once its work came back, or canceled (op->work NULL), or the client is going */
  } else {
    ff_call_free(&op->call);
    op_close_file(op);
  }
  free(op->path);
  free(op->tmp);
  free(op->stamp);
  free(op->source_path);
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

/* Nothing to do when it fires: being due is what wakes a host (its timeout 0, the descriptor readable). */
static void alarm_fire(ff_timer *t) { (void)t; }

void ff_client_alarm(ff_client *c, double seconds) {
  if (seconds < 0) ff_timer_stop(c->engine, &c->alarm);
  else ff_timer_start(c->engine, &c->alarm, ff_now() + seconds);
}

ff_client *ff_client_new(const ff_config *cfg, ff_decoder *dec, ff_error *err) {
  ff_engine_config ec;
  ff_client *c;
  /* Secrets never cross a network in clear text: plain http is for the emulator on this machine. */
  if (cfg->api_url && !ff_url_private(cfg->api_url)) {
    ff_error_set(err, FF_E_VALIDATION, "api_url must be an https URL (plain http only to a loopback address)");
    return NULL;
  }
  if (cfg->api_hosts) {
    const char *entry;
    size_t len;
    const char *why = ff_api_hosts_invalid(cfg->api_hosts, &entry, &len);
    if (why) {
      ff_error_set(err, FF_E_VALIDATION, "api_hosts entry '%.*s': %s", (int)(len < 200 ? len : 200), entry, why);
      return NULL;
    }
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
  c->ctx.api_origin = c->api_url && ff_url_origin(c->api_url, &c->api_origin) == 0 ? &c->api_origin : NULL;
  c->ctx.api_hosts = c->api_hosts;
  c->ctx.request_timeout = cfg->request_timeout;
  c->ctx.poll_first = cfg->poll_first;
  c->ctx.poll_max = cfg->poll_max;
  c->ctx.debug = cfg->debug;
  c->ctx.retry_unknown_outcome = cfg->retry_unknown_outcome;
  c->ctx.emit = emit;
  c->ctx.release = release;
  c->max_download = cfg->max_download >= 1 && cfg->max_download < (double)SIZE_MAX ? (size_t)cfg->max_download
                                                                                  : (size_t)1 << 30;
  c->min_download_rate = cfg->min_download_rate > 0 ? cfg->min_download_rate : 0;
  c->rate_grace = cfg->stall_timeout > 0 ? cfg->stall_timeout : 30;
  c->plain_http_downloads = cfg->plain_http_downloads;
  if (ff_timer_reserve(c->engine) != 0) goto nomem;
  c->alarm.fire = alarm_fire;
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
  if (c->commits) {
    ff_commit *cm;
    ff_committer_stop(c->commits); /* the files it holds are saved; their events go unheard */
    while ((cm = ff_committer_take(c->commits)) != NULL) {
      while (cm) {
        ff_commit *next = cm->next;
        ff_event_free(cm->ud);
        ff_commit_free(cm);
        cm = next;
      }
    }
  }
  for (i = 0; i < c->nslots; i++)
    if (c->slots[i].op) op_free(c, c->slots[i].op);
  while ((ev = ff_client_event(c)) != NULL) ff_event_free(ev);
  ff_ratelimit_free(&c->limit);
  ff_auth_free(&c->auth);
  ff_timer_release(c->engine, &c->alarm);
  ff_engine_free(c->engine);
  ff_committer_free(c->commits);
  for (i = 0; i < c->ncleaned; i++) free(c->cleaned[i]);
  free(c->cleaned);
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

/* A download's own failures, in the user's terms; others are left to ff_error_from_xfer. */
static void download_error(ff_op *op, ff_xfer *x, ff_error *e) {
  ff_client *c = op->client;
  if (x == NULL) return;
  if (x->write_errno) {
    ff_error_set(e, FF_E_IO, "cannot write %s: %s", op->path, strerror(x->write_errno));
  } else if (x->too_large || x->code == CURLE_FILESIZE_EXCEEDED) {
    ff_error_set(e, FF_E_TRANSPORT, "the download of %s is larger than max_download (%zu bytes); nothing was saved",
                 op->path, c->max_download);
  } else if (x->too_slow) {
    ff_error_set(e, FF_E_TIMEOUT, "the download of %s fell below min_download_rate (%.0f bytes/s); nothing was saved",
                 op->path, c->min_download_rate);
  } else {
    return;
  }
  e->attempts = x->attempts;
  ff_strlcpy(e->request_id, x->request_id, sizeof e->request_id);
}

/* A download's end: the commit failed (err), or its file is at its final name. */
static void committed(ff_client *c, uint64_t handle, ff_event *ev, const ff_error *err) {
  if (err) {
    ev->type = FF_EV_ERROR;
    ev->http_status = 0;
    free(ev->path);
    ev->path = NULL;
    ff_error_copy(&ev->err, err);
  }
  emit(&c->ctx, ev);
  release(&c->ctx, handle);
}

/* A copy's or hash's end, told by its event: it failed (cm->err), or here is its file or digest. */
static void work_done(ff_client *c, ff_commit *cm) {
  ff_op *op = lookup(c, cm->handle);
  ff_event *ev = cm->ud;
  if (op == NULL || op->work != cm) { /* canceled: its end was told then */
    ff_event_free(ev);
    return;
  }
  op->work = NULL;
  op->finished = 1;
  if (cm->failed) {
    ev->type = FF_EV_ERROR;
    ff_error_copy(&ev->err, &cm->err);
  } else if (cm->kind == FF_WORK_HASH) {
    if (ff_buf_appends(&ev->body, cm->digest) != 0) {
      ev->type = FF_EV_ERROR;
      ff_error_set(&ev->err, FF_E_NOMEM, "out of memory reading %s", cm->src_path);
    }
    ev->total = cm->size;
    ff_strlcpy(ev->stamp, cm->stamp, sizeof ev->stamp);
  } else {
    ev->path = cm->path;
    cm->path = NULL;
  }
  emit(&c->ctx, ev);
  release(&c->ctx, cm->handle);
}

/* The worker finished commits: their events go out now, from inside the step. */
static void commits_ready(void *ud) {
  ff_client *c = ud;
  ff_commit *cm = ff_committer_take(c->commits);
  while (cm) {
    ff_commit *next = cm->next;
    ff_engine_hold(c->engine, -1);
    if (cm->kind == FF_WORK_COMMIT)
      committed(c, cm->handle, cm->ud, cm->failed ? &cm->err : NULL);
    else
      work_done(c, cm);
    ff_commit_free(cm);
    cm = next;
  }
}

/* The client's worker, started on first need; -1 when none can be had. */
static int committer(ff_client *c) {
  if (c->commits) return 0;
  c->commits = ff_committer_new();
  if (c->commits == NULL) return -1;
  if (ff_engine_watch(c->engine, ff_committer_fd(c->commits), commits_ready, c) != 0) {
    ff_committer_free(c->commits);
    c->commits = NULL;
    return -1;
  }
  return 0;
}

/*
** Hands the finished file to the worker (src/commit.h); its event is emitted
** when the file has its final name. -1 (no worker, no memory): nothing was
** taken, the caller commits in place.
*/
static int commit_later(ff_client *c, ff_op *op, FILE *f, ff_event *ev) {
  ff_commit *cm;
  if (committer(c) != 0) return -1;
  cm = calloc(1, sizeof *cm);
  if (cm == NULL || (cm->path = ff_strdup(op->path)) == NULL) {
    free(cm);
    return -1;
  }
  ff_error_init(&cm->err);
  cm->file = f;
  cm->tmp = op->tmp;
  cm->handle = op->handle;
  cm->ud = ev;
  if (ff_committer_push(c->commits, cm) != 0) {
    cm->file = NULL;
    cm->tmp = NULL;
    ff_commit_free(cm);
    return -1;
  }
  op->tmp = NULL; /* the commit's now: renamed or removed there */
  ff_engine_hold(c->engine, 1);
  return 0;
}

static void call_done(ff_call *call, ff_xfer *x, ff_error *err) {
  ff_op *op = call->ud;
  ff_client *c = op->client;
  int ok = err == NULL && x->code == CURLE_OK && x->status >= 200 && x->status < 300;
  ff_event *ev = ff_event_new(ok ? FF_EV_DONE : FF_EV_ERROR, op->handle);
  FILE *f = ok ? op->file : NULL;
  op->finished = 1;
  if (op->source && op->stamp && ev) {
    /* Edited while it was sent: the server got neither the file hashed nor the new one. */
    struct stat st;
    char now[FF_STAMP_LEN];
    if (fstat(fileno(op->source), &st) != 0 || (ff_file_stamp(&st, now), strcmp(now, op->stamp) != 0)) {
      ok = 0;
      ev->type = FF_EV_ERROR;
      ff_error_set(&ev->err, FF_E_IO, "%s changed while it was being uploaded; its upload is not used",
                   op->source_path);
    }
  }
  if (op->source) op_close_file(op); /* an upload is over: its file is not read again */
  if (f) {
    op->file = NULL; /* the whole body is on disk before the file takes its final name */
  } else if (!ok) {
    op_close_file(op);
    if (ev && err == NULL && op->path) download_error(op, x, &ev->err);
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
      if (op->path) {
        ev->path = ff_strdup(op->path);
        memcpy(ev->head, x->head, x->nhead);
        memcpy(ev->tail, x->tail, x->ntail);
        ev->nhead = (unsigned)x->nhead;
        ev->ntail = (unsigned)x->ntail;
        ev->size = (long long)x->received;
        ev->ends = 1;
      }
    }
  }
  ff_xfer_free(x);
  if (f) {
    ff_error local;
    int bad;
    if (ev && commit_later(c, op, f, ev) == 0) return;
    ff_error_init(&local);
    bad = ff_file_commit(f, op->tmp, op->path, &local) != 0;
    free(op->tmp); /* renamed or removed: nothing of ours is left under that name */
    op->tmp = NULL;
    if (ev) {
      committed(c, op->handle, ev, bad ? &local : NULL);
    } else {
      release(&c->ctx, op->handle);
    }
    ff_error_free(&local);
    return;
  }
  if (ev) emit(&c->ctx, ev);
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
  op->call.retry_oversize = 1; /* JSON answers (a models page): past the cap is a fault, if idempotent */
  if (ff_call_set(&op->call, method, url, body, len, content_type) != 0) goto nomem;
  return call_start(c, op, err);
nomem:
  if (op) op_free(c, op);
  ff_error_set(err, FF_E_NOMEM, "out of memory starting a request");
  return 0;
}

uint64_t ff_client_upload(ff_client *c, const char *url, const char *path, const char *content_type,
                          const char *stamp, ff_error *err) {
  long long size = 0;
  FILE *f = ff_file_source(path, &size, err);
  ff_op *op;
  if (f == NULL) return 0;
  if (stamp) {
    struct stat st;
    char now[FF_STAMP_LEN];
    if (fstat(fileno(f), &st) != 0 || (ff_file_stamp(&st, now), strcmp(now, stamp) != 0)) {
      fclose(f);
      ff_error_set(err, FF_E_IO, "%s changed after it was read for this request; nothing was uploaded", path);
      return 0;
    }
  }
  op = op_new(c, OP_REQUEST);
  if (op == NULL) {
    fclose(f);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting an upload");
    return 0;
  }
  op->source = f;
  op->source_size = size;
  c->uploads++;
  if (stamp && ((op->stamp = ff_strdup(stamp)) == NULL || (op->source_path = ff_strdup(path)) == NULL)) {
    op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting an upload");
    return 0;
  }
  ff_call_init(&op->call, &c->ctx, call_done, op);
  op->call.retry = FF_RETRY_IDEMPOTENT; /* a repeated upload costs nothing but a second id */
  op->call.source = f;
  op->call.source_size = (curl_off_t)size;
  if (ff_call_set(&op->call, "POST", url, NULL, 0, content_type) != 0) {
    op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting an upload");
    return 0;
  }
  return call_start(c, op, err);
}

/* Each upload whose body went on since the last step says so, once per step. */
static void report_uploads(ff_client *c) {
  uint32_t i;
  for (i = 0; i < c->nslots && c->uploads > 0; i++) {
    ff_op *op = c->slots[i].op;
    long long sent;
    ff_event *ev;
    if (op == NULL || op->source == NULL || op->finished) continue;
    sent = (long long)ff_call_sent(&op->call);
    if (sent <= op->reported || (ev = ff_event_new(FF_EV_SENT, op->handle)) == NULL) continue;
    op->reported = sent;
    ev->sent = sent;
    ev->total = op->source_size;
    emit(&c->ctx, ev);
  }
}

/*
** Output URLs come from the server's JSON: only an https URL that parses is
** fetched (http where the user's API is plain HTTP itself, as the emulator's).
*/
static int url_fetchable(ff_client *c, const char *url, ff_error *err) {
  ff_origin o;
  CURLU *u;
  char *scheme = NULL, *host = NULL;
  int ok;
  /* The common URL is read without a parse (src/hosts.c); the rest goes to libcurl below. */
  if (ff_url_origin(url, &o) == 0 && (strcmp(o.scheme, "https") == 0 || c->plain_http_downloads)) return 0;
  u = curl_url();
  ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
           curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] &&
           (strcmp(scheme, "https") == 0 || (c->plain_http_downloads && strcmp(scheme, "http") == 0));
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  if (!ok)
    ff_error_set(err, FF_E_HTTP, "refusing to fetch the output URL '%.200s': not an %s URL", url,
                 c->plain_http_downloads ? "http(s)" : "https");
  return ok ? 0 : -1;
}

/* Leftovers of killed runs go the first time this client saves into a folder. */
static void clean_once(ff_client *c, const char *path) {
  char *dir = ff_dirname(path);
  size_t i;
  if (dir == NULL) return;
  for (i = 0; i < c->ncleaned; i++) {
    if (strcmp(c->cleaned[i], dir) == 0) {
      free(dir);
      return;
    }
  }
  if (c->ncleaned == c->capcleaned) {
    size_t cap = c->capcleaned ? c->capcleaned * 2 : 8;
    char **l = realloc(c->cleaned, cap * sizeof *l);
    if (l == NULL) {
      free(dir);
      return;
    }
    c->cleaned = l;
    c->capcleaned = cap;
  }
  ff_files_clean(dir, FF_STALE_SECONDS);
  c->cleaned[c->ncleaned++] = dir;
}

static int prepare_save(ff_client *c, const char *path, ff_error *err) {
  if (ff_file_replaceable(path, err) != 0) return -1;
  clean_once(c, path);
  return 0;
}

int ff_client_copy(ff_client *c, const char *src, const char *path, ff_error *err) {
  if (prepare_save(c, path, err) != 0) return -1;
  return ff_file_copy(src, path, ff_engine_rng(c->engine), err);
}

/*
** An operation whose work is the worker's (src/commit.h): cm, with src open
** already, goes there with its event; without a worker it is done here.
*/
static uint64_t work_start(ff_client *c, ff_op *op, ff_commit *cm, ff_error *err) {
  ff_event *ev = ff_event_new(FF_EV_DONE, op->handle);
  if (ev == NULL) {
    ff_commit_free(cm);
    op_free(c, op);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a file operation");
    return 0;
  }
  cm->handle = op->handle;
  cm->ud = ev;
  op->work = cm;
  if (committer(c) == 0 && ff_committer_push(c->commits, cm) == 0) {
    ff_engine_hold(c->engine, 1);
  } else {
    ff_commit_run(cm);
    work_done(c, cm);
    ff_commit_free(cm);
  }
  return op->handle;
}

static ff_commit *work_new(ff_client *c, ff_work kind, const char *src, ff_op **op, ff_error *err) {
  ff_commit *cm = calloc(1, sizeof *cm);
  *op = cm ? op_new(c, OP_WORK) : NULL;
  if (*op == NULL) {
    free(cm);
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a file operation");
    return NULL;
  }
  ff_error_init(&cm->err);
  cm->kind = kind;
  if (ff_commit_open_src(cm, src, err) != 0) {
    ff_commit_free(cm);
    op_free(c, *op);
    return NULL;
  }
  return cm;
}

uint64_t ff_client_hash(ff_client *c, const char *path, ff_error *err) {
  ff_op *op;
  ff_commit *cm = work_new(c, FF_WORK_HASH, path, &op, err);
  return cm ? work_start(c, op, cm, err) : 0;
}

uint64_t ff_client_copy_start(ff_client *c, const char *src, const char *path, ff_error *err) {
  ff_op *op;
  ff_commit *cm;
  if (prepare_save(c, path, err) != 0 || (cm = work_new(c, FF_WORK_COPY, src, &op, err)) == NULL) return 0;
  if ((cm->path = ff_strdup(path)) == NULL) {
    ff_error_set(err, FF_E_NOMEM, "out of memory saving %s", path);
  } else if ((cm->file = ff_file_tmp(path, ff_engine_rng(c->engine), &cm->tmp, err)) != NULL) {
    return work_start(c, op, cm, err);
  }
  ff_commit_free(cm);
  op_free(c, op);
  return 0;
}

uint64_t ff_client_download(ff_client *c, const char *url, const char *path, ff_error *err) {
  ff_op *op;
  if (url_fetchable(c, url, err) != 0 || (path && prepare_save(c, path, err) != 0)) return 0;
  op = op_new(c, OP_DOWNLOAD);
  if (op == NULL) {
    ff_error_set(err, FF_E_NOMEM, "out of memory starting a download");
    return 0;
  }
  ff_call_init(&op->call, &c->ctx, call_done, op);
  op->call.auth = 0; /* presigned URLs: no credential ever goes to an output host */
  op->call.follow_redirects = 1;
  op->call.https_only = !c->plain_http_downloads;
  op->call.retry = FF_RETRY_IDEMPOTENT;
  op->call.timeout = 0; /* large files take as long as they take; min_download_rate bounds them */
  op->call.max_body = c->max_download;
  op->call.min_rate = c->min_download_rate;
  op->call.rate_grace = c->rate_grace;
  if (path) {
    if ((op->path = ff_strdup(path)) == NULL) {
      op_free(c, op);
      ff_error_set(err, FF_E_NOMEM, "out of memory starting a download");
      return 0;
    }
    if ((op->file = ff_file_tmp(path, ff_engine_rng(c->engine), &op->tmp, err)) == NULL) {
      op_free(c, op);
      return 0;
    }
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
  /* A request or download stops here and now; a copy or hash as soon as the worker looks. */
  if (op->kind == OP_WORK) {
    atomic_store(&op->work->canceled, 1);
    op->work = NULL;
  } else {
    ff_call_abort(&op->call);
    op_close_file(op);
  }
  op->finished = 1;
  ev = ff_event_new(FF_EV_ERROR, handle);
  if (ev) {
    ff_error_set(&ev->err, FF_E_CANCELED, "cancelled");
    emit(&c->ctx, ev);
  }
  release(&c->ctx, handle);
  return 1;
}

int ff_client_progress(ff_client *c, uint64_t handle, double *got, double *total) {
  ff_op *op = lookup(c, handle);
  ff_xfer *x;
  curl_off_t len = -1;
  if (op == NULL || op->finished || op->kind == OP_JOB) return 0;
  if (op->kind == OP_WORK) { /* a copy's or hash's bytes read, as the worker counts them */
    *got = (double)atomic_load(&op->work->done_bytes);
    *total = (double)op->work->size;
    return 1;
  }
  if ((x = op->call.x) == NULL || !x->running) return 0;
  /* A body streamed to a file counts what reached it; one kept in memory, its buffer. */
  *got = (double)(x->file ? x->received : x->response.len);
  if (curl_easy_getinfo(x->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len) != CURLE_OK) len = -1;
  *total = len >= 0 ? (double)len : -1;
  return 1;
}

void ff_client_step(ff_client *c, double max_wait) {
  double end = ff_now() + max_wait;
  for (;;) {
    double left = end - ff_now();
    if (ff_auth_woken(&c->auth)) {
      ff_auth_step(&c->auth); /* requests a new token woke, a few a step (src/auth.h) */
      left = 0;
    }
    ff_engine_step(c->engine, left > 0 ? left : 0);
    if (c->uploads > 0) report_uploads(c);
    reap(c);
    if (c->head || left <= 0 || ff_engine_idle(c->engine)) break;
  }
}

size_t ff_client_queued(const ff_client *c) {
  size_t n = 0;
  const ff_event *ev;
  for (ev = c->head; ev != NULL; ev = ev->next) n++;
  return n;
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
static double deadline(ff_client *c) {
  double t;
  /* A commit the worker finished is an event waiting to be taken. */
  if (c->head || c->nreap || ff_auth_woken(&c->auth) || (c->commits && ff_committer_ready(c->commits))) return 0;
  t = ff_engine_timeout(c->engine);
  if (t < 0 && (c->active > 0 || !ff_engine_idle(c->engine))) t = 1.0;
  return t;
}

double ff_client_timeout(ff_client *c) {
  double t = deadline(c);
  /*
  ** A host that does not hold the descriptor cannot hear a socket: while a
  ** request is in flight its answer may come at any moment, so such a host
  ** is asked back within FF_INFLIGHT_WAIT; so is one while a download's file
  ** is being committed (src/commit.h). One that took pollfd() waits on the
  ** sockets and the committer's pipe, and gets the next deadline alone.
  */
  if (!c->pollfd_taken && (ff_engine_running(c->engine) || (c->commits && ff_committer_pending(c->commits))) &&
      (t < 0 || t > FF_INFLIGHT_WAIT))
    t = FF_INFLIGHT_WAIT;
  return t;
}

/*
** One poll(2) over every client's descriptors (their epoll sets, or each
** socket where there is no epoll), up to the nearest of their deadlines or
** max_wait: the caller then steps the ready ones, and a client with nothing
** to do is not stepped. A client with nothing pending at all is ready at
** once (its step tells its owner so). poll(2) waits on the sockets, so no
** host cap applies to the deadlines here.
*/
int ff_clients_wait(ff_client *const *cs, size_t n, double max_wait, int *ready) {
  size_t i, k, total = 0;
  struct pollfd *fds;
  size_t *owner;
  double wait = max_wait;
  int nready = 0;
  for (i = 0; i < n; i++) {
    double t = deadline(cs[i]);
    ready[i] = t <= 0;
    if (ready[i]) nready++;
    else if (t < wait) wait = t;
    total += ff_engine_fds(cs[i]->engine, NULL);
  }
  if (nready > 0) return nready;
  fds = malloc((total + 1) * sizeof *fds);
  owner = malloc((total + 1) * sizeof *owner);
  if (fds == NULL || owner == NULL) {
    free(fds);
    free(owner);
    return -1;
  }
  for (i = 0, k = 0; i < n; i++) {
    size_t m = ff_engine_fds(cs[i]->engine, fds + k), j;
    for (j = 0; j < m; j++) owner[k + j] = i;
    k += m;
  }
  /* EINTR (a signal, Ctrl-C) ends the wait early: the caller looks and comes back. */
  if (poll(fds, (nfds_t)total, (int)(ff_ms_of(wait) > 3600000 ? 3600000 : ff_ms_of(wait))) > 0) {
    for (k = 0; k < total; k++)
      if (fds[k].revents) ready[owner[k]] = 1;
  }
  free(fds);
  free(owner);
  for (i = 0; i < n; i++) {
    if (!ready[i] && deadline(cs[i]) <= 0) ready[i] = 1; /* its timer came due */
    nready += ready[i];
  }
  return nready;
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

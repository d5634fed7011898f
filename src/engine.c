#define _POSIX_C_SOURCE 200809L
#include "engine.h"

#include <math.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include "clock.h"
#include "headers.h"
#include "poller.h"

#define FF_ERRBODY_CAP (64 * 1024) /* a non-2xx body beside a file sink */
#define FF_READ_CHUNK (64 * 1024)  /* the most of a source file read in one go, inside one step */

/*
** An easy handle keeps its options from one transfer to the next, as a
** client reusing handles by hand does (no curl_easy_reset, whose defaults
** would then all be set again): what is the same for every transfer of the
** engine is set once when the handle is made, what differs between transfers
** is remembered here and set only when it changes (setup).
*/
typedef struct ff_easy {
  CURL *h;
  int mode;               /* EASY_GET, EASY_FIELDS, EASY_SOURCE; -1 before the first transfer */
  const char *custom;     /* the CUSTOMREQUEST set (a static method name), NULL for none */
  int protocols;          /* PROTOCOLS_STR: 0 libcurl's default, 1 http and https, 2 https */
  int follow;             /* FOLLOWLOCATION: 0 off, else REDIR_PROTOCOLS_STR as in protocols */
  int fresh;              /* FRESH_CONNECT */
  int progress;           /* NOPROGRESS off, the xferinfo callback on */
  long timeout_ms;        /* TIMEOUT_MS, 0 for none */
  curl_off_t max_file;    /* MAXFILESIZE_LARGE, 0 for none */
} ff_easy;

enum { EASY_GET, EASY_FIELDS, EASY_SOURCE };

/*
** A first-in-first-out line of transfers, linked through ff_xfer.in_line: the
** start queue (before a transfer is on the wire) and the paused list (while it
** is), so a transfer stands in at most one line at a time.
*/
typedef struct { ff_xfer *head, *tail; } ff_fifo;

static void fifo_push(ff_fifo *q, ff_xfer *x) {
  x->in_line = NULL;
  if (q->tail) q->tail->in_line = x; else q->head = x;
  q->tail = x;
}

static ff_xfer *fifo_pop(ff_fifo *q) {
  ff_xfer *x = q->head;
  q->head = x->in_line;
  if (q->head == NULL) q->tail = NULL;
  x->in_line = NULL;
  return x;
}

/* Takes x out wherever it stands, a transfer cancelled or retried while waiting. */
static void fifo_remove(ff_fifo *q, ff_xfer *x) {
  ff_xfer **p = &q->head, *prev = NULL;
  while (*p != NULL && *p != x) {
    prev = *p;
    p = &(*p)->in_line;
  }
  if (*p == NULL) return;
  *p = x->in_line;
  if (q->tail == x) q->tail = prev;
  x->in_line = NULL;
}

struct ff_engine {
  /*
  ** "User-Agent: ..." as a header line of every transfer, and of a proxy's
  ** CONNECT: libcurl formats CURLOPT_USERAGENT into a line anew for every
  ** transfer, byte by byte, and then copies it into the request the same way.
  */
  char *ua_line;
  struct curl_slist ua_proxy;
  CURLM *multi;
  ff_poller *poller; /* libcurl's sockets and our next deadline, for hosts to wait on */
  double curl_when;  /* libcurl's own timer (monotonic), -1 when it has none */
  int curl_running;
  ff_engine_config cfg;
  ff_timer **heap;
  size_t nheap, capheap, reserved;
  struct ff_easy **pool; /* easy handles kept for reuse, configured */
  size_t npool, cappool;
  int running; /* transfers on the multi handle */
  ff_fifo queue; /* started, waiting for their turn onto it */
  int watch_fd; /* ff_engine_watch's descriptor, -1 for none */
  void (*watch_ready)(void *ud);
  void *watch_ud;
  int held;     /* ff_engine_hold */
  int backlog;  /* ready sockets or finished transfers left for the next step */
  int ndone;    /* finished transfers handed on in this step */
  int nfired;   /* timers fired in this step */
  size_t nbytes; /* body bytes taken in this step (FF_BYTES_PER_STEP) */
  ff_fifo paused; /* paused by that budget, oldest first */
  unsigned long requests;
  unsigned long retries;
  ff_rng rng;
};

/* ---- timers: a binary min-heap of pointers, each timer knowing its slot ---- */

static void heap_set(ff_engine *e, size_t i, ff_timer *t) {
  e->heap[i] = t;
  t->slot = i + 1;
}

static void heap_up(ff_engine *e, size_t i) {
  ff_timer *t = e->heap[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (e->heap[parent]->when <= t->when) break;
    heap_set(e, i, e->heap[parent]);
    i = parent;
  }
  heap_set(e, i, t);
}

static void heap_down(ff_engine *e, size_t i) {
  ff_timer *t = e->heap[i];
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= e->nheap) break;
    if (child + 1 < e->nheap && e->heap[child + 1]->when < e->heap[child]->when) child++;
    if (t->when <= e->heap[child]->when) break;
    heap_set(e, i, e->heap[child]);
    i = child;
  }
  heap_set(e, i, t);
}

void ff_timer_stop(ff_engine *e, ff_timer *t) {
  size_t i;
  if (t->slot == 0) return;
  i = t->slot - 1;
  t->slot = 0;
  e->nheap--;
  if (i == e->nheap) return;
  heap_set(e, i, e->heap[e->nheap]);
  heap_up(e, i);
  heap_down(e, e->heap[i]->slot - 1);
}

/*
** Room in the heap is reserved when a timer's owner is made, where running
** out of memory can still be reported; arming a timer then cannot fail, and
** so no job is ever left waiting on a timer that was never set.
*/
int ff_timer_reserve(ff_engine *e) {
  if (e->reserved == e->capheap) {
    size_t cap = e->capheap ? e->capheap * 2 : 64;
    ff_timer **heap = realloc(e->heap, cap * sizeof *heap);
    if (heap == NULL) return -1;
    e->heap = heap;
    e->capheap = cap;
  }
  e->reserved++;
  return 0;
}

void ff_timer_release(ff_engine *e, ff_timer *t) {
  ff_timer_stop(e, t);
  e->reserved--;
}

static void arm(ff_engine *e);

void ff_timer_start(ff_engine *e, ff_timer *t, double when) {
  ff_timer_stop(e, t);
  t->when = when;
  heap_set(e, e->nheap++, t);
  heap_up(e, e->nheap - 1);
  if (t->slot == 1) arm(e); /* the new earliest deadline: the host's descriptor must know */
}

/* Timers due fire, FF_TIMERS_PER_STEP a step at most: the next one is then due at once. */
static void run_timers(ff_engine *e) {
  double now = ff_now();
  while (e->nheap > 0 && e->heap[0]->when <= now && e->nfired < FF_TIMERS_PER_STEP) {
    ff_timer *t = e->heap[0];
    ff_timer_stop(e, t);
    e->nfired++;
    t->fire(t);
  }
}

/* ---- libcurl's socket interface (no Lua, no calls out: bookkeeping only) ---- */

/* The earliest deadline, ours or libcurl's; -1 when there is none. Queued starts are due now. */
static double next_deadline(ff_engine *e) {
  double next = e->nheap > 0 ? e->heap[0]->when : -1;
  if (e->queue.head != NULL || e->paused.head != NULL || e->backlog) return 0;
  if (e->curl_when >= 0 && (next < 0 || e->curl_when < next)) next = e->curl_when;
  return next;
}

/* The descriptor turns readable at the next deadline. */
static void arm(ff_engine *e) {
  ff_poller_arm(e->poller, next_deadline(e));
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *ud, void *socketp) {
  ff_engine *e = ud;
  int want = 0;
  (void)easy;
  (void)socketp;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) want |= FF_POLL_IN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) want |= FF_POLL_OUT;
  return ff_poller_watch(e->poller, (int)s, want) == 0 ? 0 : -1;
}

static int on_curl_timer(CURLM *multi, long ms, void *ud) {
  ff_engine *e = ud;
  (void)multi;
  e->curl_when = ms < 0 ? -1 : ff_now() + ms / 1000.0;
  arm(e);
  return 0;
}

static void on_ready(void *ud, int fd, int flags) {
  ff_engine *e = ud;
  int ev;
  if (fd == e->watch_fd) {
    e->watch_ready(e->watch_ud);
    return;
  }
  ev = ((flags & FF_READY_IN) ? CURL_CSELECT_IN : 0) | ((flags & FF_READY_OUT) ? CURL_CSELECT_OUT : 0) |
           ((flags & FF_READY_ERR) ? CURL_CSELECT_ERR : 0);
  curl_multi_socket_action(e->multi, (curl_socket_t)fd, ev, &e->curl_running);
}

/* libcurl's timer is due: let it run its timeouts (and start what was just added). */
static void curl_due(ff_engine *e) {
  if (e->curl_when >= 0 && e->curl_when <= ff_now()) {
    e->curl_when = -1;
    curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &e->curl_running);
  }
}

/* ---- the engine ---- */

ff_engine *ff_engine_new(const ff_engine_config *cfg) {
  ff_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return NULL;
  e->cfg = *cfg;
  /* The caller's strings may not outlive this call: keep our own copies. */
  e->cfg.ca_file = ff_strdup(cfg->ca_file);
  e->cfg.proxy = ff_strdup(cfg->proxy);
  e->cfg.user_agent = ff_strdup(cfg->user_agent);
  if (cfg->user_agent && cfg->user_agent[0]) { /* an empty one: no User-Agent at all, as libcurl sends none */
    size_t n = strlen(cfg->user_agent);
    if ((e->ua_line = malloc(n + 13)) != NULL) {
      memcpy(e->ua_line, "User-Agent: ", 12);
      memcpy(e->ua_line + 12, cfg->user_agent, n + 1);
      e->ua_proxy.data = e->ua_line;
    }
  }
  e->curl_when = -1;
  e->watch_fd = -1;
  e->multi = curl_multi_init();
  e->poller = ff_poller_new();
  if (e->multi == NULL || e->poller == NULL || (cfg->ca_file && !e->cfg.ca_file) ||
      (cfg->proxy && !e->cfg.proxy) || (cfg->user_agent && !e->cfg.user_agent) ||
      (cfg->user_agent && cfg->user_agent[0] && !e->ua_line)) {
    ff_engine_free(e);
    return NULL;
  }
  /* libcurl's socket interface: it says what to wait on, the engine (or the host) waits. */
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
  ff_rng_seed(&e->rng, (uint64_t)(ff_wall() * 1e6) ^ (uint64_t)(uintptr_t)e ^ (uint64_t)getpid());
  return e;
}

void ff_engine_free(ff_engine *e) {
  size_t i;
  if (e == NULL) return;
  for (i = 0; i < e->npool; i++) {
    curl_easy_cleanup(e->pool[i]->h);
    free(e->pool[i]);
  }
  free(e->pool);
  free(e->heap);
  if (e->multi) curl_multi_cleanup(e->multi);
  ff_poller_free(e->poller); /* after the cleanup, which still reports sockets gone */
  free((char *)e->cfg.ca_file);
  free((char *)e->cfg.proxy);
  free((char *)e->cfg.user_agent);
  free(e->ua_line);
  free(e);
}

int ff_engine_idle(ff_engine *e) {
  return e->running == 0 && e->nheap == 0 && e->queue.head == NULL && e->held == 0;
}

int ff_engine_watch(ff_engine *e, int fd, void (*ready)(void *ud), void *ud) {
  if (ff_poller_watch(e->poller, fd, FF_POLL_IN) != 0) return -1;
  e->watch_fd = fd;
  e->watch_ready = ready;
  e->watch_ud = ud;
  return 0;
}

void ff_engine_hold(ff_engine *e, int delta) {
  e->held += delta;
}

unsigned long ff_engine_requests(ff_engine *e) { return e->requests; }
unsigned long ff_engine_retries(ff_engine *e) { return e->retries; }
ff_rng *ff_engine_rng(ff_engine *e) { return &e->rng; }
const ff_engine_config *ff_engine_cfg(ff_engine *e) { return &e->cfg; }

int ff_engine_pollfd(ff_engine *e) { return ff_poller_fd(e->poller); }
int ff_engine_running(ff_engine *e) { return e->running; }
size_t ff_engine_fds(ff_engine *e, struct pollfd *out) { return ff_poller_fds(e->poller, out); }

double ff_engine_timeout(ff_engine *e) {
  double next = next_deadline(e), wait;
  if (next < 0) return -1;
  wait = next - ff_now();
  return wait > 0 ? wait : 0;
}

static void finish(ff_engine *e, ff_xfer *x);


/* Completions, delivered here and never from inside a libcurl callback. */
static void drain(ff_engine *e) {
  CURLMsg *msg;
  int left;
  if (e->ndone >= FF_DONE_PER_STEP) {
    e->backlog = 1; /* whatever finished since waits in libcurl's queue for the next step */
    return;
  }
  while ((msg = curl_multi_info_read(e->multi, &left)) != NULL) {
    ff_xfer *x = NULL;
    if (msg->msg != CURLMSG_DONE) continue;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    x->code = msg->data.result;
    finish(e, x);
    if (++e->ndone >= FF_DONE_PER_STEP) {
      e->backlog = left > 0 || e->backlog; /* a later drain of this step may not look again */
      break;
    }
  }
}

static int admit(ff_xfer *x);

/* Puts the next queued transfers on the wire; libcurl starts them at the curl_due that follows. */
static void admit_some(ff_engine *e) {
  int n;
  for (n = 0; n < FF_STARTS_PER_STEP && e->queue.head != NULL; n++) {
    ff_xfer *x = fifo_pop(&e->queue);
    x->queued = 0;
    if (admit(x) != 0) {
      x->code = CURLE_OUT_OF_MEMORY;
      x->done(x);
    }
  }
}

/*
** Transfers the last step paused go on, oldest first, while this step's budget
** lasts: curl_easy_pause hands the kept chunk to on_body at once (which may
** pause the transfer again, at the list's end), libcurl reads the rest at the
** curl_due that follows.
*/
static void unpause_some(ff_engine *e) {
  while (e->paused.head != NULL && e->nbytes < FF_BYTES_PER_STEP) {
    ff_xfer *x = fifo_pop(&e->paused);
    x->paused = 0;
    curl_easy_pause(x->easy, CURLPAUSE_CONT); /* an error here ends the transfer, which drain reports */
  }
}

void ff_engine_step(ff_engine *e, double max_wait) {
  double wait;
  long ms = 0;
  e->backlog = 0;
  e->ndone = e->nfired = 0;
  e->nbytes = 0;
  unpause_some(e);
  run_timers(e);
  admit_some(e);
  curl_due(e);
  drain(e);
  wait = ff_engine_timeout(e);
  if (wait < 0 || wait > max_wait) wait = max_wait;
  /* Sleeps on the same descriptor a host would: sockets and the next deadline, no busy loop. */
  if (wait > 0 && !ff_engine_idle(e)) {
    ms = ff_ms_of(wait);
    if (ms > 3600000) ms = 3600000;
  }
  if (ff_poller_wait(e->poller, (int)ms, FF_SOCKETS_PER_STEP, on_ready, e) >= FF_SOCKETS_PER_STEP) e->backlog = 1;
  curl_due(e);
  drain(e);
  run_timers(e);
  arm(e);
}

/* ---- transfers ---- */


static size_t on_body(char *p, size_t size, size_t n, void *ud);
static size_t on_header(char *p, size_t size, size_t n, void *ud);
static size_t on_read(char *p, size_t size, size_t n, void *ud);
static int on_seek(void *ud, curl_off_t offset, int origin);
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow);
static int on_socket(void *ud, curl_socket_t fd, curlsocktype purpose);

static ff_easy *easy_new(ff_engine *e) {
  const ff_engine_config *cfg = &e->cfg;
  ff_easy *eh = calloc(1, sizeof *eh);
  CURL *h;
  if (eh == NULL) return NULL;
  if ((h = eh->h = curl_easy_init()) == NULL) {
    free(eh);
    return NULL;
  }
  eh->mode = -1;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, on_socket);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  /* Called only for a body read from a file (EASY_SOURCE), and the progress callback only with NOPROGRESS off. */
  curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
  curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  /* No Accept-Encoding: outputs are compressed media already, JSON answers are small, and an
     uncompressed body cannot be a decompression bomb under the size caps. */
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L); /* only where FOLLOWLOCATION is on */
  if (cfg->connect_timeout > 0) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ff_ms_of(cfg->connect_timeout));
  if (cfg->stall_timeout > 0) {
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (ff_ms_of(cfg->stall_timeout) + 999) / 1000);
  }
  if (cfg->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file);
  if (cfg->proxy) curl_easy_setopt(h, CURLOPT_PROXY, cfg->proxy);
  if (e->ua_line) curl_easy_setopt(h, CURLOPT_PROXYHEADER, &e->ua_proxy); /* only a proxy's CONNECT reads it */
  return eh;
}

static ff_easy *easy_get(ff_engine *e) {
  if (e->npool > 0) return e->pool[--e->npool];
  return easy_new(e);
}

/*
** Handles go back to a pool: the connection cache lives in the multi handle.
** What pointed into the finished transfer is cleared, so an idle handle holds
** no pointer to freed memory.
*/
static void easy_put(ff_engine *e, ff_easy *eh) {
  CURL *h = eh->h;
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(h, CURLOPT_PRIVATE, NULL);
  if (eh->mode == EASY_FIELDS) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    eh->mode = -1;
  }
  if (e->npool == e->cappool) {
    size_t cap = e->cappool ? e->cappool * 2 : 16;
    ff_easy **pool = realloc(e->pool, cap * sizeof *pool);
    if (pool == NULL) {
      curl_easy_cleanup(h);
      free(eh);
      return;
    }
    e->pool = pool;
    e->cappool = cap;
  }
  e->pool[e->npool++] = eh;
}

static void detach(ff_xfer *x) {
  int paused = x->paused;
  if (x->queued) fifo_remove(&x->engine->queue, x);
  if (paused) fifo_remove(&x->engine->paused, x);
  x->queued = x->paused = 0;
  if (x->easy == NULL) return;
  if (x->running) {
    curl_multi_remove_handle(x->engine->multi, x->easy);
    x->engine->running--;
    x->running = 0;
  }
  if (paused) { /* ended while paused (a timeout, a cancel): libcurl may still hold its kept chunk */
    curl_easy_cleanup(x->easy);
    free(x->eh);
  } else {
    easy_put(x->engine, x->eh);
  }
  x->easy = NULL;
  x->eh = NULL;
}

ff_xfer *ff_xfer_new(ff_engine *e) {
  ff_xfer *x = calloc(1, sizeof *x);
  if (x == NULL) return NULL;
  if (ff_timer_reserve(e) != 0) {
    free(x);
    return NULL;
  }
  x->engine = e;
  x->method = "GET";
  x->max_retries = -1;
  x->max_body = 8u << 20;
  x->retry_after = -1;
  return x;
}

void ff_xfer_free(ff_xfer *x) {
  if (x == NULL) return;
  ff_timer_release(x->engine, &x->retry_timer);
  detach(x);
  if (x->secret) {
    /* The bearer token, the client secret, IMS's answer: not left in freed memory. */
    ff_buf_wipe(&x->hdr_lines);
    ff_buf_wipe(&x->body);
    ff_buf_wipe(&x->response);
  }
  ff_buf_free(&x->hdr_lines);
  ff_buf_free(&x->body);
  ff_buf_free(&x->response);
  free(x->url);
  free(x);
}

/*
** The lines live in one buffer and the list nodes in the transfer: no
** allocation per line. The buffer grows by copying and wiping, never by
** realloc, so no copy of a bearer token is left in a freed block.
*/
static int header_add(ff_xfer *x, const char *a, size_t na, const char *b, size_t nb) {
  ff_buf *l = &x->hdr_lines;
  unsigned i;
  if (x->nhdr == FF_XFER_HEADERS) return -1;
  if (l->len + na + nb + 1 > l->cap) {
    size_t cap = l->cap ? l->cap : 512;
    char *data;
    while (cap < l->len + na + nb + 1) cap *= 2;
    size_t len = l->len;
    if ((data = malloc(cap)) == NULL) return -1;
    if (len) memcpy(data, l->data, len);
    ff_buf_wipe(l);
    l->data = data;
    l->len = len;
    l->cap = cap;
  }
  x->hdr_off[x->nhdr++] = l->len;
  memcpy(l->data + l->len, a, na);
  memcpy(l->data + l->len + na, b, nb);
  l->len += na + nb;
  l->data[l->len++] = '\0';
  for (i = 0; i < x->nhdr; i++) { /* the buffer may have moved */
    x->hdr_nodes[i].data = l->data + x->hdr_off[i];
    x->hdr_nodes[i].next = i + 1 < x->nhdr ? &x->hdr_nodes[i + 1] : NULL;
  }
  x->headers = &x->hdr_nodes[0];
  return 0;
}

int ff_xfer_header_pair(ff_xfer *x, const char *name, const char *value) {
  return header_add(x, name, strlen(name), value, strlen(value));
}

int ff_xfer_header(ff_xfer *x, const char *fmt, ...) {
  char line[4096];
  va_list ap;
  int n, rc;
  if (strchr(fmt, '%') == NULL) return header_add(x, fmt, strlen(fmt), "", 0); /* a fixed line ("Expect:") */
  va_start(ap, fmt);
  n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof line) {
    ff_wipe(line, sizeof line);
    return -1;
  }
  rc = header_add(x, line, (size_t)n, "", 0);
  ff_wipe(line, (size_t)n); /* it may have been "Authorization: Bearer ..." */
  return rc;
}

static int is_2xx(long s) { return s >= 200 && s < 300; }

/* The file's first sizeof head bytes and, after each write, its last sizeof tail. */
static void keep_ends(ff_xfer *x, const char *p, size_t n) {
  size_t take = n < sizeof x->head - x->nhead ? n : sizeof x->head - x->nhead;
  memcpy(x->head + x->nhead, p, take);
  x->nhead += take;
  if (n >= sizeof x->tail) {
    memcpy(x->tail, p + n - sizeof x->tail, sizeof x->tail);
    x->ntail = sizeof x->tail;
  } else if (n > 0) {
    size_t keep = x->ntail + n <= sizeof x->tail ? x->ntail : sizeof x->tail - n;
    memmove(x->tail, x->tail + x->ntail - keep, keep);
    memcpy(x->tail + keep, p, n);
    x->ntail = keep + n;
  }
}

/* Paused by the step's byte budget: out of libcurl's sight until the next step unpauses it. */
static void pause_add(ff_xfer *x) {
  x->paused = 1;
  fifo_push(&x->engine->paused, x);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  ff_xfer *x = ud;
  size_t len = size * n;
  if (x->engine->nbytes >= FF_BYTES_PER_STEP) {
    pause_add(x);
    return CURL_WRITEFUNC_PAUSE; /* libcurl keeps these len bytes for the unpause */
  }
  x->engine->nbytes += len;
  if (x->file != NULL && is_2xx(x->status)) {
    size_t w;
    if (x->received + len > x->max_body) {
      x->too_large = 1;
      return 0;
    }
    errno = 0;
    w = fwrite(p, 1, len, x->file);
    x->received += w;
    keep_ends(x, p, w);
    if (w != len) x->write_errno = errno ? errno : EIO; /* a full disk: the caller hears ENOSPC, not "transport" */
    return w;
  }
  if (x->response.len + len > (x->file ? FF_ERRBODY_CAP : x->max_body)) {
    x->too_large = 1; /* returning short makes curl stop with CURLE_WRITE_ERROR */
    return 0;
  }
  return ff_buf_append(&x->response, p, len) ? 0 : len;
}

/*
** A body must keep up an average of min_rate once rate_grace has passed: a
** file of n bytes then ends by rate_grace + n / min_rate, however slowly a
** server trickles it (the stall timeout alone never fires at 1 byte a second).
*/
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  ff_xfer *x = ud;
  double late = ff_now() - x->started - x->rate_grace;
  (void)dltotal;
  (void)ultotal;
  (void)ulnow;
  if (late > 0 && (double)dlnow < late * x->min_rate) {
    x->too_slow = 1;
    return 1;
  }
  return 0;
}

/*
** An upload's body, from its file as the socket takes it: at most one chunk
** per call, so a step never reads a whole file. A read error aborts the
** transfer; a file that shrank since its size was taken ends it short, and
** libcurl reports that as an error too.
*/
static size_t on_read(char *p, size_t size, size_t n, void *ud) {
  ff_xfer *x = ud;
  size_t len = size * n, got;
  if (x->source == NULL) return 0; /* a handle set up for an upload before: nothing to send now */
  if (len > FF_READ_CHUNK) len = FF_READ_CHUNK;
  got = fread(p, 1, len, x->source);
  if (got == 0 && ferror(x->source)) return CURL_READFUNC_ABORT;
  return got;
}

static int on_seek(void *ud, curl_off_t offset, int origin) {
  ff_xfer *x = ud;
  if (x->source == NULL) return CURL_SEEKFUNC_CANTSEEK;
  clearerr(x->source);
  return fseeko(x->source, (off_t)offset, origin) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_CANTSEEK;
}

curl_off_t ff_xfer_sent(ff_xfer *x) {
  curl_off_t sent = 0;
  if (x->easy == NULL || !x->running) return 0;
  if (curl_easy_getinfo(x->easy, CURLINFO_SIZE_UPLOAD_T, &sent) != CURLE_OK) return 0;
  return sent;
}

/* Keeps the few response headers the protocol layer needs; C only, no Lua. */
static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  ff_xfer *x = ud;
  size_t len = size * n;
  char value[sizeof x->request_id];
  switch (ff_header_parse(p, len, &x->status, value, sizeof value)) {
    case FF_HDR_STATUS:
      /* A new response (after a redirect or a 100): forget the last one's headers. */
      x->content_type[0] = x->retry_after_raw[0] = '\0';
      ff_strlcpy(x->request_id, x->sent_request_id, sizeof x->request_id);
      break;
    case FF_HDR_REQUEST_ID: ff_strlcpy(x->request_id, value, sizeof x->request_id); break;
    case FF_HDR_CONTENT_TYPE: ff_strlcpy(x->content_type, value, sizeof x->content_type); break;
    case FF_HDR_RETRY_AFTER: ff_strlcpy(x->retry_after_raw, value, sizeof x->retry_after_raw); break;
    default: break;
  }
  return len;
}

/*
** Connections must not leak into processes the host spawns (os.execute,
** io.popen): a child holding our socket keeps a closed connection half-open.
*/
static int on_socket(void *ud, curl_socket_t fd, curlsocktype purpose) {
  (void)ud;
  (void)purpose;
  fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC);
  return CURL_SOCKOPT_OK;
}

static int reset_sinks(ff_xfer *x) {
  ff_buf_reset(&x->response);
  x->status = 0;
  x->too_large = x->too_slow = x->write_errno = 0;
  x->received = 0;
  x->nhead = x->ntail = 0;
  x->sent = 0;
  x->retry_after = -1;
  x->content_type[0] = x->retry_after_raw[0] = x->errbuf[0] = '\0';
  ff_strlcpy(x->request_id, x->sent_request_id, sizeof x->request_id);
  if (x->file != NULL) {
    if (fflush(x->file) != 0 || ftruncate(fileno(x->file), 0) != 0) return -1;
    rewind(x->file);
  }
  if (x->source != NULL) {
    clearerr(x->source);
    if (fseeko(x->source, 0, SEEK_SET) != 0) return -1;
  }
  return 0;
}

/* The options of this transfer: per-transfer pointers always, the rest only where they change. */
static void setup(ff_xfer *x) {
  ff_easy *eh = x->eh;
  CURL *h = eh->h;
  int mode = strcmp(x->method, "GET") == 0 ? EASY_GET : x->source != NULL ? EASY_SOURCE : EASY_FIELDS;
  const char *custom = mode == EASY_FIELDS && strcmp(x->method, "POST") != 0 ? x->method : NULL;
  int protocols = x->https_only ? 2 : 1;
  int follow = x->follow_redirects ? protocols : 0;
  /*
  ** libcurl silently resends a request whose reused connection closed before
  ** any answer: harmless for a GET, a second job for a submit that was in fact
  ** accepted. What may not be resent goes on a connection of its own.
  */
  int fresh = x->retry != FF_RETRY_IDEMPOTENT;
  int progress = x->min_rate > 0;
  long timeout_ms = x->timeout > 0 ? ff_ms_of(x->timeout) : 0;
  curl_off_t max_file = x->file ? (curl_off_t)x->max_body : 0;
  curl_easy_setopt(h, CURLOPT_URL, x->url);
  curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)x);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->errbuf);
  /* Every callback's data is this transfer, even one its mode does not call: none is left pointing at a freed one. */
  curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(h, CURLOPT_READDATA, x);
  curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
  if (x->engine->ua_line) {
    x->ua_node.data = x->engine->ua_line;
    x->ua_node.next = x->headers;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, &x->ua_node);
  } else {
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
  }
  if (protocols != eh->protocols) {
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols == 2 ? "https" : "http,https");
    eh->protocols = protocols;
  }
  if (mode == EASY_GET) {
    if (eh->mode != EASY_GET) curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (mode == EASY_SOURCE) {
    /* A POST whose body libcurl pulls from the file, a chunk at a time. */
    if (eh->mode != EASY_SOURCE) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
      curl_easy_setopt(h, CURLOPT_POST, 1L);
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, x->source_size);
  } else {
    /* POSTFIELDS with an explicit size also serves PUT with an empty body. */
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, x->body.data ? x->body.data : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body.len);
  }
  eh->mode = mode;
  if (custom != eh->custom) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom);
    eh->custom = custom;
  }
  if (fresh != eh->fresh) {
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, (long)fresh);
    eh->fresh = fresh;
  }
  if (follow != eh->follow) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L);
    if (follow) curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, follow == 2 ? "https" : "http,https");
    eh->follow = follow;
  }
  if (timeout_ms != eh->timeout_ms) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    eh->timeout_ms = timeout_ms;
  }
  if (max_file != eh->max_file) {
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, max_file);
    eh->max_file = max_file;
  }
  if (progress != eh->progress) {
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, progress ? 0L : 1L);
    eh->progress = progress;
  }
}

/* Onto the wire: the transfer's clock (timeouts, min_rate) starts here. */
static int admit(ff_xfer *x) {
  ff_engine *e = x->engine;
  x->eh = easy_get(e); /* here, not in attempt: a new handle costs libcurl ~2 us of zeroing */
  if (x->eh == NULL) return -1;
  x->easy = x->eh->h;
  setup(x);
  if (curl_multi_add_handle(e->multi, x->easy) != CURLM_OK) return -1;
  x->running = 1;
  x->started = ff_now();
  e->running++;
  return 0;
}

/* An attempt waits in the queue for ff_engine_step to admit it (FF_STARTS_PER_STEP). */
static int attempt(ff_xfer *x) {
  ff_engine *e = x->engine;
  if (reset_sinks(x) != 0) {
    snprintf(x->errbuf, sizeof x->errbuf, "cannot rewind the %s file", x->file ? "output" : "upload's");
    return -1;
  }
  x->attempts++;
  e->requests++;
  x->queued = 1;
  fifo_push(&e->queue, x);
  arm(e); /* due now: the host's descriptor turns readable */
  return 0;
}

int ff_xfer_start(ff_xfer *x) {
  x->attempts = 0;
  return attempt(x);
}

static void retry_fire(ff_timer *t) {
  ff_xfer *x = (ff_xfer *)((char *)t - offsetof(ff_xfer, retry_timer));
  if (attempt(x) != 0) {
    x->code = CURLE_OUT_OF_MEMORY;
    x->done(x);
  }
}

/* Nothing can have reached the server: safe to resend even a submit. */
static int never_sent(CURLcode code) {
  return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY ||
         code == CURLE_COULDNT_CONNECT;
}

static int should_retry(ff_xfer *x) {
  if (x->retry == FF_RETRY_NEVER) return 0;
  if (x->code != CURLE_OK) {
    /* A status or token answer is a few hundred bytes: one past the cap was broken on the way. */
    if (x->too_large && x->retry_oversize && x->retry == FF_RETRY_IDEMPOTENT && x->file == NULL) return 1;
    if (x->too_large || x->write_errno || x->code == CURLE_FILESIZE_EXCEEDED ||
        (x->code == CURLE_WRITE_ERROR && x->file))
      return 0;
    if (x->retry == FF_RETRY_IDEMPOTENT) return 1;
    return !x->sent;
  }
  if (x->retry == FF_RETRY_IDEMPOTENT) return ff_status_retryable(x->status);
  return x->status == 429 || x->status == 503;
}

static void log_attempt(ff_xfer *x) {
  const char *q = strchr(x->url, '?');
  int n = q ? (int)(q - x->url) : (int)strlen(x->url);
  if (x->code == CURLE_OK)
    fprintf(stderr, "firefly: %s %.*s -> %ld (attempt %d, %.3fs)\n", x->method, n, x->url,
            x->status, x->attempts, ff_now() - x->started);
  else
    fprintf(stderr, "firefly: %s %.*s -> %s (attempt %d, %.3fs)\n", x->method, n, x->url,
            curl_easy_strerror(x->code), x->attempts, ff_now() - x->started);
}

static void finish(ff_engine *e, ff_xfer *x) {
  int max = x->max_retries >= 0 ? x->max_retries : e->cfg.max_retries;
  curl_off_t sent_bytes = 0;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->status);
  curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &sent_bytes);
  x->sent = !never_sent(x->code) && (sent_bytes > 0 || x->code == CURLE_OK);
  if (x->retry_after_raw[0]) {
    double s;
    if (ff_parse_retry_after(x->retry_after_raw, ff_wall(), &s) == 0) x->retry_after = s;
  }
  if (e->cfg.debug) log_attempt(x);
  if (x->status == 429 && x->retry == FF_RETRY_SUBMIT && e->cfg.throttled)
    e->cfg.throttled(e->cfg.throttled_ud, x->retry_after);
  detach(x);
  if (x->attempts <= max && should_retry(x)) {
    double delay = x->retry_after >= 0 ? x->retry_after
                                       : ff_backoff(&e->rng, x->attempts - 1, e->cfg.backoff_base, e->cfg.backoff_cap);
    /* Past the cap we stop and surface the error, carrying retry_after. */
    if (x->retry_after < 0 || x->retry_after <= e->cfg.retry_after_cap) {
      x->retry_timer.fire = retry_fire;
      e->retries++;
      ff_timer_start(e, &x->retry_timer, ff_now() + delay);
      return;
    }
  }
  x->done(x);
}

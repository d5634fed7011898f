/*
** The engine: one libcurl multi handle, the transfers on it, timers on the
** monotonic clock, and the retry policy applied to every transfer. No Lua and
** no JSON here; it never blocks except inside ff_engine_step, and it never
** calls out from inside a libcurl callback (completions are delivered from
** ff_engine_step, after curl_multi_info_read).
*/
#ifndef FF_ENGINE_H
#define FF_ENGINE_H

#include <poll.h>
#include <stdio.h>
#include <curl/curl.h>

#include "buf.h"
#include "retry.h"

typedef struct ff_engine ff_engine;

/*
** Work per ff_engine_step, at most, so a host's ff:step(0) stays within a
** frame (issue 10 #7). What is left is there for the next step, and the
** engine's deadline is then now (ff_engine_timeout 0, the descriptor
** readable). Each start costs libcurl a connect or a request at the next
** socket action (~0.1-0.15 ms), each finished transfer a JSON decode and an
** event or two, each due poll timer a request to build: 64 jobs submitted
** together, or their 64 polls due together, otherwise cost one step 8-10 ms.
*/
#define FF_STARTS_PER_STEP 4  /* transfers put on the wire */
#define FF_SOCKETS_PER_STEP 4 /* ready sockets handed to libcurl */
#define FF_DONE_PER_STEP 4    /* finished transfers handed on */
#define FF_TIMERS_PER_STEP 4  /* timers fired */
/*
** Body bytes taken from libcurl per step (issue 10 #7): past them, the write
** callback pauses each further transfer (CURL_WRITEFUNC_PAUSE: libcurl keeps
** the chunk it offered and delivers it again on unpause), and the next step
** unpauses them, oldest first. Receiving and writing a body costs ~2-3 ms a
** megabyte here (recv, fwrite into the page cache), and on a fast link four
** ready sockets held ~0.9 MB: a step then took 2-4 ms. 256 KB is ~0.7 ms, and
** at 60 steps a second still 15 MB/s for a host that only steps each frame;
** a blocking wait steps again at once, so its throughput does not change.
** The first chunk of a step always passes, so every step moves some bytes.
*/
#define FF_BYTES_PER_STEP (256 * 1024)


typedef struct ff_engine_config {
  double connect_timeout; /* seconds to establish a connection */
  double stall_timeout;   /* seconds without a byte before a transfer is dropped */
  int max_retries;        /* extra attempts after the first */
  double backoff_base;    /* first backoff ceiling, doubled per attempt */
  double backoff_cap;     /* the largest backoff ceiling */
  double retry_after_cap; /* a longer retry-after is surfaced, not waited out */
  const char *ca_file;
  const char *proxy;
  const char *user_agent;
  int debug;              /* log each attempt to stderr, without query strings */
  /* A submit was answered 429: the client pauses all its submits (retry_after -1: none given). */
  void (*throttled)(void *ud, double retry_after);
  void *throttled_ud;
} ff_engine_config;

/* A timer is embedded in its owner; the engine keeps a min-heap of pointers. */
typedef struct ff_timer {
  double when;
  size_t slot; /* heap index + 1, 0 when not armed */
  void (*fire)(struct ff_timer *t);
} ff_timer;

typedef enum ff_retry_mode {
  FF_RETRY_NEVER,
  FF_RETRY_IDEMPOTENT, /* GETs, downloads, token requests: transport errors, 408, 429, 5xx */
  FF_RETRY_SUBMIT      /* only when the server certainly did not take it: no connection, 429, 503 */
} ff_retry_mode;

typedef struct ff_xfer ff_xfer;

#define FF_XFER_HEADERS 10 /* request header lines a transfer can carry */
typedef void (*ff_xfer_done)(ff_xfer *x);

struct ff_xfer {
  /* The request, owned by the transfer and set before ff_xfer_start. */
  const char *method;          /* static string: "GET", "POST", "PUT" */
  char *url;
  struct curl_slist *headers;  /* the lines of ff_xfer_header, in hdr_lines (no allocation per line) */
  ff_buf body;
  ff_retry_mode retry;
  int max_retries;             /* -1: the engine's default */
  int follow_redirects;        /* only where no credential is attached */
  int https_only;              /* refuse http://, on redirects too */
  double timeout;              /* per attempt, 0 for none (downloads rely on the stall timeout) */
  size_t max_body;             /* cap on a body, kept in memory or streamed to file */
  int retry_oversize;          /* a JSON answer past max_body (endless, padded) is this attempt's fault:
                                  retried like a reset when idempotent; an output past it is not */
  FILE *file;                  /* 2xx bodies stream here when set */
  FILE *source;                /* when set, the request body is read from here, in bounded chunks */
  curl_off_t source_size;      /* its length (Content-Length); it is rewound for every attempt */
  int secret;                  /* headers, body or response hold a secret: wiped before freed */
  double min_rate;             /* bytes/s a body must average once rate_grace has passed; 0: none */
  double rate_grace;
  char sent_request_id[40];    /* the x-request-id we sent; stands in when none comes back */

  /* The outcome of the last attempt. */
  CURLcode code;
  long status;
  int attempts;
  int sent;                    /* the request may have reached the server */
  int too_large;
  int too_slow;                /* the body fell behind min_rate */
  int write_errno;             /* why the file took fewer bytes than it was given, 0 if it did not */
  size_t received;             /* body bytes of this attempt */
  /* A body streamed to file: its first and last bytes, kept as they went by, so whoever checks
     that the file is whole by its own header need not read it back. */
  unsigned char head[32], tail[16];
  size_t nhead, ntail;
  double retry_after;          /* seconds, -1 when the server gave none */
  ff_buf response;             /* the body (or, with a file, a non-2xx body) */
  char request_id[128];
  char content_type[128];
  char errbuf[CURL_ERROR_SIZE];

  /* Completion. */
  ff_xfer_done done;
  void *ud;

  /* Internal. */
  ff_engine *engine;
  CURL *easy;
  struct ff_easy *eh;          /* the pooled handle easy belongs to, and the options it carries */
  ff_buf hdr_lines;            /* header lines, each NUL-terminated, one after another */
  size_t hdr_off[FF_XFER_HEADERS];
  struct curl_slist hdr_nodes[FF_XFER_HEADERS];
  unsigned nhdr;
  struct curl_slist ua_node;   /* the engine's User-Agent line, ahead of headers */
  ff_timer retry_timer;
  int running;
  ff_xfer *in_line;            /* the next in the engine's line this transfer stands in */
  int queued;                  /* waiting for its turn onto the wire (ff_engine_step) */
  int paused;                  /* paused by the step's byte budget, unpaused by the next step */
  double started;
  char retry_after_raw[96];
};

ff_engine *ff_engine_new(const ff_engine_config *cfg);
void ff_engine_free(ff_engine *e);

/* Seconds until the engine's next deadline (its timers, libcurl's): 0 now, -1 when none. */
double ff_engine_timeout(ff_engine *e);
/* A descriptor readable when the engine has work (src/poller.h), or -1 where there is none. */
int ff_engine_pollfd(ff_engine *e);
/* What poll(2) waits on for this engine's sockets and timer (src/poller.h), into out; how many. */
size_t ff_engine_fds(ff_engine *e, struct pollfd *out);
/* Transfers on the wire now (not those waiting for a retry). */
int ff_engine_running(ff_engine *e);
/* Waits up to max_wait seconds for activity, then runs completions and timers. */
void ff_engine_step(ff_engine *e, double max_wait);
int ff_engine_idle(ff_engine *e);
/* One descriptor beside libcurl's (src/commit.h's): ready(ud) runs inside ff_engine_step while it is readable. */
int ff_engine_watch(ff_engine *e, int fd, void (*ready)(void *ud), void *ud);
/* Work the engine does not see (commits in flight) keeps it from idling: +1 when it starts, -1 when it ends. */
void ff_engine_hold(ff_engine *e, int delta);
/* Every attempt made so far, retries included (the benchmark counts them). */
unsigned long ff_engine_requests(ff_engine *e);
/* Attempts that were retries of an earlier one. */
unsigned long ff_engine_retries(ff_engine *e);
ff_rng *ff_engine_rng(ff_engine *e);
const ff_engine_config *ff_engine_cfg(ff_engine *e);

/* Each owner of a timer reserves room for it once, then arms it freely. */
int ff_timer_reserve(ff_engine *e);
void ff_timer_release(ff_engine *e, ff_timer *t);
void ff_timer_start(ff_engine *e, ff_timer *t, double when);
void ff_timer_stop(ff_engine *e, ff_timer *t);

ff_xfer *ff_xfer_new(ff_engine *e);
/* Starts (or restarts) the transfer; done is called once, after the last attempt. */
int ff_xfer_start(ff_xfer *x);
/* Stops the transfer if it runs and frees it; done is not called. */
void ff_xfer_free(ff_xfer *x);
/* Adds a request header line (printf-style); -1 past FF_XFER_HEADERS or out of memory. */
int ff_xfer_header(ff_xfer *x, const char *fmt, ...);
/* The same for the line name + value, without formatting ("x-api-key: ", key). */
int ff_xfer_header_pair(ff_xfer *x, const char *name, const char *value);
/* Request body bytes sent by the attempt on the wire now (0 when none is). */
curl_off_t ff_xfer_sent(ff_xfer *x);

#endif

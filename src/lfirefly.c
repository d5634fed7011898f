/*
** firefly.core: the binding. A client userdata over the C engine, its
** methods, and the JSON boundary: lua-cjson decodes what the protocol layer
** needs, and no JSON is parsed anywhere else. Events come back to Lua as
** values returned from step(); no Lua runs inside a libcurl callback.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "client.h"
#include "hosts.h"
#include "clock.h"
#include "compat.h"
#include "files.h"
#include "poller.h"
#include "sha256.h"
#include "proc.h"

#define CLIENT_MT "firefly.core.client"
#define FF_MAX_SECONDS (366 * 86400.0) /* the longest duration C computes with */
#define FF_MAX_RETRIES 100
#define DECODE_KEY "firefly.core.decode" /* registry: a private cjson instance's decode */
#define DOCS_KEY "firefly.core.docs"     /* registry: succeeded job documents of this step, by buffer */
#define TEXTS_KEY "firefly.core.texts"   /* registry: the text each of those was decoded from */

typedef struct lclient {
  ff_client *c; /* NULL once closed */
  ff_decoder dec; /* its ud is this lclient */
  lua_State *L;   /* lent for a step (step_client), NULL otherwise */
  int kept;       /* a document was kept for this step's events (DOCS_KEY): forget it after */
} lclient;

/* libcurl's global init is not safe to race; once per process, however many states. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;
static void curl_init(void) { curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* ---- the JSON boundary ---- */

typedef enum { DEC_TOKEN, DEC_ACCEPT, DEC_JOBDOC } dec_kind;

typedef struct dec_args {
  dec_kind kind;
  const char *json;
  size_t len;
  void *out;
  char **token;
  double *expires_in;
  int ok;
  int kept; /* a succeeded document went into DOCS_KEY */
} dec_args;

/* Pushes the text, then what it decodes to (a table: 1). */
static int push_decoded(lua_State *L, const char *json, size_t len) {
  lua_pushlstring(L, json ? json : "", len);
  lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 1);
  return lua_istable(L, -1);
}

/* A server's string that C can hold whole: one with a NUL byte would be read cut short. */
static const char *field_cstr(lua_State *L, int t, const char *name) {
  size_t len;
  const char *s;
  lua_getfield(L, t, name);
  s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
  if (s && strlen(s) != len) s = NULL;
  lua_pop(L, 1); /* the decoded table keeps the string alive */
  return s;
}

static char *field_dup(lua_State *L, int t, const char *name) {
  const char *s = field_cstr(L, t, name);
  return s ? ff_strdup(s) : NULL;
}

static int field_copy(lua_State *L, int t, const char *name, char *dst, size_t size) {
  const char *s = field_cstr(L, t, name);
  if (s == NULL) return 0;
  ff_strlcpy(dst, s, size);
  return 1;
}

/* t[name].href as a malloc'd string, or NULL. */
static char *link_dup(lua_State *L, int t, const char *name) {
  char *s = NULL;
  lua_getfield(L, t, name);
  if (lua_istable(L, -1)) s = field_dup(L, lua_gettop(L), "href");
  lua_pop(L, 1);
  return s;
}

/*
** A submit's answer, in either shape Adobe sends: AsyncAcceptResponseV3
** {jobId, statusUrl, cancelUrl}, or AsyncTaskResponse / the upscale accept
** {links: {result: {href}, cancel: {href}}, progress}. The links shape names
** no job id: it is the last segment of the result link's path, as in
** /v3/status/{jobId} [GUESS: Adobe documents the href only as a string].
*/
static void decode_accept(lua_State *L, int t, ff_accept *acc) {
  if (field_copy(L, t, "jobId", acc->job_id, sizeof acc->job_id)) {
    acc->status_url = field_dup(L, t, "statusUrl");
    acc->cancel_url = field_dup(L, t, "cancelUrl");
  }
  if (acc->status_url == NULL) {
    lua_getfield(L, t, "links");
    if (lua_istable(L, -1)) {
      int links = lua_gettop(L);
      acc->status_url = link_dup(L, links, "result");
      if (acc->cancel_url == NULL) acc->cancel_url = link_dup(L, links, "cancel");
    }
    lua_pop(L, 1);
  }
  /* AsyncTaskResponse's and the upscale accept's "progress" (a number, a percentage). */
  lua_getfield(L, t, "progress");
  if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0 && lua_tonumber(L, -1) <= 100)
    acc->progress = lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (acc->status_url && acc->job_id[0] == '\0') {
    const char *end = acc->status_url + strcspn(acc->status_url, "?#");
    const char *seg = end;
    while (seg > acc->status_url && seg[-1] != '/') seg--;
    if (end > seg && (size_t)(end - seg) < sizeof acc->job_id) {
      memcpy(acc->job_id, seg, (size_t)(end - seg));
      acc->job_id[end - seg] = '\0';
    }
  }
}

/* registry[key][lightuserdata p] = the value at index i. */
static void keep(lua_State *L, const char *key, const void *p, int i) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  lua_pushlightuserdata(L, (void *)p);
  lua_pushvalue(L, i);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* Runs protected: a hostile body may make cjson raise, and must not unwind C frames. */
static int decode_protected(lua_State *L) {
  dec_args *a = lua_touserdata(L, 1);
  int t;
  if (!push_decoded(L, a->json, a->len)) return 0;
  t = lua_gettop(L);
  if (a->kind == DEC_TOKEN) {
    lua_getfield(L, t, "expires_in");
    /* Adobe sends seconds; a string count is tolerated as aio-lib-ims does. */
    if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TSTRING) *a->expires_in = lua_tonumber(L, -1);
    lua_pop(L, 1);
    *a->token = field_dup(L, t, "access_token");
    /* A year at most: NaN, infinities and absurd lifetimes mean a broken answer. */
    a->ok = *a->token != NULL && *a->expires_in > 0 && *a->expires_in <= 366 * 86400.0;
    if (*a->token && !a->ok) {
      free(*a->token);
      *a->token = NULL;
    }
  } else if (a->kind == DEC_ACCEPT) {
    decode_accept(L, t, a->out);
    a->ok = a->out != NULL && ((ff_accept *)a->out)->status_url != NULL;
  } else {
    ff_jobdoc *doc = a->out;
    if (!field_copy(L, t, "status", doc->status, sizeof doc->status)) return 0;
    lua_getfield(L, t, "progress");
    if (lua_type(L, -1) == LUA_TNUMBER && lua_tonumber(L, -1) >= 0 && lua_tonumber(L, -1) <= 100)
      doc->progress = lua_tonumber(L, -1);
    lua_pop(L, 1);
    /* A succeeded document is the done event's body, pushed in this same step: decoded once. */
    if (strcmp(doc->status, "succeeded") == 0 && a->json) {
      keep(L, DOCS_KEY, a->json, t);
      keep(L, TEXTS_KEY, a->json, t - 1); /* push_decoded left the text below the table */
      a->kept = 1;
    }
    a->ok = 1;
  }
  return 0;
}

/*
** The table decode_protected kept for this buffer, taken (a table is handed out once: Lua
** edits a result in place) and pushed, if the buffer still holds the text it was decoded
** from; 0 and nothing pushed otherwise. By the buffer's address, not by its text: hashing
** a whole document as a key costs as much again as the memcmp.
*/
static int take_doc(lua_State *L, const ff_buf *b) {
  size_t len;
  const char *text;
  int same;
  if (b->data == NULL) return 0;
  lua_getfield(L, LUA_REGISTRYINDEX, TEXTS_KEY);
  lua_pushlightuserdata(L, b->data);
  lua_rawget(L, -2);
  text = lua_tolstring(L, -1, &len);
  same = text != NULL && len == b->len && memcmp(text, b->data, len) == 0;
  lua_pop(L, 1);
  lua_pushlightuserdata(L, b->data);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
  lua_pushlightuserdata(L, b->data);
  lua_rawget(L, -2);
  lua_pushlightuserdata(L, b->data);
  lua_pushnil(L);
  lua_rawset(L, -4);
  lua_remove(L, -2);
  if (same && lua_istable(L, -1)) return 1;
  lua_pop(L, 1);
  return 0;
}

static void clear(lua_State *L, const char *key) {
  lua_getfield(L, LUA_REGISTRYINDEX, key);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_pushnil(L);
    lua_rawset(L, -4);
  }
  lua_pop(L, 1);
}

/* What no event of the step took (an event that could not be made) is not kept. */
static void forget_docs(lua_State *L) {
  clear(L, DOCS_KEY);
  clear(L, TEXTS_KEY);
}

static int run_decode(void *ud, dec_args *a) {
  lclient *lc = ud;
  lua_State *L = lc->L;
  int top;
  if (L == NULL) return -1;
  top = lua_gettop(L);
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, a);
  if (lua_pcall(L, 1, 0, 0) != LUA_OK) a->ok = 0;
  lua_settop(L, top);
  if (a->kept) lc->kept = 1; /* even when it raised after keeping: f_step then clears */
  return a->ok ? 0 : -1;
}

static int dec_token(void *ud, const char *json, size_t len, char **token, double *expires_in) {
  dec_args a = {DEC_TOKEN, json, len, NULL, token, expires_in, 0, 0};
  *token = NULL;
  return run_decode(ud, &a);
}

static int dec_accept(void *ud, const char *json, size_t len, ff_accept *out) {
  dec_args a = {DEC_ACCEPT, json, len, out, NULL, NULL, 0, 0};
  return run_decode(ud, &a);
}

static int dec_jobdoc(void *ud, const char *json, size_t len, ff_jobdoc *out) {
  dec_args a = {DEC_JOBDOC, json, len, out, NULL, NULL, 0, 0};
  return run_decode(ud, &a);
}

/* ---- helpers ---- */

static lclient *check_open(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  if (lc->c == NULL) luaL_error(L, "attempt to use a closed firefly client");
  return lc;
}

/*
** Decoding happens only inside a step (completions run there), so the state
** is lent to the decoder for the step and taken back before anything that
** can raise: no lua_State, perhaps a finished coroutine, outlives the call.
*/
static void step_client(lclient *lc, lua_State *L, double wait) {
  lc->L = L;
  ff_client_step(lc->c, wait);
  lc->L = NULL;
}

/* A string C reads whole: with a NUL byte in it C would read another, shorter one. */
static const char *check_cstr(lua_State *L, int i, const char *what) {
  size_t len;
  const char *s = luaL_checklstring(L, i, &len);
  if (strlen(s) != len) luaL_argerror(L, i, lua_pushfstring(L, "%s contains a NUL byte", what));
  return s;
}

static const char *opt_cstr(lua_State *L, int i, const char *what) {
  return lua_isnoneornil(L, i) ? NULL : check_cstr(L, i, what);
}

/* A header value: a CR or LF in it would start a header of the caller's choosing. */
static const char *opt_header(lua_State *L, int i, const char *what) {
  const char *s = opt_cstr(L, i, what);
  if (s && strpbrk(s, "\r\n")) luaL_argerror(L, i, lua_pushfstring(L, "%s contains a line break", what));
  return s;
}

/* Seconds C may compute with: finite, in [lo, hi]; NaN fails every comparison. */
static double check_seconds(lua_State *L, int i, double def, double lo, double hi, const char *what) {
  double v = luaL_optnumber(L, i, def);
  if (!(v >= lo && v <= hi))
    luaL_argerror(L, i, lua_pushfstring(L, "%s must be a number from %f to %f", what, lo, hi));
  return v;
}

/* A whole number in [lo, hi], checked as a double before any conversion to int. */
static int check_count(lua_State *L, int i, int def, int lo, int hi, const char *what) {
  double v;
  if (lua_isnoneornil(L, i)) return def;
  v = luaL_checknumber(L, i);
  if (!(v >= lo && v <= hi && floor(v) == v))
    luaL_argerror(L, i, lua_pushfstring(L, "%s must be a whole number from %d to %d", what, lo, hi));
  return (int)v;
}

static void set_str(lua_State *L, const char *k, const char *v) {
  if (v == NULL || v[0] == '\0') return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

/* Counts and HTTP statuses are whole: on 5.3+ they print as 404, not 404.0. */
static void set_int(lua_State *L, const char *k, long v) {
  lua_pushinteger(L, (lua_Integer)v);
  lua_setfield(L, -2, k);
}

static int looks_json(const ff_buf *b, const char *content_type) {
  size_t i = 0;
  if (content_type && strstr(content_type, "json")) return 1;
  while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\n' || b->data[i] == '\r')) i++;
  return i < b->len && (b->data[i] == '{' || b->data[i] == '[');
}

/* Decodes a JSON body into the table on top of the stack as field k; silently skips bad JSON. */
static int set_json(lua_State *L, const char *k, const ff_buf *b) {
  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_pushlstring(L, b->data ? b->data : "", b->len);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_setfield(L, top, k);
    return 1;
  }
  lua_settop(L, top);
  return 0;
}

static const char *server_string(lua_State *L, int t, const char *k1, const char *k2) {
  const char *s = NULL;
  lua_getfield(L, t, k1);
  if (lua_type(L, -1) == LUA_TSTRING) s = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays alive: the body table holds it */
  if (s == NULL && k2) {
    lua_getfield(L, t, k2);
    if (lua_type(L, -1) == LUA_TSTRING) s = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return s;
}

/*
** The error table. Adobe's three error families (and IMS's OAuth one) name
** their fields differently: error_code | error | reason for the code,
** message | error_description for the words, validation_errors for details.
*/
static void push_error(lua_State *L, const ff_error *err) {
  const char *message = err->message;
  lua_createtable(L, 0, 10);
  set_str(L, "kind", ff_errkind_name(err->kind));
  if (err->status) set_int(L, "status", err->status);
  if (err->attempts) set_int(L, "attempts", (long)err->attempts);
  if (err->retry_after >= 0) set_num(L, "retry_after", err->retry_after);
  set_str(L, "request_id", err->request_id);
  set_str(L, "job_id", err->job_id);
  if (err->body.len && looks_json(&err->body, NULL) && set_json(L, "body", &err->body)) {
    int t = lua_gettop(L);
    const char *code, *words;
    lua_getfield(L, t, "body");
    code = server_string(L, -1, "error_code", "error");
    if (code == NULL) code = server_string(L, -1, "reason", NULL);
    words = server_string(L, -1, "message", "error_description");
    if (code) {
      lua_pushstring(L, code);
      lua_setfield(L, t, "code");
    }
    if (words) {
      lua_pushstring(L, words);
      lua_setfield(L, t, "server_message");
    }
    lua_getfield(L, -1, "validation_errors");
    if (lua_istable(L, -1))
      lua_setfield(L, t, "details");
    else
      lua_pop(L, 1);
    lua_pop(L, 1); /* body */
  } else if (err->body.len && err->body.len <= 512) {
    lua_pushlstring(L, err->body.data, err->body.len);
    lua_setfield(L, -2, "body");
  }
  set_str(L, "message", message);
}

static const char *event_type(ff_evtype t) {
  switch (t) {
    case FF_EV_ACCEPTED: return "accepted";
    case FF_EV_STATUS: return "status";
    case FF_EV_DONE: return "done";
    case FF_EV_SENT: return "sent";
    default: return "error";
  }
}

/*
** One event as Lua reads it: only the fields lua/firefly reads of its kind, since each field
** costs a table slot and often a string of its own, four events a job. The job id and the
** status and cancel URLs go with "accepted" alone (job.lua keeps them from it); a download's
** "done" has its ends and size, not its path or request id (result.lua's check reads those
** alone); no event carries its content type, which only the binding's looks_json reads.
*/
static void push_event(lua_State *L, ff_event *ev) {
  int download = ev->type == FF_EV_DONE && ev->path != NULL;
  lua_createtable(L, 0, ev->type == FF_EV_ACCEPTED ? 6 : 5);
  lua_pushnumber(L, (lua_Number)ev->handle);
  lua_setfield(L, -2, "handle");
  set_str(L, "type", event_type(ev->type));
  set_str(L, "status", ev->status);
  if (ev->progress >= 0) set_num(L, "progress", ev->progress);
  if (ev->type == FF_EV_ACCEPTED) {
    set_str(L, "job_id", ev->job_id);
    set_str(L, "status_url", ev->status_url);
    set_str(L, "cancel_url", ev->cancel_url);
  }
  if (!download) set_str(L, "request_id", ev->request_id);
  if (ev->stamp[0]) {
    set_str(L, "stamp", ev->stamp);
    set_num(L, "size", (double)ev->total);
  }
  if (ev->ends && ev->type == FF_EV_DONE) { /* a saved download's ends: result.lua checks the file is whole from them */
    lua_pushlstring(L, (const char *)ev->head, ev->nhead);
    lua_setfield(L, -2, "head");
    lua_pushlstring(L, (const char *)ev->tail, ev->ntail);
    lua_setfield(L, -2, "tail");
    lua_pushinteger(L, (lua_Integer)ev->size);
    lua_setfield(L, -2, "size");
  }
  /* A job's document carries its own status; a request's (an upload's answer) is read with its HTTP status. */
  if (ev->http_status && !download && ev->job_id[0] == '\0') set_int(L, "http_status", ev->http_status);
  if (ev->type == FF_EV_SENT) {
    set_num(L, "sent", (double)ev->sent);
    set_num(L, "total", (double)ev->total);
  }
  if (ev->type == FF_EV_DONE && ev->path == NULL) {
    int json = looks_json(&ev->body, ev->content_type);
    if (json && take_doc(L, &ev->body)) {
      lua_setfield(L, -2, "data");
    } else if (!(json && set_json(L, "data", &ev->body))) {
      lua_pushlstring(L, ev->body.data ? ev->body.data : "", ev->body.len);
      lua_setfield(L, -2, "body");
    }
  }
  if (ev->type == FF_EV_ERROR) {
    push_error(L, &ev->err);
    lua_setfield(L, -2, "err");
  }
}

static int push_fail(lua_State *L, ff_error *err) {
  luaL_pushfail(L);
  push_error(L, err);
  ff_error_free(err);
  return 2;
}

static int push_handle(lua_State *L, uint64_t h, ff_error *err) {
  if (h == 0) return push_fail(L, err);
  lua_pushnumber(L, (lua_Number)h);
  ff_error_free(err);
  return 1;
}

static uint64_t check_handle(lua_State *L, int i) {
  lua_Number n = luaL_checknumber(L, i);
  /* Handles fit in a double's 53 bits; NaN and anything else is refused before the cast. */
  if (!(n >= 1 && n <= 9007199254740992.0 && floor(n) == n)) luaL_argerror(L, i, "not a handle");
  return (uint64_t)n;
}

/* ---- methods ---- */

static int f_submit(lua_State *L) {
  lclient *lc = check_open(L);
  size_t len;
  const char *url = check_cstr(L, 2, "url");
  const char *body = luaL_checklstring(L, 3, &len);
  const char *model = opt_header(L, 4, "model_version");
  double timeout = check_seconds(L, 5, 300, 0.001, FF_MAX_SECONDS, "timeout");
  int max_retries = check_count(L, 6, -1, -1, FF_MAX_RETRIES, "max_retries");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_submit(lc->c, url, body, len, model, timeout, max_retries, &err), &err);
}

static int f_attach(lua_State *L) {
  lclient *lc = check_open(L);
  const char *status_url = check_cstr(L, 2, "status_url");
  const char *cancel_url = opt_cstr(L, 3, "cancel_url");
  const char *job_id = opt_cstr(L, 4, "job_id");
  double timeout = check_seconds(L, 5, 300, 0.001, FF_MAX_SECONDS, "timeout");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_attach(lc->c, status_url, cancel_url, job_id, timeout, &err), &err);
}

static int f_request(lua_State *L) {
  static const char *const methods[] = {"GET", "POST", "PUT", "DELETE", NULL};
  static const char *const retries[] = {"never", "idempotent", "submit", NULL};
  static const ff_retry_mode modes[] = {FF_RETRY_NEVER, FF_RETRY_IDEMPOTENT, FF_RETRY_SUBMIT};
  lclient *lc = check_open(L);
  int m = luaL_checkoption(L, 2, NULL, methods);
  const char *url = check_cstr(L, 3, "url");
  size_t len = 0;
  const char *body = luaL_optlstring(L, 4, NULL, &len);
  const char *ctype = opt_header(L, 5, "content type");
  int r = luaL_checkoption(L, 6, m == 0 ? "idempotent" : "submit", retries);
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_request(lc->c, methods[m], url, body, len, ctype, modes[r], &err), &err);
}

/* upload(url, path, content_type): the file POSTed as it is read; "sent" events, then done or error. */
static int f_upload(lua_State *L) {
  lclient *lc = check_open(L);
  const char *url = check_cstr(L, 2, "url");
  const char *path = check_cstr(L, 3, "path");
  const char *ctype = opt_header(L, 4, "content type");
  const char *stamp = opt_cstr(L, 5, "stamp");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_upload(lc->c, url, path, ctype, stamp, &err), &err);
}

/* A number is not a URL: no coercion of 42 into host "42". */
static const char *check_url(lua_State *L, int i) {
  luaL_checktype(L, i, LUA_TSTRING);
  return check_cstr(L, i, "url");
}

static int f_download(lua_State *L) {
  lclient *lc = check_open(L);
  const char *url = check_url(L, 2);
  const char *path = opt_cstr(L, 3, "path");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_download(lc->c, url, path, &err), &err);
}

/* copy(src, path): a local file saved as a download would be; true, or fail, err. */
static int f_copy(lua_State *L) {
  lclient *lc = check_open(L);
  const char *src = check_cstr(L, 2, "path");
  const char *path = check_cstr(L, 3, "path");
  ff_error err;
  ff_error_init(&err);
  if (ff_client_copy(lc->c, src, path, &err) != 0) return push_fail(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/* copy_start(src, path) -> handle: the copy as an operation, on the worker thread; or fail, err. */
static int f_copy_start(lua_State *L) {
  lclient *lc = check_open(L);
  const char *src = check_cstr(L, 2, "path");
  const char *path = check_cstr(L, 3, "path");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_copy_start(lc->c, src, path, &err), &err);
}

/* hash(path) -> handle: the file's sha256 on the worker thread (done: body, total, stamp); or fail, err. */
static int f_hash(lua_State *L) {
  lclient *lc = check_open(L);
  const char *path = check_cstr(L, 2, "path");
  ff_error err;
  ff_error_init(&err);
  return push_handle(L, ff_client_hash(lc->c, path, &err), &err);
}

static int f_cancel(lua_State *L) {
  lclient *lc = check_open(L);
  lua_pushboolean(L, ff_client_cancel(lc->c, check_handle(L, 2)));
  return 1;
}

/* A request's or download's body so far: bytes, total (nil if unannounced); nothing once it is not on the wire. */
static int f_progress(lua_State *L) {
  lclient *lc = check_open(L);
  double got, total;
  if (!ff_client_progress(lc->c, check_handle(L, 2), &got, &total)) return 0;
  lua_pushnumber(L, got);
  if (total < 0) lua_pushnil(L);
  else lua_pushnumber(L, total);
  return 2;
}

/*
** Advances up to `wait` seconds (0: never blocks) and returns the events produced, in a
** list made at its size (grown one by one, it is rehashed at 1, 2, 4, 8... events). Each
** stays in the client's queue until it is pushed: a Lua error midway loses none.
*/
static int f_step(lua_State *L) {
  lclient *lc = check_open(L);
  double wait = check_seconds(L, 2, 0, -HUGE_VAL, HUGE_VAL, "wait");
  ff_event *ev;
  int n = 0;
  step_client(lc, L, wait < 0 ? 0 : wait);
  lua_createtable(L, (int)ff_client_queued(lc->c), 0);
  while ((ev = ff_client_event(lc->c)) != NULL) {
    push_event(L, ev);
    ff_event_free(ev);
    lua_rawseti(L, -2, ++n);
  }
  if (lc->kept) forget_docs(L); /* only a step that decoded a succeeded document kept one */
  lc->kept = 0;
  return 1;
}

static int f_timeout(lua_State *L) {
  lclient *lc = check_open(L);
  double t = ff_client_timeout(lc->c);
  if (t < 0) return luaL_pushfail(L), 1;
  lua_pushnumber(L, t);
  return 1;
}

/*
** The client as a pollable in cqueues' sense: wait for pollfd() to be
** readable (events() says "r") or timeout() seconds, whichever comes first,
** then step(0). nil where the platform has no epoll (see src/poller.h).
*/
static int f_pollfd(lua_State *L) {
  lclient *lc = check_open(L);
  int fd = ff_client_pollfd(lc->c);
  if (fd < 0) return luaL_pushfail(L), 1;
  lua_pushinteger(L, fd);
  return 1;
}

static int f_events(lua_State *L) {
  check_open(L);
  lua_pushliteral(L, "r");
  return 1;
}

static int f_stats(lua_State *L) {
  lclient *lc = check_open(L);
  ff_stats st;
  ff_client_stats(lc->c, &st);
  lua_createtable(L, 0, 3);
  set_int(L, "requests", (long)st.requests);
  set_int(L, "retries", (long)st.retries);
  set_int(L, "token_fetches", (long)st.token_fetches);
  set_int(L, "active", (long)st.active);
  return 1;
}

/* stats().active alone, without a table: Client:_reap asks it after every step. */
/* alarm(seconds | nil): the client is due in seconds (ff_client_alarm); nil clears it. */
static int f_alarm(lua_State *L) {
  lclient *lc = check_open(L);
  ff_client_alarm(lc->c, lua_isnoneornil(L, 2) ? -1 : check_seconds(L, 2, 0, 0, FF_MAX_SECONDS, "alarm"));
  return 0;
}

static int f_active(lua_State *L) {
  lclient *lc = check_open(L);
  ff_stats st;
  ff_client_stats(lc->c, &st);
  lua_pushinteger(L, (lua_Integer)st.active);
  return 1;
}

/* close, __gc and __close are one function; closing twice is harmless. */
static int f_close(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  if (lc->c) {
    lc->L = NULL; /* nothing decodes while it is freed */
    ff_client_free(lc->c);
    lc->c = NULL;
  }
  return 0;
}

static int f_tostring(lua_State *L) {
  lclient *lc = luaL_checkudata(L, 1, CLIENT_MT);
  if (lc->c)
    lua_pushfstring(L, "firefly.core.client (%p)", (void *)lc);
  else
    lua_pushliteral(L, "firefly.core.client (closed)");
  return 1;
}

/* ---- construction ---- */

static const char *opt_str(lua_State *L, const char *k) {
  const char *s;
  size_t len;
  lua_getfield(L, 1, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "option '%s' must be a string", k);
  s = lua_tolstring(L, -1, &len);
  /* A secret "abc\0xyz" would authenticate as "abc": refused, never cut. */
  if (strlen(s) != len) luaL_error(L, "option '%s' contains a NUL byte", k);
  lua_pop(L, 1); /* the options table keeps the string alive during new() */
  return s;
}

/* Finite and in [lo, hi], or the default; checked before C computes with it. */
static double opt_num(lua_State *L, const char *k, double def, double lo, double hi) {
  double v = def;
  lua_getfield(L, 1, k);
  if (!lua_isnil(L, -1)) {
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "option '%s' must be a number", k);
    v = lua_tonumber(L, -1);
    if (!(v >= lo && v <= hi)) luaL_error(L, "option '%s' must be from %f to %f", k, lo, hi);
  }
  lua_pop(L, 1);
  return v;
}

static int io_new(lua_State *L) {
  ff_config cfg;
  ff_error err;
  lclient *lc;
  luaL_checktype(L, 1, LUA_TTABLE);
  memset(&cfg, 0, sizeof cfg);
  cfg.client_id = opt_str(L, "client_id");
  cfg.client_secret = opt_str(L, "client_secret");
  cfg.access_token = opt_str(L, "access_token");
  cfg.scopes = opt_str(L, "scopes");
  cfg.ims_url = opt_str(L, "ims_url");
  cfg.api_hosts = opt_str(L, "api_hosts");
  cfg.ca_file = opt_str(L, "ca_file");
  cfg.proxy = opt_str(L, "proxy");
  cfg.user_agent = opt_str(L, "user_agent");
  cfg.api_url = opt_str(L, "api_url");
  cfg.connect_timeout = opt_num(L, "connect_timeout", 10, 0.001, FF_MAX_SECONDS);
  cfg.request_timeout = opt_num(L, "request_timeout", 60, 0.001, FF_MAX_SECONDS);
  cfg.stall_timeout = opt_num(L, "stall_timeout", 30, 0, FF_MAX_SECONDS);
  cfg.poll_first = opt_num(L, "poll_first", 1, 0.001, FF_MAX_SECONDS);
  cfg.poll_max = opt_num(L, "poll_max", 10, 0.001, FF_MAX_SECONDS);
  cfg.max_retries = (int)opt_num(L, "max_retries", 4, 0, FF_MAX_RETRIES);
  cfg.retry_after_cap = opt_num(L, "retry_after_cap", 120, 0, FF_MAX_SECONDS);
  cfg.rate_per_minute = opt_num(L, "rate_per_minute", 0, 0, 1e9);
  cfg.rate_per_day = opt_num(L, "rate_per_day", 0, 0, 1e12);
  cfg.debug = (int)opt_num(L, "debug", 0, 0, 1);
  lua_getfield(L, 1, "retry_unknown_outcome");
  cfg.retry_unknown_outcome = lua_toboolean(L, -1);
  lua_pop(L, 1);
  cfg.max_download = opt_num(L, "max_download", 1 << 30, 1, 1e15);
  cfg.min_download_rate = opt_num(L, "min_download_rate", 0, 0, 1e12);
  lua_getfield(L, 1, "plain_http_downloads");
  cfg.plain_http_downloads = lua_toboolean(L, -1);
  lua_pop(L, 1);
  if (cfg.access_token == NULL && (cfg.client_id == NULL || cfg.client_secret == NULL || cfg.ims_url == NULL))
    return luaL_error(L, "firefly.core.new needs access_token, or client_id, client_secret and ims_url");
  if (cfg.scopes == NULL) cfg.scopes = "openid,AdobeID,firefly_api,ff_apis";
  if (curl_init_result != CURLE_OK) return luaL_error(L, "libcurl failed to initialise");
  /* Closed first, then opened: an allocation error leaves a consistent handle. */
  lc = lua_newuserdata(L, sizeof *lc);
  memset(lc, 0, sizeof *lc);
  luaL_setmetatable(L, CLIENT_MT);
  lc->dec.ud = lc;
  lc->dec.token = dec_token;
  lc->dec.accept = dec_accept;
  lc->dec.jobdoc = dec_jobdoc;
  ff_error_init(&err);
  lc->c = ff_client_new(&cfg, &lc->dec, &err);
  if (lc->c == NULL) return luaL_error(L, "firefly.core.new: %s", err.message);
  return 1;
}

static const luaL_Reg meth[] = {
  {"submit", f_submit}, {"attach", f_attach}, {"request", f_request}, {"upload", f_upload}, {"download", f_download},
  {"copy", f_copy}, {"copy_start", f_copy_start}, {"hash", f_hash},
  {"cancel", f_cancel}, {"progress", f_progress}, {"step", f_step}, {"timeout", f_timeout}, {"pollfd", f_pollfd},
  {"events", f_events}, {"stats", f_stats}, {"active", f_active}, {"alarm", f_alarm},
  {"close", f_close}, {NULL, NULL}};

static const luaL_Reg metameth[] = {
  {"__gc", f_close}, {"__close", f_close}, {"__tostring", f_tostring}, {"__index", NULL}, {NULL, NULL}};

/*
** wait(clients, max_wait) -> {i, ...}: sleeps until one of the clients (a
** list of core clients) has work, or max_wait seconds, whichever is first,
** and says which have (their indices); the driver then steps those alone.
*/
/* The open client at index i, or NULL (luaL_testudata, which plain 5.1 lacks). */
static ff_client *test_client(lua_State *L, int i) {
  lclient *lc = lua_touserdata(L, i);
  int same;
  if (lc == NULL || !lua_getmetatable(L, i)) return NULL;
  luaL_getmetatable(L, CLIENT_MT);
  same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same ? lc->c : NULL;
}

static int io_wait(lua_State *L) {
  size_t n, i;
  ff_client **cs;
  int *ready, nready, k = 0;
  double wait;
  luaL_checktype(L, 1, LUA_TTABLE);
  wait = check_seconds(L, 2, 0, 0, HUGE_VAL, "max_wait");
  n = (size_t)lua_rawlen(L, 1);
  if (n == 0) luaL_argerror(L, 1, "no client to wait on");
  if (n > 65536) luaL_argerror(L, 1, "too many clients");
  /* Userdata, so a raise below frees them with everything else. */
  cs = lua_newuserdata(L, n * sizeof *cs);
  ready = lua_newuserdata(L, n * sizeof *ready);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)(i + 1));
    cs[i] = test_client(L, -1);
    if (cs[i] == NULL) luaL_argerror(L, 1, "every entry must be an open core client");
    lua_pop(L, 1);
  }
  nready = ff_clients_wait(cs, n, wait, ready);
  if (nready < 0) return luaL_error(L, "firefly: out of memory waiting on %d clients", (int)n);
  lua_createtable(L, nready, 0);
  for (i = 0; i < n; i++) {
    if (!ready[i]) continue;
    lua_pushinteger(L, (lua_Integer)(i + 1));
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

/* Monotonic seconds, for waits measured in Lua. */
static int io_now(lua_State *L) {
  lua_pushnumber(L, ff_now());
  return 1;
}

/* sha256(bytes) -> 64 hex digits: the manifest's and the cache's file hashes. */
static int io_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  ff_sha256 h;
  char hex[65];
  ff_sha256_init(&h);
  ff_sha256_update(&h, s, len);
  ff_sha256_hex(&h, hex);
  lua_pushstring(L, hex);
  return 1;
}

/*
** Opens path only if it is a regular file: a FIFO would block the open (or
** the read) forever, a device never ends. errno says why on -1.
*/
static int open_regular(const char *path, int flags) {
  struct stat st;
  int fd;
  /* Looked at first: opening a FIFO to write without a reader says only ENXIO. */
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return -1;
  }
  fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

static const char *why(int e) {
  return e == EINVAL ? "not a regular file (a FIFO or a device is never read or written)" : strerror(e);
}

/*
** sha256_file(path) -> hex, stamp, or fail, message: streamed, never the
** whole file in memory; stamp is the file's version (src/files.h) as read,
** and a file that changed while it was read is an error.
*/
static int io_sha256_file(lua_State *L) {
  const char *path = check_cstr(L, 1, "path");
  int fd = open_regular(path, O_RDONLY);
  FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
  ff_sha256 h;
  char buf[65536], hex[65], stamp[FF_STAMP_LEN], after[FF_STAMP_LEN];
  struct stat st;
  size_t n;
  if (f == NULL || fstat(fileno(f), &st) != 0) {
    int e = errno;
    if (f) fclose(f);
    else if (fd >= 0) close(fd);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, why(e));
    return 2;
  }
  ff_file_stamp(&st, stamp);
  ff_sha256_init(&h);
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) ff_sha256_update(&h, buf, n);
  if (ferror(f) || fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, why(e));
    return 2;
  }
  fclose(f);
  ff_file_stamp(&st, after);
  if (strcmp(stamp, after) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: it changed while it was being read", path);
    return 2;
  }
  ff_sha256_hex(&h, hex);
  lua_pushstring(L, hex);
  lua_pushstring(L, stamp);
  return 2;
}

/*
** append_sync(path, text): appends and fsyncs before returning, so a journal
** line is on disk before the job it names is waited for (a crash then loses
** nothing the next run needs). true, or fail, message.
*/
static int io_append_sync(lua_State *L) {
  const char *path = check_cstr(L, 1, "path");
  size_t len, off = 0;
  const char *s = luaL_checklstring(L, 2, &len);
  int fd = open_regular(path, O_WRONLY | O_CREAT | O_APPEND);
  if (fd < 0) goto fail;
  while (off < len) {
    ssize_t w = write(fd, s + off, len - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      goto fail;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0) {
    close(fd);
    goto fail;
  }
  close(fd);
  lua_pushboolean(L, 1);
  return 1;
fail:
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s", path, why(errno));
  return 2;
}

/*
** trap_signals() / signalled(): SIGINT and SIGTERM only raise a flag, so a
** command line tool can cancel what it started and exit 130 instead of dying
** with jobs running. The handler is installed without SA_RESTART: a signal
** ends the engine's poll early and the next step() returns. SA_RESETHAND: a
** second Ctrl-C has the default effect, so a stuck program still stops. Signals
** are process-wide, so this flag is the one file-scope mutable of the binding.
*/
static volatile sig_atomic_t caught_signal = 0;

static void on_signal(int sig) { caught_signal = sig; }

static int io_trap_signals(lua_State *L) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* The number of the signal caught since the last call (then cleared), or nil. */
static int io_signalled(lua_State *L) {
  int sig = (int)caught_signal;
  caught_signal = 0;
  if (sig == 0) return luaL_pushfail(L), 1;
  lua_pushinteger(L, sig);
  return 1;
}

/* The Lua layer's folder work, without a shell: true, or fail, message. */
static int push_ok(lua_State *L, int rc, ff_error *err) {
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, err->message);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int io_mkdir_p(lua_State *L) {
  ff_error err;
  ff_error_init(&err);
  return push_ok(L, ff_mkdir_p(check_cstr(L, 1, "path"), &err), &err);
}

static int io_remove_tree(lua_State *L) {
  ff_error err;
  ff_error_init(&err);
  return push_ok(L, ff_remove_tree(check_cstr(L, 1, "path"), &err), &err);
}

/* clean_cache(dir): removes a cache's half-built entries left by killed runs; how many. */
static int io_clean_cache(lua_State *L) {
  lua_pushinteger(L, ff_files_clean_tmpdirs(check_cstr(L, 1, "path"), FF_STALE_SECONDS));
  return 1;
}

/*
** file_info(path) -> kind, size: "file", "directory", "fifo", "device",
** "socket" or "other", without opening it (opening a FIFO blocks, reading
** /dev/zero never ends); fail, message when there is nothing there.
*/
static int io_file_info(lua_State *L) {
  const char *path = check_cstr(L, 1, "path");
  struct stat st;
  const char *kind = "other";
  if (stat(path, &st) != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  if (S_ISREG(st.st_mode)) kind = "file";
  else if (S_ISDIR(st.st_mode)) kind = "directory";
  else if (S_ISFIFO(st.st_mode)) kind = "fifo";
  else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) kind = "device";
  else if (S_ISSOCK(st.st_mode)) kind = "socket";
  lua_pushstring(L, kind);
  lua_pushnumber(L, (lua_Number)st.st_size);
  return 2;
}

/*
** write_file(path, bytes): the whole file or nothing, through a temporary name
** unique to this writer (two writers of one path never share one), committed
** as a save is. true, or fail, message.
*/
static int io_write_file(lua_State *L) {
  const char *path = check_cstr(L, 1, "path");
  size_t len;
  const char *data = luaL_checklstring(L, 2, &len);
  ff_rng rng;
  ff_error err;
  int rc;
  ff_rng_seed(&rng, (uint64_t)(ff_wall() * 1e6) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&rng);
  ff_error_init(&err);
  rc = ff_file_write(path, data, len, &rng, &err);
  return push_ok(L, rc, &err);
}

/* ---- processes (src/proc.h): the launcher's emulator, without a shell ---- */

#define PROC_MT "firefly.core.process"

/*
** spawn(argv, {stdin = "pipe", stdout = "pipe", stderr = path}) -> process, or
** fail, message. argv[1] is the program (looked up on PATH without a '/');
** every element is passed as it is, no shell reads it.
*/
static int io_spawn(lua_State *L) {
  int n, i, rc, pipe_in, pipe_out;
  const char *err_path = NULL;
  char **argv;
  ff_proc *p;
  luaL_checktype(L, 1, LUA_TTABLE);
  n = (int)lua_rawlen(L, 1);
  if (n < 1) return luaL_argerror(L, 1, "argv is empty");
  lua_getfield(L, 2, "stdin");
  pipe_in = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "pipe") == 0;
  lua_getfield(L, 2, "stdout");
  pipe_out = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "pipe") == 0;
  lua_getfield(L, 2, "stderr");
  if (!lua_isnil(L, -1)) err_path = check_cstr(L, -1, "stderr");
  /* The strings stay on the stack (in argv's table) while the vector is used. */
  argv = lua_newuserdata(L, (size_t)(n + 1) * sizeof *argv);
  for (i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_argerror(L, 1, "argv holds a value that is not a string");
    argv[i] = (char *)check_cstr(L, -1, "an argument");
    lua_pop(L, 1); /* argv's table keeps the string alive */
  }
  argv[n] = NULL;
  p = lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  p->in = p->out = -1;
  luaL_setmetatable(L, PROC_MT);
  rc = ff_proc_spawn(p, argv, pipe_in, pipe_out, err_path);
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "%s: %s", argv[0], strerror(rc));
    return 2;
  }
  return 1;
}

static ff_proc *check_proc(lua_State *L) { return luaL_checkudata(L, 1, PROC_MT); }

static int p_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_proc(L)->pid);
  return 1;
}

/* The next line of its stdout, or nil at EOF; blocks until one comes. */
static int p_read_line(lua_State *L) {
  char line[4096];
  if (!ff_proc_read_line(check_proc(L), line, sizeof line)) return luaL_pushfail(L), 1;
  lua_pushstring(L, line);
  return 1;
}

static int p_close_stdin(lua_State *L) {
  ff_proc_close_in(check_proc(L));
  return 0;
}

/* kill(signal number): a no-op once it has been reaped (its pid may be another's by then). */
static int p_kill(lua_State *L) {
  ff_proc *p = check_proc(L);
  int sig = (int)luaL_optinteger(L, 2, SIGTERM);
  if (p->pid > 0 && !p->reaped) kill(p->pid, sig);
  return 0;
}

/*
** wait(block) -> nil while it runs (block false); else "exit", code or "signal", number.
** A SIGINT or SIGTERM caught meanwhile (trap_signals) is passed on to it, so a
** foreground child ends as this process was asked to.
*/
static int p_wait(lua_State *L) {
  ff_proc *p = check_proc(L);
  int block = lua_toboolean(L, 2) || lua_isnone(L, 2), r;
  while ((r = ff_proc_wait(p, block)) < 0 && errno == EINTR) {
    if (caught_signal && p->pid > 0) kill(p->pid, (int)caught_signal);
  }
  if (r == 0) return luaL_pushfail(L), 1;
  if (r < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  if (WIFSIGNALED(p->status)) {
    lua_pushliteral(L, "signal");
    lua_pushinteger(L, WTERMSIG(p->status));
  } else {
    lua_pushliteral(L, "exit");
    lua_pushinteger(L, WEXITSTATUS(p->status));
  }
  return 2;
}

/* Collected: our pipe ends close (its stdin reaches EOF); the process is the owner's to end. */
static int p_gc(lua_State *L) {
  ff_proc *p = check_proc(L);
  ff_proc_close_in(p);
  ff_proc_close_out(p);
  return 0;
}

static int p_close_stdout(lua_State *L) {
  ff_proc_close_out(check_proc(L));
  return 0;
}

static const luaL_Reg proc_meth[] = {{"pid", p_pid}, {"read_line", p_read_line}, {"close_stdin", p_close_stdin},
                                     {"close_stdout", p_close_stdout},
                                     {"kill", p_kill}, {"wait", p_wait}, {NULL, NULL}};

static int io_getpid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

/* api_host_invalid(entry) -> nil, or why it is not an api_hosts entry (src/hosts.h says the shape). */
static int io_api_host_invalid(lua_State *L) {
  size_t len;
  const char *entry = luaL_checklstring(L, 1, &len);
  const char *why = ff_api_host_invalid(entry, len);
  if (why) lua_pushstring(L, why);
  else lua_pushnil(L);
  return 1;
}

/*
** integers(t) -> t: cjson decodes every JSON number as a float; on Lua 5.3+ each whole one in
** t, and in the tables in it down to 16 levels, becomes an integer (a seed prints as 42, not
** 42.0). result.lua's walk, done here: a job's result is walked once, a dozen fields, and in
** the VM that was the most expensive Lua of a job after checking its body.
*/
#if LUA_VERSION_NUM >= 503
static void integers(lua_State *L, int t, int depth) {
  lua_Integer i;
  lua_pushnil(L);
  while (lua_next(L, t) != 0) {
    int kind = lua_type(L, -1);
    if (kind == LUA_TNUMBER && !lua_isinteger(L, -1) && lua_numbertointeger(lua_tonumber(L, -1), &i) &&
        (lua_Number)i == lua_tonumber(L, -1)) {
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushinteger(L, i);
      lua_rawset(L, t); /* an existing key: the walk goes on */
    } else if (kind == LUA_TTABLE && depth < 16) {
      luaL_checkstack(L, 3, "firefly: a result nested too deep");
      integers(L, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    } else {
      lua_pop(L, 1);
    }
  }
}
#endif

static int io_integers(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
#if LUA_VERSION_NUM >= 503
  integers(L, 1, 0);
#endif
  return 1;
}

/* isatty(fd): whether a terminal is there (the CLI's live progress), no `test -t`. */
static int io_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

static const luaL_Reg corelib[] = {{"new", io_new}, {"now", io_now}, {"wait", io_wait}, {"sha256", io_sha256},
                                   {"sha256_file", io_sha256_file}, {"append_sync", io_append_sync},
                                   {"trap_signals", io_trap_signals}, {"signalled", io_signalled},
                                   {"mkdir_p", io_mkdir_p}, {"remove_tree", io_remove_tree},
                                   {"file_info", io_file_info}, {"clean_cache", io_clean_cache}, {"isatty", io_isatty},
                                   {"api_host_invalid", io_api_host_invalid}, {"write_file", io_write_file},
                                   {"spawn", io_spawn}, {"getpid", io_getpid}, {"integers", io_integers},
                                   {NULL, NULL}};

/* The one symbol core.so exports (everything else is built with hidden visibility). */
LUALIB_API __attribute__((visibility("default"))) int luaopen_firefly_core(lua_State *L) {
  pthread_once(&curl_once, curl_init);
  if (luaL_newmetatable(L, CLIENT_MT)) {
    luaL_setfuncs(L, metameth, 0);
    luaL_newlib(L, meth);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  if (luaL_newmetatable(L, PROC_MT)) {
    lua_pushcfunction(L, p_gc);
    lua_setfield(L, -2, "__gc");
    luaL_newlib(L, proc_meth);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
  /*
  ** decode of a private cjson instance, kept per state in the registry (no C
  ** globals): a host's cjson.decode_max_depth(1) or encode_number_precision(3)
  ** configures its own instance, never this one.
  */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "cjson");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "new");
  lua_call(L, 0, 1);
  /* A server's NaN or Infinity is not JSON; as a progress or lifetime it would stall a job. */
  lua_getfield(L, -1, "decode_invalid_numbers");
  lua_pushboolean(L, 0);
  lua_call(L, 1, 0);
  lua_getfield(L, -1, "decode");
  lua_setfield(L, LUA_REGISTRYINDEX, DECODE_KEY);
  lua_getfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
  if (!lua_istable(L, -1)) {
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, DOCS_KEY);
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, TEXTS_KEY);
  }
  lua_pop(L, 1);
  lua_pop(L, 2);
  luaL_newlib(L, corelib);
  lua_pushliteral(L, FIREFLY_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, ff_poller_name()); /* "epoll", or "poll": then pollfd() is nil */
  lua_setfield(L, -2, "poller");
  return 1;
}

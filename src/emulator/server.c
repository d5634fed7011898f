/*
** server.c: libmicrohttpd's side. Requests are collected here and handed to
** Lua as app:handle(req) from MHD's single polling thread, so the Lua state
** needs no locking. The listening socket is bound, and Lua told its URL,
** before that thread exists: no request can reach Lua before it is ready.
*/
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "emulator.h"

#define EMU_MAX_BODY ((size_t)64 << 20) /* past this, 413 without calling Lua */
#define EMU_MAX_CONNECTIONS 4096
#define EMU_CONNECTION_TIMEOUT 120 /* seconds idle before MHD drops a socket */
#define EMU_BACKLOG 1024

/* Per-request state: the body as it arrives. */
struct emu_request {
  char *body;
  size_t len, cap;
  int too_large;
  int started;  /* the access handler has seen this request */
  char *path;   /* the decoded path when it holds a NUL (MHD's url ends there), else NULL */
  size_t path_len;
};

/*
** Header names are case-insensitive; Lua sees them lowercased, and repeats
** are joined with ", " as RFC 9110 allows.
*/
static enum MHD_Result aux_header(void *cls, enum MHD_ValueKind kind,
                                  const char *key, const char *value) {
  lua_State *L = cls;
  (void)kind;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const char *p = key; *p; p++)
    luaL_addchar(&b, (char)tolower((unsigned char)*p));
  luaL_pushresult(&b);
  lua_pushvalue(L, -1);
  if (lua_rawget(L, -3) == LUA_TSTRING) {
    lua_pushliteral(L, ", ");
    lua_pushstring(L, value ? value : "");
    lua_concat(L, 3);
  } else {
    lua_pop(L, 1);
    lua_pushstring(L, value ? value : "");
  }
  lua_rawset(L, -3);
  return MHD_YES;
}

/* A query value with its length: "%00" decodes to a NUL byte inside the value,
   which a C string would end there ('secret%00x' read as 'secret'). */
static enum MHD_Result aux_query(void *cls, enum MHD_ValueKind kind,
                                 const char *key, size_t key_size,
                                 const char *value, size_t value_size) {
  lua_State *L = cls;
  (void)kind;
  lua_pushlstring(L, key, key_size);
  lua_pushlstring(L, value ? value : "", value ? value_size : 0);
  lua_rawset(L, -3);
  return MHD_YES;
}

static void aux_push_remote(lua_State *L, struct MHD_Connection *conn) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char text[INET6_ADDRSTRLEN] = "";
  if (ci != NULL && ci->client_addr != NULL) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
                text, sizeof text);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
                text, sizeof text);
  }
  lua_pushstring(L, text);
}

/* Build the req table Lua's handle() receives. */
static void aux_push_request(lua_State *L, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const struct emu_request *r) {
  lua_createtable(L, 0, 6);
  lua_pushstring(L, method);
  lua_setfield(L, -2, "method");
  if (r->path) lua_pushlstring(L, r->path, r->path_len);
  else lua_pushstring(L, url);
  lua_setfield(L, -2, "path");
  lua_newtable(L);
  MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, aux_query, L);
  lua_setfield(L, -2, "query");
  lua_newtable(L);
  MHD_get_connection_values(conn, MHD_HEADER_KIND, aux_header, L);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body ? r->body : "", r->len);
  lua_setfield(L, -2, "body");
  aux_push_remote(L, conn);
  lua_setfield(L, -2, "remote");
}

/* --faults: may this request be refused before its body is read? Logs if so. */
static int aux_refuse(struct emu_server *s, const char *method, const char *url) {
  lua_State *L = s->L;
  int base = lua_gettop(L), refused = 0;
  emu_method(s, "refuse");
  lua_pushstring(L, method);
  lua_pushstring(L, url);
  if (emu_pcall(L, 3, 1) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s %s: %s\n", method, url, lua_tostring(L, -1));
  } else if (lua_isstring(L, -1)) {
    emu_log(s, lua_tostring(L, -1));
    refused = 1;
  }
  lua_settop(L, base);
  return refused;
}

/* -------------------------------------------------------- MHD callbacks */

static int aux_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
** Called with the request line's raw target before MHD decodes it: its state
** starts here. MHD hands the access handler a decoded path as a C string, so a
** "%00" in it would end the path there ('/v3/status/ID%00x' read as the status
** of ID); such a path is decoded here, with its length, for Lua to see whole.
*/
static void *srv_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  struct emu_request *r = calloc(1, sizeof *r);
  size_t n = 0, i;
  int nul = 0;
  (void)cls;
  (void)conn;
  if (r == NULL || uri == NULL) return r;
  while (uri[n] && uri[n] != '?') n++;
  for (i = 0; i + 2 < n; i++)
    if (uri[i] == '%' && uri[i + 1] == '0' && uri[i + 2] == '0') nul = 1;
  if (!nul) return r;
  r->path = malloc(n + 1);
  if (r->path == NULL) return r; /* then MHD's path, cut, as before */
  for (i = 0; i < n; i++) {
    int hi = -1, lo = -1;
    if (uri[i] == '%' && i + 2 < n) {
      hi = aux_hex(uri[i + 1]);
      lo = aux_hex(uri[i + 2]);
    }
    if (hi >= 0 && lo >= 0) {
      r->path[r->path_len++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      r->path[r->path_len++] = uri[i];
    }
  }
  r->path[r->path_len] = '\0';
  return r;
}

static enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  struct emu_server *s = cls;
  struct emu_request *r = *con_cls;
  (void)version;
  if (r == NULL || !r->started) {
    if (r == NULL) r = calloc(1, sizeof *r);
    if (r == NULL) return MHD_NO;
    *con_cls = r;
    r->started = 1;
    if (s->faults && aux_refuse(s, method, url)) return MHD_NO;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (r->too_large || n > EMU_MAX_BODY - r->len) {
      r->too_large = 1;
      return MHD_YES;
    }
    if (r->cap - r->len < n) {
      size_t cap = r->cap ? r->cap : 4096;
      while (cap - r->len < n) cap *= 2;
      char *nb = realloc(r->body, cap);
      if (nb == NULL) return MHD_NO;
      r->body = nb;
      r->cap = cap;
    }
    memcpy(r->body + r->len, upload_data, n);
    r->len += n;
    return MHD_YES;
  }
  if (r->too_large)
    return emu_queue_text(conn, 413, "text/html",
                     "<html><body><h1>413 Request Entity Too Large</h1></body></html>");

  lua_State *L = s->L;
  int base = lua_gettop(L);
  emu_method(s, "handle");
  aux_push_request(L, conn, url, method, r);
  if (emu_pcall(L, 2, 5) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s %s: %s\n", method, url, lua_tostring(L, -1));
    lua_settop(L, base);
    return emu_queue_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json",
                     "{\"error_code\":\"runtime_error\",\"message\":\"emulator internal error\"}");
  }
  enum MHD_Result rc = emu_respond(s, conn, base);
  lua_settop(L, base);
  return rc;
}

static void srv_completed(void *cls, struct MHD_Connection *conn,
                          void **con_cls, enum MHD_RequestTerminationCode toe) {
  struct emu_request *r = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (r != NULL) {
    free(r->body);
    free(r->path);
    free(r);
    *con_cls = NULL;
  }
}

/* Bind and listen on host:port; returns the socket and its family, or -1. */
static int aux_listen(const char *host, const char *port, int *family, unsigned *bound) {
  struct addrinfo hints, *ai = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  int gai = getaddrinfo(host, port, &hints, &ai);
  if (gai != 0) {
    fprintf(stderr, "firefly-emulator: --host %s: %s\n", host, gai_strerror(gai));
    return -1;
  }
  int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol), on = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, EMU_BACKLOG) != 0) {
    fprintf(stderr, "firefly-emulator: cannot listen on %s port %s: %s\n", host, port, strerror(errno));
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return -1;
  }
  *family = ai->ai_family;
  freeaddrinfo(ai);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  *bound = 0;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
    if (ss.ss_family == AF_INET)
      *bound = ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
      *bound = ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
  }
  return fd;
}

/*
** Listen, tell Lua where (the default --public-url), only then let MHD's
** thread accept, and finally tell the world: the first stdout line.
*/
int emu_start(struct emu_server *s, const char *host, const char *port) {
  int family;
  unsigned bound;
  s->listen_fd = aux_listen(host, port, &family, &bound);
  if (s->listen_fd < 0) return -1;

  lua_State *L = s->L;
  const char *scheme = s->tls_cert != NULL ? "https" : "http";
  if (family == AF_INET6)
    lua_pushfstring(L, "%s://[%s]:%d", scheme, host, (int)bound);
  else
    lua_pushfstring(L, "%s://%s:%d", scheme, host, (int)bound);
  emu_method(s, "listening");
  lua_pushvalue(L, -3);
  if (emu_pcall(L, 2, 0) != LUA_OK) {
    fprintf(stderr, "firefly-emulator: %s\n", lua_tostring(L, -1));
    lua_pop(L, 2);
    return -1;
  }

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                   MHD_ALLOW_SUSPEND_RESUME;
  if (family == AF_INET6) flags |= MHD_USE_IPv6;
  /* The TLS options go through an array: MHD refuses them on a plain daemon. */
  struct MHD_OptionItem tls[] = {
    {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
    {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
    {MHD_OPTION_END, 0, NULL},
  };
  if (s->tls_cert != NULL) flags |= MHD_USE_TLS;
  else tls[0].option = MHD_OPTION_END;
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, srv_access, s,
      MHD_OPTION_ARRAY, tls,
      MHD_OPTION_LISTEN_SOCKET, (MHD_socket)s->listen_fd,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)EMU_MAX_CONNECTIONS,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)EMU_CONNECTION_TIMEOUT,
      MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s,
      MHD_OPTION_URI_LOG_CALLBACK, srv_uri, s,
      MHD_OPTION_END);
  if (s->daemon == NULL) {
    fprintf(stderr, "firefly-emulator: cannot serve on %s port %s\n", host, port);
    close(s->listen_fd);
    s->listen_fd = -1;
    lua_pop(L, 1);
    return -1;
  }
  printf("%s\n", lua_tostring(L, -1));
  fflush(stdout);
  lua_pop(L, 1);
  return 0;
}

/*
** emulator.h: what the emulator's C files share. The server (server.c) owns
** libmicrohttpd, respond.c turns Lua's answers (and its faults) into MHD
** responses, native.c is the Lua library firefly.emulator.native, main.c
** reads the flags, starts and watches for the end of its parent.
*/
#ifndef FIREFLY_EMULATOR_H
#define FIREFLY_EMULATOR_H

#include <pthread.h>
#include <stdio.h>

#include <microhttpd.h>

#include <lua.h>

struct emu_cut;

struct emu_server {
  lua_State *L;
  int app_ref;   /* registry ref of the Lua app object */
  FILE *log;     /* --log target, or NULL */
  struct MHD_Daemon *daemon;
  int listen_fd; /* bound and listening before MHD's thread exists, or -1 */
  int faults;    /* --faults or --faults-script given: ask Lua before reading a request */
  /* Stalled responses, suspended by MHD's thread and resumed by main's. */
  pthread_mutex_t lock;
  struct emu_cut *stalled;
  /* --tls-cert/--tls-key contents: MHD reads them as long as the daemon runs. */
  char *tls_cert, *tls_key;
};

/* native.c */
int emu_open_native(lua_State *L);
int emu_pcall(lua_State *L, int nargs, int nres);
void emu_method(struct emu_server *s, const char *name);
double emu_monotonic(void);

/* respond.c */
enum MHD_Result emu_respond(struct emu_server *s, struct MHD_Connection *conn, int base);
enum MHD_Result emu_queue_text(struct MHD_Connection *conn, unsigned status,
                               const char *ctype, const char *body);
void emu_resume_due(struct emu_server *s, int all);
void emu_log(struct emu_server *s, const char *line);

/* server.c */
int emu_start(struct emu_server *s, const char *host, const char *port);

#endif

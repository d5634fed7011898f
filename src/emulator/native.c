/*
** native.c: firefly.emulator.native, the few things the behaviour (Lua)
** needs from C: a clock finer than os.time, pictures (drawn, enlarged,
** composited: png.c, raster.c), SHA-256, and the
** pcall/method helpers the rest of the C side calls Lua through.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>

#include "emulator.h"
#include "png.h"
#include "raster.h"
#include "../sha256.h" /* the core's: one SHA-256 in the project */

/* emu.now() -> wall-clock seconds as a float (os.time has 1 s resolution). */
static int emu_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

/* emu.png(width, height, seed) -> string: deterministic picture. */
static int emu_png(lua_State *L) {
  lua_Integer w = luaL_checkinteger(L, 1);
  lua_Integer h = luaL_checkinteger(L, 2);
  lua_Integer seed = luaL_checkinteger(L, 3);
  luaL_argcheck(L, w >= 1 && w <= PNG_MAX_SIDE, 1, "width out of range");
  luaL_argcheck(L, h >= 1 && h <= PNG_MAX_SIDE, 2, "height out of range");
  unsigned char *buf;
  size_t len;
  if (png_picture((unsigned)w, (unsigned)h, (uint32_t)seed, &buf, &len) != 0)
    return luaL_error(L, "cannot encode a %dx%d picture", (int)w, (int)h);
  lua_pushlstring(L, (const char *)buf, len);
  free(buf);
  return 1;
}

/* emu.sha256(s) -> hex digest, logged beside each output served. */
static int emu_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  ff_sha256 h;
  ff_sha256_init(&h);
  ff_sha256_update(&h, s, len);
  ff_sha256_hex(&h, hex);
  lua_pushstring(L, hex);
  return 1;
}

static struct raster_input aux_input(lua_State *L, int arg) {
  struct raster_input in = {NULL, 0};
  if (!lua_isnoneornil(L, arg)) in.png = (const unsigned char *)luaL_checklstring(L, arg, &in.len);
  return in;
}

/* Push the PNG a raster_* call made, or fail and a reason. */
static int aux_push_png(lua_State *L, int rc, unsigned char *buf, size_t len) {
  if (rc != 0) {
    luaL_pushfail(L);
    lua_pushliteral(L, "not a PNG this emulator can read, or too large");
    return 2;
  }
  lua_pushlstring(L, (const char *)buf, len);
  free(buf);
  return 1;
}

/* emu.upscale(png, factor) -> png enlarged `factor` times, or fail, why. */
static int emu_upscale(lua_State *L) {
  struct raster_input img = aux_input(L, 1);
  lua_Integer factor = luaL_checkinteger(L, 2);
  luaL_argcheck(L, factor >= 1 && factor <= 16, 2, "factor out of range");
  unsigned char *buf = NULL;
  size_t len = 0;
  int rc = raster_upscale(img, (unsigned)factor, &buf, &len);
  return aux_push_png(L, rc, buf, len);
}

/* emu.composite(background, mask, object [, object_mask]) -> png, or fail, why. */
static int emu_composite(lua_State *L) {
  struct raster_input bg = aux_input(L, 1), mask = aux_input(L, 2), obj = aux_input(L, 3),
                      om = aux_input(L, 4);
  unsigned char *buf = NULL;
  size_t len = 0;
  int rc = raster_composite(bg, mask, obj, om, &buf, &len);
  return aux_push_png(L, rc, buf, len);
}

static const luaL_Reg emulib[] = {
  {"upscale", emu_upscale},
  {"composite", emu_composite},
  {"now", emu_now},
  {"png", emu_png},
  {"sha256", emu_sha256},
  {NULL, NULL}
};

int emu_open_native(lua_State *L) {
  luaL_newlib(L, emulib);
  return 1;
}

double emu_monotonic(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int aux_traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
  return 1;
}

/* Call the function on the stack below `nargs` arguments, with a traceback. */
int emu_pcall(lua_State *L, int nargs, int nres) {
  int base = lua_gettop(L) - nargs;
  lua_pushcfunction(L, aux_traceback);
  lua_insert(L, base);
  int rc = lua_pcall(L, nargs, nres, base);
  lua_remove(L, base);
  return rc;
}

/* Push app[name] with app as its first argument (a method call prologue). */
void emu_method(struct emu_server *s, const char *name) {
  lua_rawgeti(s->L, LUA_REGISTRYINDEX, s->app_ref);
  lua_getfield(s->L, -1, name);
  lua_insert(s->L, -2);
}

/*
** The few Lua C API differences between 5.1 (and LuaJIT 2.1) and 5.4 that
** the binding meets. LuaJIT 2.1 already has luaL_setfuncs and friends.
*/
#ifndef FF_COMPAT_H
#define FF_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#ifndef LUA_OK
#define LUA_OK 0
#endif
#ifndef luaL_newlib
#define luaL_newlibtable(L, l) lua_createtable(L, 0, sizeof(l) / sizeof((l)[0]) - 1)
#define luaL_newlib(L, l) (luaL_newlibtable(L, l), luaL_setfuncs(L, l, 0))
#endif
#define lua_rawlen(L, i) lua_objlen(L, (i))
#endif

#if LUA_VERSION_NUM < 504
#define luaL_pushfail(L) lua_pushnil(L)
#endif

#endif

# firefly_find_dep(NAME [REQUIRED] PKG module HEADER file [SUFFIXES dir...] LIBS name...)
#
# Finds a C dependency and makes the interface target firefly::NAME.
# NAME_INCDIR and NAME_LIBDIR, when given (LuaRocks passes them from the
# rockspec's external_dependencies; or set in the environment), are the only
# place searched; otherwise pkg-config, then the default paths (a NAME_LIBDIR
# without NAME_INCDIR only hints where the library is). Sets NAME_FOUND.
# Without LIBS it is headers only (a Lua C module takes Lua's symbols from
# the interpreter that loads it).
function(firefly_find_dep name)
  cmake_parse_arguments(D "REQUIRED" "PKG;HEADER" "SUFFIXES;LIBS" ${ARGN})
  foreach(k INCDIR LIBDIR)   # also from the environment: MICROHTTPD_INCDIR=... luarocks install firefly
    # An INTERNAL entry is no user's setting: a build folder configured before this file
    # existed holds pkg_check_modules(CURL ...)'s CURL_LIBDIR, which once made a re-run
    # search only there for headers and stop with "CURL not found".
    get_property(type CACHE ${name}_${k} PROPERTY TYPE)
    if(type STREQUAL "INTERNAL")
      unset(${name}_${k} CACHE)
      unset(${name}_${k})
    endif()
    if(NOT ${name}_${k} AND DEFINED ENV{${name}_${k}})
      set(${name}_${k} "$ENV{${name}_${k}}")
    endif()
  endforeach()
  set(found OFF)
  set(incs "")
  set(libs "")
  # Only the headers' folder makes the search explicit (LuaRocks passes both; a LIBDIR
  # alone is where to look for the library, the headers are still found as usual).
  if(${name}_INCDIR)
    # Given directories are the only ones searched (Debian's curl/curl.h is in include/<multiarch>).
    find_path(${name}_HEADER_DIR ${D_HEADER} PATHS ${${name}_INCDIR}
      PATH_SUFFIXES ${D_SUFFIXES} ${CMAKE_LIBRARY_ARCHITECTURE} NO_DEFAULT_PATH)
    set(incs ${${name}_HEADER_DIR})
    if(D_LIBS)
      if(${name}_LIBDIR)
        find_library(${name}_LIBRARY NAMES ${D_LIBS} PATHS ${${name}_LIBDIR} NO_DEFAULT_PATH)
      else()
        find_library(${name}_LIBRARY NAMES ${D_LIBS})
      endif()
      set(libs ${${name}_LIBRARY})
    endif()
    if(${name}_HEADER_DIR AND (${name}_LIBRARY OR NOT D_LIBS))
      set(found ON)
    endif()
  endif()
  set(explicit OFF)
  if(${name}_INCDIR)
    set(explicit ON)
  endif()
  if(NOT found AND NOT explicit AND D_PKG AND PKG_CONFIG_FOUND)
    pkg_check_modules(${name}_PC QUIET ${D_PKG})
    if(${name}_PC_FOUND)
      set(found ON)
      set(incs ${${name}_PC_INCLUDE_DIRS})
      if(D_LIBS)
        set(libs ${${name}_PC_LINK_LIBRARIES})
      endif()
    endif()
  endif()
  if(NOT found AND NOT explicit)
    find_path(${name}_HEADER_DIR ${D_HEADER} PATH_SUFFIXES ${D_SUFFIXES})
    set(incs ${${name}_HEADER_DIR})
    if(D_LIBS)
      find_library(${name}_LIBRARY NAMES ${D_LIBS} HINTS ${${name}_LIBDIR})
      set(libs ${${name}_LIBRARY})
    endif()
    if(${name}_HEADER_DIR AND (${name}_LIBRARY OR NOT D_LIBS))
      set(found ON)
    endif()
  endif()
  if(found)
    add_library(firefly::${name} INTERFACE IMPORTED GLOBAL)
    set_target_properties(firefly::${name} PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${incs}" INTERFACE_LINK_LIBRARIES "${libs}")
  elseif(D_REQUIRED)
    message(FATAL_ERROR "firefly: ${name} not found (${D_HEADER}); "
      "install it, or pass -D${name}_INCDIR=... -D${name}_LIBDIR=...")
  endif()
  set(${name}_FOUND ${found} PARENT_SCOPE)
endfunction()

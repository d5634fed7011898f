# Test registration: C unit tests for the pure-C pieces, then one busted run per
# spec file per interpreter. Each spec file starts its own emulator, so ctest -j is safe.
enable_testing()

file(GLOB FIREFLY_C_TESTS "${CMAKE_SOURCE_DIR}/tests/test_*.c")
foreach(src ${FIREFLY_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_link_libraries(${name} PRIVATE firefly_engine)
  target_include_directories(${name} PRIVATE "${CMAKE_SOURCE_DIR}/src")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME c:${name} COMMAND ${name})
endforeach()

# An uninstrumented interpreter loading an instrumented module needs the ASan
# runtime loaded first.
set(FIREFLY_TEST_PRELOAD "")
if(FIREFLY_SANITIZE MATCHES "address")
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
    OUTPUT_VARIABLE FIREFLY_ASAN_LIB OUTPUT_STRIP_TRAILING_WHITESPACE)
  # Leak checking stays with valgrind (make valgrind): LeakSanitizer cannot
  # scan LuaJIT's own heap, and its tracer crashes in children the specs fork.
  set(FIREFLY_TEST_PRELOAD "LD_PRELOAD=${FIREFLY_ASAN_LIB};ASAN_OPTIONS=detect_leaks=0")
endif()

# Every spec runs on every interpreter a binding was built for (FIREFLY_TEST_LUAS,
# from CMakeLists.txt), under the name <interpreter>:<spec> and the label
# <interpreter>. FIREFLY_TEST_LUA names the interpreter under test, so a spec
# starts its children on it (spec/helpers/emulator.lua: helper.lua).
# A spec that does not depend on the interpreter (it tests the emulator, a
# browser, a LÖVE host) says so with a line "-- test: once" at its top, and
# runs on one interpreter only: Lua 5.4 where it is built.
find_program(BUSTED busted)
file(GLOB FIREFLY_SPECS "${CMAKE_SOURCE_DIR}/spec/*_spec.lua")
set(FIREFLY_ONCE_LUA "")
foreach(pair ${FIREFLY_TEST_LUAS})
  if(pair MATCHES "^lua5.4=" OR NOT FIREFLY_ONCE_LUA)
    string(REGEX REPLACE "=.*" "" FIREFLY_ONCE_LUA "${pair}")
  endif()
endforeach()
if(BUSTED AND NOT TARGET firefly-emulator)
  message(STATUS "firefly: no firefly-emulator, so no busted specs (only the C unit tests)")
  set(FIREFLY_SPECS "")
endif()
foreach(pair ${FIREFLY_TEST_LUAS})
  string(REPLACE "=" ";" parts ${pair})
  list(GET parts 0 interp)
  list(GET parts 1 libdir)
  find_program(INTERP_${interp} ${interp})
  if(NOT INTERP_${interp} OR NOT BUSTED)
    continue()
  endif()
  # The same paths under 5.2-5.4's own names too, which win over the plain ones:
  # a user's LUA_CPATH_5_4 must not load another build's binding.
  set(lua_env "")
  foreach(suffix "" _5_2 _5_3 _5_4)
    list(APPEND lua_env
      "LUA_PATH${suffix}=${CMAKE_SOURCE_DIR}/lua/?.lua\;${CMAKE_SOURCE_DIR}/lua/?/init.lua\;${CMAKE_SOURCE_DIR}/spec/?.lua\;\;"
      "LUA_CPATH${suffix}=${CMAKE_BINARY_DIR}/${libdir}/?.so\;\;")
  endforeach()
  foreach(spec ${FIREFLY_SPECS})
    get_filename_component(name ${spec} NAME_WE)
    file(STRINGS ${spec} once REGEX "^-- test: once" LIMIT_COUNT 1)
    if(once AND NOT interp STREQUAL FIREFLY_ONCE_LUA)
      continue()
    endif()
    add_test(NAME ${interp}:${name}
      COMMAND ${INTERP_${interp}} ${BUSTED} --output=utfTerminal ${spec}
      WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}")
    set_tests_properties(${interp}:${name} PROPERTIES LABELS ${interp} ENVIRONMENT
      "${lua_env};FIREFLY_TEST_LUA=${INTERP_${interp}};FIREFLY_EMULATOR=${CMAKE_BINARY_DIR}/bin/firefly-emulator;${FIREFLY_TEST_PRELOAD}")
  endforeach()
endforeach()

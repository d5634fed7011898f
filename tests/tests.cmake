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

find_program(BUSTED busted)
file(GLOB FIREFLY_SPECS "${CMAKE_SOURCE_DIR}/spec/*_spec.lua")
set(FIREFLY_INTERPRETERS "lua5.4=lib/5.4")
if(LUAJIT_FOUND)
  list(APPEND FIREFLY_INTERPRETERS "luajit=lib/jit")
endif()
foreach(pair ${FIREFLY_INTERPRETERS})
  string(REPLACE "=" ";" parts ${pair})
  list(GET parts 0 interp)
  list(GET parts 1 libdir)
  find_program(INTERP_${interp} ${interp})
  if(NOT INTERP_${interp} OR NOT BUSTED)
    continue()
  endif()
  foreach(spec ${FIREFLY_SPECS})
    get_filename_component(name ${spec} NAME_WE)
    add_test(NAME ${interp}:${name}
      COMMAND ${INTERP_${interp}} ${BUSTED} --output=utfTerminal ${spec}
      WORKING_DIRECTORY "${CMAKE_SOURCE_DIR}")
    set_tests_properties(${interp}:${name} PROPERTIES ENVIRONMENT
      "LUA_PATH=${CMAKE_SOURCE_DIR}/lua/?.lua\;${CMAKE_SOURCE_DIR}/lua/?/init.lua\;${CMAKE_SOURCE_DIR}/spec/?.lua\;\;;LUA_CPATH=${CMAKE_BINARY_DIR}/${libdir}/?.so\;\;;FIREFLY_EMULATOR=${CMAKE_BINARY_DIR}/bin/firefly-emulator;${FIREFLY_TEST_PRELOAD}")
  endforeach()
endforeach()

# Warns once per build tree when the consumer compiles with g++ older than 13, whose
# coroutine bug (GCC PR 101367) destroys a capturing lambda temporary twice when it appears
# in a statement that contains co_await. Included by the package config and by the
# top-level CMakeLists.txt when tako is added with add_subdirectory.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    get_property(_tako_warned GLOBAL PROPERTY TAKO_GCC12_WARNED)
    if(NOT _tako_warned)
        set_property(GLOBAL PROPERTY TAKO_GCC12_WARNED TRUE)
        message(WARNING
            "tako: g++ ${CMAKE_CXX_COMPILER_VERSION} destroys a capturing lambda temporary "
            "twice when it appears in a statement that contains co_await (GCC PR 101367), "
            "e.g. `co_await tako::spawn_blocking([s] { ... })`. Use the safe forms, which "
            "store the data in the task: tako::spawn(f, args...), "
            "tako::spawn_blocking(f, args...), join_set::spawn(f, args...) with a captureless "
            "f, or bind the lambda to a named local first; or build with clang 19 / g++ 13.")
    endif()
endif()

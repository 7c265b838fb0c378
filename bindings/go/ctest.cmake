# ctest `binding-go`: the Go binding's tests (bindings/go), with the race
# detector, against this build's libinvar.so. Only with Debian's Go
# (golang-go): no module proxy, no dependencies, caches under the build tree.
# Not in sanitizer builds (the Go test binary does not load their runtimes).
find_program(INVAR_GO go PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT INVAR_GO)
  message(STATUS "invar: /usr/bin/go not found (Debian golang-go): no binding-go test")
elseif(NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  set(go_tree ${PROJECT_BINARY_DIR}/bindings/go)
  add_test(NAME binding-go
           COMMAND ${CMAKE_COMMAND} -E env GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=1
                   GOCACHE=${go_tree}/cache GOPATH=${go_tree}/gopath
                   CGO_CFLAGS=-I${PROJECT_SOURCE_DIR}/include
                   "CGO_LDFLAGS=-L$<TARGET_FILE_DIR:invar_shared> -linvar"
                   LD_LIBRARY_PATH=$<TARGET_FILE_DIR:invar_shared>
                   ${INVAR_GO} test -race -count=1 ./...
           WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/bindings/go)
endif()

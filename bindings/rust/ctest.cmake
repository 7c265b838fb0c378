# ctest `binding-rust`: `cargo test --offline` of bindings/rust against the
# libinvar.so of this build. Debian's toolchain only (/usr/bin: rustup's
# shims come first in PATH on some machines); no test when it is absent.
# Not in sanitizer builds: the test binaries carry no sanitizer runtime.
find_program(INVAR_CARGO NAMES cargo PATHS /usr/bin NO_DEFAULT_PATH)
find_program(INVAR_RUSTC NAMES rustc PATHS /usr/bin NO_DEFAULT_PATH)
find_program(INVAR_RUSTDOC NAMES rustdoc PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT INVAR_CARGO OR NOT INVAR_RUSTC OR NOT INVAR_RUSTDOC)
  message(STATUS "invar: /usr/bin/cargo, rustc or rustdoc not found: no binding-rust test (scripts/install-deps installs them)")
elseif(CMAKE_CXX_FLAGS MATCHES "-fsanitize")
  message(STATUS "invar: sanitizer build: no binding-rust test")
else()
  add_test(NAME binding-rust
           COMMAND ${CMAKE_COMMAND} -E env INVAR_LIB_DIR=$<TARGET_FILE_DIR:invar_shared>
                   LD_LIBRARY_PATH=$<TARGET_FILE_DIR:invar_shared> CARGO_TARGET_DIR=${PROJECT_BINARY_DIR}/bindings/rust
                   RUSTC=${INVAR_RUSTC} RUSTDOC=${INVAR_RUSTDOC} ${INVAR_CARGO} test --offline
           WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR})
  # The first run compiles the crates (a few seconds; more on a loaded machine).
  set_tests_properties(binding-rust PROPERTIES TIMEOUT 600)
endif()

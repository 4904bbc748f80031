# Every target of the project compiles warning-free; a warning is a build error.
add_library(ctsync_warnings INTERFACE)
target_compile_options(ctsync_warnings INTERFACE -Wall -Wextra -Werror -Wpedantic
  -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)

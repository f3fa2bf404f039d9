# Apache Arrow and Parquet's C++ libraries for the Parquet and Arrow data readers
# (src/data/columnar.cpp). They come from the pyarrow wheel in the venv, as LibTorch comes from
# the torch wheel: it ships libarrow.so.N, libparquet.so.N and include/ (no CMake package), or
# -DPFT_ARROW_DIR=FOLDER names a folder laid out the same way. Optional: without them pft builds
# and a Parquet or Arrow file is an error that says so.
# Sets: PFT_ARROW_FOUND, and the imported targets pft::arrow and pft::parquet when found.
option(PFT_WITH_ARROW "Build the Parquet and Arrow data readers (Arrow's C++ libraries)" ON)
set(PFT_ARROW_DIR "" CACHE PATH
    "Folder holding libarrow.so.N, libparquet.so.N and include/ (default: the venv's pyarrow)")
set(PFT_ARROW_FOUND OFF)
if(PFT_WITH_ARROW)
  set(_arrow_dir "${PFT_ARROW_DIR}")
  if(NOT _arrow_dir AND EXISTS "${PFT_PYTHON}")
    execute_process(
      COMMAND "${PFT_PYTHON}" -c "import os, pyarrow; print(os.path.dirname(pyarrow.__file__))"
      OUTPUT_VARIABLE _arrow_dir OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _arrow_rc ERROR_QUIET)
    if(NOT _arrow_rc EQUAL 0)
      set(_arrow_dir "")
    endif()
  endif()
  # The SONAME'd files (libarrow.so.2600), not the fuller libarrow.so.2600.1.0 some trees add.
  file(GLOB _arrow_lib "${_arrow_dir}/libarrow.so.[0-9]*")
  file(GLOB _parquet_lib "${_arrow_dir}/libparquet.so.[0-9]*")
  list(FILTER _arrow_lib EXCLUDE REGEX "\\.so\\.[0-9]+\\.")
  list(FILTER _parquet_lib EXCLUDE REGEX "\\.so\\.[0-9]+\\.")
  if(_arrow_dir AND _arrow_lib AND _parquet_lib AND EXISTS "${_arrow_dir}/include/arrow/api.h")
    list(GET _arrow_lib 0 _arrow_lib)
    list(GET _parquet_lib 0 _parquet_lib)
    add_library(pft::arrow SHARED IMPORTED)
    set_target_properties(pft::arrow PROPERTIES IMPORTED_LOCATION "${_arrow_lib}"
                          INTERFACE_INCLUDE_DIRECTORIES "${_arrow_dir}/include")
    add_library(pft::parquet SHARED IMPORTED)
    set_target_properties(pft::parquet PROPERTIES IMPORTED_LOCATION "${_parquet_lib}"
                          INTERFACE_LINK_LIBRARIES pft::arrow)
    list(APPEND CMAKE_BUILD_RPATH "${_arrow_dir}")
    list(APPEND CMAKE_INSTALL_RPATH "${_arrow_dir}")
    set(PFT_ARROW_FOUND ON)
    message(STATUS "pft: Parquet and Arrow readers with ${_arrow_lib}")
  else()
    message(WARNING "pft: Arrow's C++ libraries not found (pyarrow in ${PFT_PYTHON}, or "
                    "-DPFT_ARROW_DIR): built without the Parquet and Arrow data readers")
  endif()
endif()

# Locates LibTorch for pft.
#
# Order: a Torch package already visible to find_package (Torch_DIR or CMAKE_PREFIX_PATH,
# e.g. an unpacked LibTorch zip), else the torch wheel in pft's virtual environment
# (${PFT_VENV:-$HOME/.cache/pft/venv}), asked for torch.utils.cmake_prefix_path.
#
# Sets: PFT_PYTHON (the venv's interpreter, used by the parity tests), PFT_TORCH_LIB_DIR,
# PFT_TORCH_CXX_FLAGS, and everything find_package(Torch) sets.

if(DEFINED ENV{PFT_VENV})
  set(_pft_venv "$ENV{PFT_VENV}")
else()
  set(_pft_venv "$ENV{HOME}/.cache/pft/venv")
endif()
set(PFT_PYTHON "${_pft_venv}/bin/python" CACHE FILEPATH "Python of the reference stack")

find_package(Torch QUIET CONFIG)
if(NOT Torch_FOUND)
  if(NOT EXISTS "${PFT_PYTHON}")
    message(FATAL_ERROR
      "LibTorch not found: no Torch package on CMAKE_PREFIX_PATH and no Python at "
      "${PFT_PYTHON}. Run scripts/setup.sh, or pass -DCMAKE_PREFIX_PATH=/path/to/libtorch.")
  endif()
  execute_process(
    COMMAND "${PFT_PYTHON}" -c "import torch.utils; print(torch.utils.cmake_prefix_path)"
    OUTPUT_VARIABLE _pft_torch_prefix OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _pft_rc ERROR_VARIABLE _pft_err)
  if(NOT _pft_rc EQUAL 0)
    message(FATAL_ERROR "LibTorch not found: ${PFT_PYTHON} cannot import torch:\n${_pft_err}")
  endif()
  list(APPEND CMAKE_PREFIX_PATH "${_pft_torch_prefix}")
  find_package(Torch REQUIRED CONFIG)
endif()

# TORCH_CXX_FLAGS carries the ABI define; keep it per-target instead of global flags.
separate_arguments(PFT_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
get_filename_component(PFT_TORCH_LIB_DIR "${TORCH_LIBRARY}" DIRECTORY)

# The torch wheel keeps the CUDA runtime in sibling packages (site-packages/nvidia/*/lib)
# that its libraries find through $ORIGIN RPATHs. GNU ld does not follow those while
# linking, and would pick an older system copy (e.g. the CUDA toolkit's NCCL) instead;
# point it at the wheel's own copies, and put them on pft's RPATH for the same reason.
file(GLOB PFT_TORCH_EXTRA_LIB_DIRS LIST_DIRECTORIES true
     "${PFT_TORCH_LIB_DIR}/../../nvidia/*/lib")
set(PFT_TORCH_RPATH "${PFT_TORCH_LIB_DIR}")
set(PFT_TORCH_LINK_OPTIONS "")
foreach(_dir IN LISTS PFT_TORCH_EXTRA_LIB_DIRS)
  get_filename_component(_dir "${_dir}" REALPATH)
  list(APPEND PFT_TORCH_RPATH "${_dir}")
  list(APPEND PFT_TORCH_LINK_OPTIONS "-Wl,-rpath-link,${_dir}")
endforeach()
message(STATUS "pft: LibTorch ${Torch_VERSION} from ${PFT_TORCH_LIB_DIR}")

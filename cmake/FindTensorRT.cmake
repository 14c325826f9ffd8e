# FindTensorRT: locate TensorRT headers and libraries; optional for the project.
#
# Search order: -DTENSORRT_ROOT=<dir> / $ENV{TENSORRT_ROOT} (include/ and lib/ under it), then the usual
# system places (Debian/Ubuntu multiarch dirs, /usr/local/TensorRT*, /opt/tensorrt) and a pip-installed
# tensorrt_libs (headers from a TENSORRT_ROOT or the system, libraries from the wheel).
#
# Sets: TensorRT_FOUND, TensorRT_INCLUDE_DIR, TensorRT_LIBRARIES, TensorRT_VERSION (x.y.z),
#       TensorRT_VERSION_MAJOR/MINOR/PATCH, and the imported target TensorRT::TensorRT.

set(_trt_hints)
if(TENSORRT_ROOT)
  list(APPEND _trt_hints "${TENSORRT_ROOT}")
endif()
if(DEFINED ENV{TENSORRT_ROOT} AND NOT "$ENV{TENSORRT_ROOT}" STREQUAL "")
  list(APPEND _trt_hints "$ENV{TENSORRT_ROOT}")
endif()
file(GLOB _trt_local_dirs LIST_DIRECTORIES true "/usr/local/TensorRT*" "/opt/tensorrt*" "/opt/TensorRT*")
list(APPEND _trt_hints ${_trt_local_dirs} /usr/local/tensorrt /usr /usr/local)

# pip wheels: tensorrt_libs holds libnvinfer.so.N (no headers).
find_package(Python3 COMPONENTS Interpreter QUIET)
set(_trt_pip_lib_dir "")
if(Python3_Interpreter_FOUND)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import tensorrt_libs, os; print(os.path.dirname(tensorrt_libs.__file__))"
    OUTPUT_VARIABLE _trt_pip_lib_dir OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE _trt_pip_rc)
  if(NOT _trt_pip_rc EQUAL 0)
    set(_trt_pip_lib_dir "")
  endif()
endif()

# An explicit root must win over system copies: search it alone first.
if(_trt_hints)
  find_path(TensorRT_INCLUDE_DIR NvInfer.h
    HINTS ${_trt_hints}
    PATH_SUFFIXES include include/x86_64-linux-gnu include/aarch64-linux-gnu
    NO_DEFAULT_PATH)
endif()
find_path(TensorRT_INCLUDE_DIR NvInfer.h PATH_SUFFIXES include/x86_64-linux-gnu include/aarch64-linux-gnu)

set(_trt_lib_suffixes lib lib64 lib/x86_64-linux-gnu lib/aarch64-linux-gnu targets/x86_64-linux/lib)
foreach(_lib nvinfer nvonnxparser nvinfer_plugin)
  string(TOUPPER ${_lib} _LIB)
  find_library(TensorRT_${_LIB}_LIBRARY NAMES ${_lib} ${_lib}_10 ${_lib}_11
    HINTS ${_trt_hints} PATH_SUFFIXES ${_trt_lib_suffixes} NO_DEFAULT_PATH)
  if(_trt_pip_lib_dir)
    file(GLOB _pip_candidates "${_trt_pip_lib_dir}/lib${_lib}.so*")
    if(_pip_candidates AND NOT TensorRT_${_LIB}_LIBRARY)
      list(GET _pip_candidates 0 _first)
      set(TensorRT_${_LIB}_LIBRARY "${_first}" CACHE FILEPATH "" FORCE)
    endif()
  endif()
  find_library(TensorRT_${_LIB}_LIBRARY NAMES ${_lib} PATH_SUFFIXES ${_trt_lib_suffixes})
endforeach()

if(TensorRT_INCLUDE_DIR AND EXISTS "${TensorRT_INCLUDE_DIR}/NvInferVersion.h")
  file(READ "${TensorRT_INCLUDE_DIR}/NvInferVersion.h" _trt_version_h)
  # 8.x defines NV_TENSORRT_MAJOR as a number; 10.x/11.x define TRT_*_ENTERPRISE and alias NV_TENSORRT_* to them.
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX MATCH "#define NV_TENSORRT_${_part} ([0-9]+)" _m "${_trt_version_h}")
    if(_m)
      set(TensorRT_VERSION_${_part} "${CMAKE_MATCH_1}")
    else()
      string(REGEX MATCH "#define TRT_${_part}_ENTERPRISE ([0-9]+)" _m "${_trt_version_h}")
      if(_m)
        set(TensorRT_VERSION_${_part} "${CMAKE_MATCH_1}")
      endif()
    endif()
  endforeach()
  set(TensorRT_VERSION "${TensorRT_VERSION_MAJOR}.${TensorRT_VERSION_MINOR}.${TensorRT_VERSION_PATCH}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TensorRT
  REQUIRED_VARS TensorRT_INCLUDE_DIR TensorRT_NVINFER_LIBRARY TensorRT_NVONNXPARSER_LIBRARY
  VERSION_VAR TensorRT_VERSION)

if(TensorRT_FOUND)
  set(TensorRT_LIBRARIES ${TensorRT_NVINFER_LIBRARY} ${TensorRT_NVONNXPARSER_LIBRARY})
  if(TensorRT_NVINFER_PLUGIN_LIBRARY)
    list(APPEND TensorRT_LIBRARIES ${TensorRT_NVINFER_PLUGIN_LIBRARY})
  endif()
  if(NOT TARGET TensorRT::TensorRT)
    add_library(TensorRT::TensorRT INTERFACE IMPORTED)
    set_target_properties(TensorRT::TensorRT PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${TensorRT_INCLUDE_DIR}"
      INTERFACE_LINK_LIBRARIES "${TensorRT_LIBRARIES}")
  endif()
endif()
mark_as_advanced(TensorRT_INCLUDE_DIR TensorRT_NVINFER_LIBRARY TensorRT_NVONNXPARSER_LIBRARY TensorRT_NVINFER_PLUGIN_LIBRARY)

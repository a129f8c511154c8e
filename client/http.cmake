# The HTTP response-caching layer, included by client/CMakeLists.txt:
#   larder::http     the framework-free core (policy, Cache-Control, Decide, HttpCache) and its
#                    ResponseStore over larder::Client
#   larder::httplib  the cpp-httplib adapter (LARDER_WITH_HTTPLIB)
#   larder::beast    the Boost.Beast adapter (when Boost's headers are found)
add_library(larder_http STATIC
  src/http/cache_control.cc
  src/http/cache_key.cc
  src/http/cache_status.cc
  src/http/coalescer.cc
  src/http/conditional.cc
  src/http/decide.cc
  src/http/fleet_lease.cc
  src/http/freshness.cc
  src/http/headers.cc
  src/http/http_cache.cc
  src/http/http_metrics.cc
  src/http/invalidation.cc
  src/http/key.cc
  src/http/larder_response_store.cc
  src/http/outgoing.cc
  src/http/policy.cc
  src/http/record_codec.cc
  src/http/record_validation.cc
  src/http/refresher.cc
  src/http/render.cc
  src/http/request.cc
  src/http/storable.cc
  src/http/variants.cc)
add_library(larder::http ALIAS larder_http)
target_include_directories(larder_http
  PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
target_link_libraries(larder_http
  PUBLIC
    larder::client larder::common absl::status absl::statusor absl::strings absl::time
    absl::synchronization absl::flat_hash_map absl::flat_hash_set prometheus-cpp::core
    Threads::Threads
  PRIVATE
    absl::random_random)
target_compile_features(larder_http PUBLIC cxx_std_17)
set_target_properties(larder_http PROPERTIES CXX_STANDARD 17 EXPORT_NAME http)
larder_set_warnings(larder_http)
set(larder_http_targets larder_http)

if(LARDER_WITH_HTTPLIB)
  if(NOT TARGET PkgConfig::HTTPLIB)
    pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)
  endif()
  add_library(larder_httplib STATIC src/httplib/cached.cc src/httplib/replay.cc)
  add_library(larder::httplib ALIAS larder_httplib)
  target_include_directories(larder_httplib PRIVATE $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
  target_link_libraries(larder_httplib PUBLIC larder::http PkgConfig::HTTPLIB)
  # cpp-httplib's defaults are slow; the definition must be the same in every TU.
  target_compile_definitions(larder_httplib PUBLIC CPPHTTPLIB_TCP_NODELAY=true)
  set_target_properties(larder_httplib PROPERTIES CXX_STANDARD 17 EXPORT_NAME httplib)
  larder_set_warnings(larder_httplib)
  list(APPEND larder_http_targets larder_httplib)
  string(APPEND LARDER_CONFIG_EXTRA_DEPENDENCIES
    "if(NOT TARGET PkgConfig::HTTPLIB)\n"
    "  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET GLOBAL cpp-httplib)\n"
    "endif()\n")
endif()

find_package(Boost 1.70 CONFIG QUIET COMPONENTS headers)
if(Boost_FOUND)
  add_library(larder_beast STATIC src/beast/cached.cc)
  add_library(larder::beast ALIAS larder_beast)
  target_link_libraries(larder_beast PUBLIC larder::http Boost::headers Threads::Threads)
  set_target_properties(larder_beast PROPERTIES CXX_STANDARD 17 EXPORT_NAME beast)
  larder_set_warnings(larder_beast)
  list(APPEND larder_http_targets larder_beast)
  string(APPEND LARDER_CONFIG_EXTRA_DEPENDENCIES
    "find_dependency(Boost 1.70 CONFIG COMPONENTS headers)\n")
endif()

install(DIRECTORY include/larder/http include/larder/httplib include/larder/beast
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/larder OPTIONAL FILES_MATCHING PATTERN "*.h")
install(TARGETS ${larder_http_targets} EXPORT larderTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

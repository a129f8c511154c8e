# The benchmark libraries that the test suite builds too (tests/bench tests the load generator's
# drivers against a real larderd whether or not -DLARDER_BUILD_BENCH is on): defined once here,
# by whichever of bench/ and tests/bench/ includes this first.
include_guard(GLOBAL)

set(larder_bench_dir ${PROJECT_SOURCE_DIR}/bench)

# larder::bench_common: key names, Zipf sampling, values, latency histogram, /proc readers.
add_library(larder_bench_common STATIC
  ${larder_bench_dir}/common/dash_flags.cc ${larder_bench_dir}/common/key_space.cc
  ${larder_bench_dir}/common/latency_histogram.cc ${larder_bench_dir}/common/proc_stat.cc)
add_library(larder::bench_common ALIAS larder_bench_common)
target_include_directories(larder_bench_common PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>)
target_link_libraries(larder_bench_common PUBLIC absl::status absl::statusor absl::strings)
larder_set_warnings(larder_bench_common)

# larder::loadgen_drivers: larder_loadgen without its main: the gRPC, hand-framed HTTP/2 and RESP
# drivers, their options and the JSON report.
add_library(larder_loadgen_drivers STATIC
  ${larder_bench_dir}/loadgen/load_options.cc ${larder_bench_dir}/loadgen/grpc_driver.cc
  ${larder_bench_dir}/loadgen/h2_driver.cc ${larder_bench_dir}/loadgen/h2_wire.cc
  ${larder_bench_dir}/loadgen/redis_driver.cc ${larder_bench_dir}/loadgen/resp.cc
  ${larder_bench_dir}/loadgen/report.cc ${larder_bench_dir}/loadgen/socket_io.cc)
add_library(larder::loadgen_drivers ALIAS larder_loadgen_drivers)
target_link_libraries(larder_loadgen_drivers PUBLIC larder::bench_common larder::proto
  gRPC::grpc++ absl::flat_hash_map absl::status absl::statusor absl::str_format absl::strings
  absl::synchronization absl::time Threads::Threads)
larder_set_warnings(larder_loadgen_drivers)

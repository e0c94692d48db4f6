# The sanitizer build's test environment (included by the top-level CMakeLists.txt).
#
# Every test process and everything it starts (staplescope-cli under QProcess inherits the
# environment) writes its sanitizer reports to files in ${STAPLESCOPE_SANITIZER_REPORTS}: a test
# that runs the CLI and only looks at its exit status or stdout would otherwise lose a report
# printed on the child's stderr. The sanitizer_reports fixture empties the folder before the
# first test and fails after the last one if any report was written, printing them all.
set(STAPLESCOPE_SANITIZER_REPORTS ${CMAKE_BINARY_DIR}/sanitizer-reports)
set(_staplescope_lsan_supp ${CMAKE_CURRENT_LIST_DIR}/lsan.supp)
# exitcode 86: never one of the CLI's own statuses (0–3), so a test comparing them fails too.
set(_staplescope_common "halt_on_error=1:print_stacktrace=1:exitcode=86")
set(_staplescope_asan "${_staplescope_common}:detect_leaks=1:strict_string_checks=1:check_initialization_order=1")
set(STAPLESCOPE_FUZZER_TEST_ENV
    "ASAN_OPTIONS=${_staplescope_asan}"
    "UBSAN_OPTIONS=${_staplescope_common}"
    "LSAN_OPTIONS=suppressions=${_staplescope_lsan_supp}:print_suppressions=0"
    # The GUI bulk-load test scales its responsiveness limit by this.
    "STAPLESCOPE_TIME_FACTOR=4")
# UBSAN_OPTIONS are read after ASAN_OPTIONS and their common flags (log_path) win: set both alike.
set(STAPLESCOPE_SANITIZER_TEST_ENV
    "ASAN_OPTIONS=${_staplescope_asan}:log_path=${STAPLESCOPE_SANITIZER_REPORTS}/report"
    "UBSAN_OPTIONS=${_staplescope_common}:log_path=${STAPLESCOPE_SANITIZER_REPORTS}/report"
    "LSAN_OPTIONS=suppressions=${_staplescope_lsan_supp}:print_suppressions=0"
    "STAPLESCOPE_TIME_FACTOR=4")
# The GUI tests run loads on Qt's thread pool, whose workers may still be freeing OpenSSL's
# per-thread state when the process exits (see lsan.supp). Telling that apart from a real leak
# needs whole allocation stacks through libcrypto, which has no frame pointers:
# fast_unwind_on_malloc=0, for these tests only, as it makes every allocation several times slower.
string(REPLACE "detect_leaks=1" "detect_leaks=1:fast_unwind_on_malloc=0" STAPLESCOPE_SANITIZER_GUI_TEST_ENV
       "${STAPLESCOPE_SANITIZER_TEST_ENV}")

add_test(NAME sanitizer_reports_reset
    COMMAND ${CMAKE_COMMAND} -DMODE=reset -DDIR=${STAPLESCOPE_SANITIZER_REPORTS} -P ${CMAKE_CURRENT_LIST_DIR}/SanitizerReports.cmake)
add_test(NAME sanitizer_reports_check
    COMMAND ${CMAKE_COMMAND} -DMODE=check -DDIR=${STAPLESCOPE_SANITIZER_REPORTS} -P ${CMAKE_CURRENT_LIST_DIR}/SanitizerReports.cmake)
set_tests_properties(sanitizer_reports_reset PROPERTIES FIXTURES_SETUP sanitizer_reports)
set_tests_properties(sanitizer_reports_check PROPERTIES FIXTURES_CLEANUP sanitizer_reports)

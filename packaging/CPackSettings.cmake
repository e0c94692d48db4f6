# Debian package of both programs: `cpack -G DEB` in the build folder.
# Included from the top-level CMakeLists.txt after every add_subdirectory: CPack packages what the
# install() rules of the whole project install, and include(CPack) writes its CPackConfig.cmake
# into the top of the build folder, where `cpack` looks for it. (This file is named otherwise so
# the two are not confused.)
set(CPACK_PACKAGE_NAME "staplescope")
set(CPACK_PACKAGE_CONTACT "Staplescope maintainers <maintainers@staplescope.example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_GENERATOR "DEB")
include(CPack)

# The Debian packages: `cpack -G DEB` in a build folder gives
#   staplescope-cli_VERSION_ARCH.deb  the CLI, man pages, bash completion, the refresh timer, docs;
#                                     links Qt Core/Network and OpenSSL only, for headless servers
#   staplescope_VERSION_ARCH.deb      the window and its desktop integration; depends on the first
# one package per install() component (cli, gui: packaging/CMakeLists.txt, app/CMakeLists.txt).
# scripts/dev package-test builds them, runs lintian and installs them into a clean Debian 12.
#
# Included from the top-level CMakeLists.txt after every add_subdirectory: CPack packages what the
# install() rules of the whole project install, and include(CPack) writes its CPackConfig.cmake
# into the top of the build folder, where `cpack` looks for it. (This file is named otherwise so
# the two are not confused.)
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "staplescope")
set(CPACK_PACKAGE_VENDOR "Staplescope contributors")
set(CPACK_PACKAGE_CONTACT "Staplescope maintainers <maintainers@staplescope.example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# Read by cpack itself: lets each package's description start with its own synopsis.
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/CPackProjectConfig.cmake")
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)

set(CPACK_DEB_COMPONENT_INSTALL ON)
# Only these two: anything installed without a component would land in a third package.
set(CPACK_COMPONENTS_ALL cli gui)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE "${STAPLESCOPE_DEBIAN_REVISION}")
set(staplescope_debian_version "${PROJECT_VERSION}-${STAPLESCOPE_DEBIAN_REVISION}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${STAPLESCOPE_HOMEPAGE_URL}")
# Library dependencies from what the binaries link (dpkg-shlibdeps), per package: the CLI's are
# Qt Core/Network, OpenSSL and the C/C++ runtimes, nothing of Qt Gui/Widgets.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_CLI_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_GUI_PACKAGE_SHLIBDEPS ON)

set(CPACK_DEBIAN_CLI_PACKAGE_NAME "staplescope-cli")
set(CPACK_DEBIAN_CLI_PACKAGE_SECTION "net")
# The system's CA certificates, for --online, connect and refresh to verify what servers send.
set(CPACK_DEBIAN_CLI_PACKAGE_RECOMMENDS "ca-certificates")
# The first line is the synopsis (CPackProjectConfig.cmake); CPack writes each further line as a
# continuation line (a leading space, "." for an empty line): the extended description.
set(CPACK_DEBIAN_CLI_DESCRIPTION "TLS certificate, chain and OCSP staple diagnosis (command line)
Staplescope reads certificates, chains, private keys, CRLs and OCSP staples
in every common format (PEM, DER, PKCS#7, PKCS#12), puts each certificate
together with what belongs to it and says exactly what is wrong, with the
likely cause and the fix: for example a staple left over from the previous
certificate after a renewal.

This package contains staplescope-cli, for servers and scripts: inspect
files and folders, connect to live servers (HTTPS, and mail with STARTTLS),
refresh, deploy and renew OCSP staples and certificates, and an hourly
systemd timer (not enabled) that refreshes staples before they go stale.
It needs no display and no graphical libraries.")

set(CPACK_DEBIAN_GUI_PACKAGE_NAME "staplescope")
set(CPACK_DEBIAN_GUI_PACKAGE_SECTION "utils")
# The same version of the CLI: the window runs it (pkexec staplescope-cli apply) and shares its docs.
set(CPACK_DEBIAN_GUI_PACKAGE_DEPENDS "staplescope-cli (= ${staplescope_debian_version})")
set(CPACK_DEBIAN_GUI_DESCRIPTION "TLS certificate, chain and OCSP staple diagnosis (desktop window)
Staplescope reads certificates, chains, private keys, CRLs and OCSP staples
in every common format (PEM, DER, PKCS#7, PKCS#12), puts each certificate
together with what belongs to it and says exactly what is wrong, with the
likely cause and the fix: for example a staple left over from the previous
certificate after a renewal.

This package contains the desktop window: drop files or folders on it, see
every validity window on one timeline, move the as-of slider to see what
breaks next week, and export reports as Markdown, HTML or JSON. It opens
certificate, PKCS#7, PKCS#12, private key, CRL and OCSP response files.")

include(CPack)
cpack_add_component(cli DISPLAY_NAME "staplescope-cli" DESCRIPTION "The command-line program")
cpack_add_component(gui DISPLAY_NAME "staplescope" DESCRIPTION "The desktop window" DEPENDS cli)

# Included by cpack (CPACK_PROJECT_CONFIG_FILE) before it writes the packages.
# Each package's CPACK_DEBIAN_<COMPONENT>_DESCRIPTION starts with its own synopsis line;
# CPackDeb would put the project's one summary in front of both, making the package's first line
# part of the extended description. Without a summary it takes the first line as the synopsis.
if(CPACK_GENERATOR STREQUAL "DEB")
    unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
endif()

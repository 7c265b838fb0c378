# Per generator: the .deb holds the CLI and the library (Debian provides the
# rest); the tarball holds the CLI, its data, and its bundled libraries.
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_COMPONENTS_ALL cli data dev)
  set(CPACK_DEB_COMPONENT_INSTALL ON)
  set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
elseif(CPACK_GENERATOR STREQUAL "TGZ")
  set(CPACK_COMPONENTS_ALL data portable)  # portable: its own, patched CLI
  set(CPACK_ARCHIVE_COMPONENT_INSTALL ON)  # the listed components ...
  set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)  # ... in one archive
  set(CPACK_PACKAGING_INSTALL_PREFIX /)
  set(CPACK_PACKAGE_FILE_NAME "invar-${CPACK_PACKAGE_VERSION}-linux-x86_64")
  set(CPACK_INCLUDE_TOPLEVEL_DIRECTORY ON)
  set(CPACK_COMPONENT_INCLUDE_TOPLEVEL_DIRECTORY ON)
endif()

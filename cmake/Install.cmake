# Install rules and the Debian package (CPack DEB): what `cmake --install` and `cpack -G DEB`
# put where. The units in deploy/ name /usr/local/bin/lifeboat; they are installed with the
# installed binary's path instead, and every deploy/*.service is shipped (a glob, so a new unit
# needs no edit here). Configs go to LIFEBOAT_SYSCONFDIR, absolute because the units and docs
# name /etc/lifeboat; DESTDIR still applies. The package enables no unit: the operator does.
include(GNUInstallDirs)
set(LIFEBOAT_SYSCONFDIR "/etc/lifeboat" CACHE PATH "where the example configs are installed (absolute)")

install(TARGETS lifeboat RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

file(GLOB LB_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/deploy/*.service)
foreach(unit ${LB_UNITS})
  get_filename_component(unit_name ${unit} NAME)
  # Evaluated at install time: CMAKE_INSTALL_PREFIX is then the one of `cmake --install --prefix`
  # or of cpack.
  install(CODE "
    file(READ \"${unit}\" text)
    string(REGEX REPLACE \"/usr(/local)?/bin/lifeboat\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/lifeboat\" text \"\${text}\")
    set(dest \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\")
    message(STATUS \"Installing: \${dest}/${unit_name}\")
    file(MAKE_DIRECTORY \"\${dest}\")
    file(WRITE \"\${dest}/${unit_name}\" \"\${text}\")
  ")
endforeach()
# The daemon's user and state dir, created by systemd-sysusers/-tmpfiles (the package's postinst).
install(FILES deploy/debian/sysusers.conf DESTINATION lib/sysusers.d RENAME lifeboat.conf)
install(FILES deploy/debian/tmpfiles.conf DESTINATION lib/tmpfiles.d RENAME lifeboat.conf)

install(FILES deploy/etc/lifeboat.yaml deploy/etc/agent.yaml DESTINATION ${LIFEBOAT_SYSCONFDIR})
install(FILES deploy/etc/env DESTINATION ${LIFEBOAT_SYSCONFDIR} PERMISSIONS OWNER_READ OWNER_WRITE)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")
install(DIRECTORY deploy/prometheus deploy/grafana deploy/kubernetes DESTINATION ${CMAKE_INSTALL_DATADIR}/lifeboat)

# --- Debian package: build/lifeboat_<version>_amd64.deb by `cpack -G DEB` in the build dir ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lifeboat)
set(CPACK_PACKAGE_VENDOR etcd-lifeboat)
set(CPACK_PACKAGE_CONTACT "etcd-lifeboat maintainers <lifeboat@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "keeps etcd clusters recoverable: verified backups, consistency checks, one-command restore")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# DESTDIR staging with the package's own prefix: the configs' absolute /etc/lifeboat lands in
# the package, and the units name /usr/bin/lifeboat whatever this tree's CMAKE_INSTALL_PREFIX is.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # lifeboat_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/etcd-lifeboat/etcd-lifeboat")
# Depends: from the binary's shared libraries (grpc++, protobuf, curl, ssl, yaml-cpp, zstd, fmt,
# spdlog, ...) by dpkg-shlibdeps, as debhelper would; systemd for the units' sysusers/tmpfiles.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, etcd-client")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/conffiles ${CMAKE_SOURCE_DIR}/deploy/debian/postinst)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

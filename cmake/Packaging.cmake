# Installed layout and the Debian package (CPack DEB): `cmake --build build --target package`
# writes build/ctsyncd_<version>_<arch>.deb.

find_package(Python3 REQUIRED COMPONENTS Interpreter)
set(CTSYNC_MAN_PAGES ctsyncd.8 ctsyncctl.8 ctsyncd.toml.5)
set(CTSYNC_MAN_OUTPUTS)
foreach(page ${CTSYNC_MAN_PAGES})
  set(src ${PROJECT_SOURCE_DIR}/packaging/man/${page}.md)
  set(out ${PROJECT_BINARY_DIR}/man/${page})
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/packaging/man/md2man.py ${src} ${out}
    DEPENDS ${src} ${PROJECT_SOURCE_DIR}/packaging/man/md2man.py ${PROJECT_SOURCE_DIR}/conf/ctsyncd.toml
    COMMENT "man page ${page}")
  list(APPEND CTSYNC_MAN_OUTPUTS ${out})
  string(REGEX MATCH "[0-9]$" section ${page})
  install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${CTSYNC_MAN_OUTPUTS})

install(FILES ${PROJECT_SOURCE_DIR}/conf/ctsyncd.toml DESTINATION /etc/ctsyncd)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/ctsyncd.service DESTINATION /lib/systemd/system)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/packaging/keepalived/ctsyncd-notify DESTINATION lib/ctsyncd)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/packaging/keepalived/primary-backup.sh DESTINATION lib/ctsyncd)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/keepalived/keepalived.conf.example
  DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/grafana/ctsyncd.json DESTINATION share/ctsyncd/grafana)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/ctsyncd-alerts.yml DESTINATION share/ctsyncd/prometheus)
install(FILES
  ${PROJECT_SOURCE_DIR}/docs/operations.md
  ${PROJECT_SOURCE_DIR}/docs/migrating-from-conntrackd.md
  ${PROJECT_SOURCE_DIR}/docs/metrics.md
  ${PROJECT_SOURCE_DIR}/docs/protocol.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ctsyncd)
set(CPACK_PACKAGE_VENDOR "ctsyncd developers")
set(CPACK_PACKAGE_CONTACT "ctsyncd developers <ctsyncd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "connection-tracking synchronisation daemon for firewall pairs")
set(CPACK_PACKAGE_DESCRIPTION "ctsyncd keeps the conntrack tables of an active/backup firewall pair in sync
over an authenticated, reliable multicast or unicast protocol, so that a keepalived failover
keeps established IPv4 and IPv6 sessions, NATed ones included. Prometheus metrics built in.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "keepalived, nftables, conntrack, iptables")
set(CPACK_DEBIAN_PACKAGE_CONFLICTS "")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)

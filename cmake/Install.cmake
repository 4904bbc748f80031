# The installed layout. The Debian package (debian/, `dpkg-buildpackage -us -uc -b`) installs
# exactly this with DESTDIR; nothing else is installed.

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
install(FILES ${PROJECT_SOURCE_DIR}/packaging/prometheus/ctsyncd-alerts.yml
              ${PROJECT_SOURCE_DIR}/packaging/prometheus/ctsyncd-keepalived-alerts.yml
        DESTINATION share/ctsyncd/prometheus)
install(FILES
  ${PROJECT_SOURCE_DIR}/docs/operations.md
  ${PROJECT_SOURCE_DIR}/docs/migrating-from-conntrackd.md
  ${PROJECT_SOURCE_DIR}/docs/metrics.md
  ${PROJECT_SOURCE_DIR}/docs/protocol.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Install rules and the Debian package (CPack DEB): `cpack -G DEB` in the build folder, or
# `cmake --build build --target package`, makes hallpass_<version>_<arch>.deb.
#
# Where things go (what a Debian admin expects):
#   /usr/bin/hallpass                          the daemon and its CLI
#   /etc/hallpass/hallpass.yaml                the config (conffile): deploy/hallpass.yaml
#                                              with its paths pointed at the places below
#   /etc/hallpass/lists/district-approved/     the district's own list (conffile)
#   /etc/hallpass/ca/                          the district CA, made by the admin (not shipped)
#   /usr/share/hallpass/{lists,rules,patterns} shipped data, replaced on upgrade
#   /usr/share/hallpass/{grafana,prometheus,haproxy,gateway,pac,clients,certs}
#                                              dashboards, alert rules, example configs, tools
#   /lib/systemd/system/hallpass.service       the hardened unit (deploy/systemd/)
#   /var/log/hallpass/                         audit log (postinst and the unit make it)
#   /usr/share/doc/hallpass/                   README, design decisions, deploy guide

set(HALLPASS_SHARE_DIR share/hallpass)  # under CPACK_PACKAGING_INSTALL_PREFIX (/usr)
set(HALLPASS_SHARE_ABS /usr/${HALLPASS_SHARE_DIR})
set(HALLPASS_ETC_DIR /etc/hallpass)

# -- The installed config ------------------------------------------------------------------
# deploy/hallpass.yaml names the shipped data relative to itself (../filters/...), which is
# right for the embedded default and the source tree. Installed, the same file points at
# /usr/share/hallpass and /etc/hallpass instead. Generated at configure time; a change to
# deploy/hallpass.yaml reconfigures. A relative path this rewrite does not know stops the
# configure, so the package never ships a config naming files that are not there.
set(_hallpass_default_config ${PROJECT_SOURCE_DIR}/deploy/hallpass.yaml)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_hallpass_default_config})
file(READ ${_hallpass_default_config} _hallpass_config)
string(REPLACE "../filters/lists/district-approved" "${HALLPASS_ETC_DIR}/lists/district-approved"
       _hallpass_config "${_hallpass_config}")
string(REPLACE "../filters/lists/" "${HALLPASS_SHARE_ABS}/lists/" _hallpass_config "${_hallpass_config}")
string(REPLACE "../filters/rules/" "${HALLPASS_SHARE_ABS}/rules/" _hallpass_config "${_hallpass_config}")
string(REPLACE "../filters/patterns/" "${HALLPASS_SHARE_ABS}/patterns/" _hallpass_config
       "${_hallpass_config}")
string(REGEX MATCH "[^\n]*:[ \t]+\\.\\.?/[^\n]*" _hallpass_relative "${_hallpass_config}")
if(_hallpass_relative)
  message(FATAL_ERROR "cmake/Packaging.cmake: deploy/hallpass.yaml names a relative path the "
                      "package does not install: \"${_hallpass_relative}\". Install that file and "
                      "add its rewrite here.")
endif()
set(_hallpass_installed_config ${PROJECT_BINARY_DIR}/package/hallpass.yaml)
file(CONFIGURE OUTPUT ${_hallpass_installed_config} CONTENT
"# Installed by the hallpass package. It is deploy/hallpass.yaml (the embedded default) with
# the shipped lists, rules and patterns read from ${HALLPASS_SHARE_ABS} (replaced on every
# upgrade) and the district's own list from ${HALLPASS_ETC_DIR}/lists (yours to edit).
#
# This file is yours too: dpkg keeps your changes on upgrade and asks when the packaged
# default changed as well. Before students use the proxy, set `listen` to the gateway's LAN
# address and `clients` to the district's networks, and map `buildings`. After an edit,
# `hallpass validate --config ${HALLPASS_ETC_DIR}/hallpass.yaml`; the running service picks
# the policy up by itself (reload.watch_interval) or at `systemctl reload hallpass`.
#
@_hallpass_config@" @ONLY)

# -- Install rules -------------------------------------------------------------------------
# /usr/bin/hallpass comes from proxy/CMakeLists.txt (install(TARGETS hallpass ...)).
install(FILES ${_hallpass_installed_config} DESTINATION ${HALLPASS_ETC_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/filters/lists/district-approved/domains
        DESTINATION ${HALLPASS_ETC_DIR}/lists/district-approved)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/filters/lists/ DESTINATION ${HALLPASS_SHARE_DIR}/lists
        PATTERN district-approved EXCLUDE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/filters/rules/ DESTINATION ${HALLPASS_SHARE_DIR}/rules)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/filters/patterns/
        DESTINATION ${HALLPASS_SHARE_DIR}/patterns)

# Debian 12 still installs units under /lib (merged /usr makes it /usr/lib as well).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/hallpass.service
        DESTINATION /lib/systemd/system)

# Whole folders, so whatever they hold ships (dashboards, alert rules, example configs).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/grafana/ DESTINATION ${HALLPASS_SHARE_DIR}/grafana)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/prometheus/
        DESTINATION ${HALLPASS_SHARE_DIR}/prometheus)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/haproxy/ DESTINATION ${HALLPASS_SHARE_DIR}/haproxy)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/gateway/ DESTINATION ${HALLPASS_SHARE_DIR}/gateway)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/pac/ DESTINATION ${HALLPASS_SHARE_DIR}/pac)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/deploy/clients/ DESTINATION ${HALLPASS_SHARE_DIR}/clients)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/certs/make-district-ca.sh
        DESTINATION ${HALLPASS_SHARE_DIR}/certs)
install(FILES ${PROJECT_SOURCE_DIR}/certs/README.md DESTINATION ${HALLPASS_SHARE_DIR}/certs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/certs/guides DESTINATION ${HALLPASS_SHARE_DIR}/certs)

install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/decisions.md
              ${PROJECT_SOURCE_DIR}/SECURITY.md ${PROJECT_SOURCE_DIR}/deploy/package/copyright
        DESTINATION share/doc/hallpass)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/README.md DESTINATION share/doc/hallpass/deploy)

# -- The Debian package --------------------------------------------------------------------
if(HALLPASS_SANITIZE)
  message(STATUS "Packaging: this is a sanitizer build; its .deb would depend on the "
                 "sanitizer runtimes and is for tests only")
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hallpass)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Hallpass")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "web proxy that enforces a school district's policy")
set(CPACK_PACKAGE_DESCRIPTION
    "Hallpass runs on a school district's gateway as an explicit or transparent\n\
HTTP/HTTPS proxy. It blocks anonymizers, applies per-building and per-role\n\
category lists and social-platform function rules, can decrypt chosen\n\
destinations with a district CA, flags risky content, and writes one JSON\n\
audit line per decision. Prometheus metrics, Grafana dashboards, a PAC file\n\
and client policy examples are included.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # hallpass_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "Hallpass maintainers <hallpass@district.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps (dpkg-dev); adduser for postinst. The rest is
# what the binary uses at run time but does not link: the trust store for upstream TLS, the
# public suffix list (libpsl falls back to a built-in copy), openssl for make-district-ca.sh.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates, publicsuffix, openssl")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "prometheus, haproxy, nftables")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/package/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/package/postinst
    ${PROJECT_SOURCE_DIR}/deploy/package/prerm
    ${PROJECT_SOURCE_DIR}/deploy/package/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)

# Run by `cmake --install` (SPEC §13): the example config for a service, and the unit with the
# install prefix it was installed under (known only now, not at configure time).
set(prefix "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
set(CG_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(CG_DOCDIR "${CMAKE_INSTALL_PREFIX}/share/doc/creditgate")
set(CG_CONFIG "${CMAKE_INSTALL_PREFIX}/etc/creditgate/creditgate.json")

# The example config, made for a service: its state in the unit's StateDirectory, the built-in
# profiles from share/creditgate/vendors (no vendors_dir).
file(READ "${CG_SOURCE}/config/creditgate.example.json" example)
string(REPLACE "\"state_dir\": \"../var\"" "\"state_dir\": \"/var/lib/creditgate\"" example "${example}")
string(REGEX REPLACE "\n *\"vendors_dir\": \"vendors\",\n" "\n" example "${example}")
string(REPLACE "// creditgate example configuration: what `make run` starts."
               "// creditgate service configuration (installed; see share/doc/creditgate/config-guide.md)." example "${example}")
if(EXISTS "${prefix}/etc/creditgate/creditgate.json")
  # Never overwrite an operator's config: install the new one beside it.
  set(config_name creditgate.json.new)
else()
  set(config_name creditgate.json)
endif()
file(WRITE "${prefix}/etc/creditgate/${config_name}" "${example}")
message(STATUS "Installing: ${prefix}/etc/creditgate/${config_name}")

configure_file("${CG_SOURCE}/config/creditgate.service.in" "${prefix}/lib/systemd/system/creditgate.service" @ONLY)
message(STATUS "Installing: ${prefix}/lib/systemd/system/creditgate.service")

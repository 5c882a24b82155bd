# mk/install.mk: `make install` and `make uninstall` (included by the Makefile;
# also usable alone: make -f mk/install.mk install BUILD=... INSTALL_BUILD=).
#
# Honors DESTDIR and PREFIX. Binaries go under PREFIX, the systemd unit and the
# sysusers/tmpfiles snippets to the system's directories (under DESTDIR), the
# example configuration to /etc/doorwatch without overwriting existing files.
# Installing for real (as root, no DESTDIR) also creates the doorwatch user and
# directories (systemd-sysusers, systemd-tmpfiles), as a package's postinst would.

PREFIX         ?= /usr/local
DESTDIR        ?=
BUILD          ?= build
BINDIR         ?= $(PREFIX)/bin
SBINDIR        ?= $(PREFIX)/sbin
MANDIR         ?= $(PREFIX)/share/man
CONFDIR        ?= /etc/doorwatch
SYSTEMDUNITDIR ?= /lib/systemd/system
SYSUSERSDIR    ?= /usr/lib/sysusers.d
TMPFILESDIR    ?= /usr/lib/tmpfiles.d
INSTALL        ?= install
# What `install` builds first; empty to install what is already in $(BUILD).
INSTALL_BUILD  ?= all

# Example configuration: JSON files, households.d/, the broker examples.
# conf/secrets/ is never installed: secrets are made per installation.
CONF_FILES     := $(wildcard conf/*.json conf/households.d/*.json conf/mosquitto.*)
MAN_PAGES      := $(wildcard man/*.[1-8])

.PHONY: install uninstall install-check unit-security-check

install: $(INSTALL_BUILD)
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	$(INSTALL) -m 0755 $(BUILD)/doorwatchd $(DESTDIR)$(SBINDIR)/doorwatchd
	$(INSTALL) -m 0755 $(BUILD)/doorwatchctl $(BUILD)/doorwatch-sim $(DESTDIR)$(BINDIR)/
	$(INSTALL) -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed -e 's|^\(ExecStart\(Pre\)\{0,1\}\)=/usr/sbin/doorwatchd -c /etc/doorwatch|\1=$(SBINDIR)/doorwatchd -c $(CONFDIR)|' \
		systemd/doorwatchd.service > $(DESTDIR)$(SYSTEMDUNITDIR)/doorwatchd.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/doorwatchd.service.tmp
	mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/doorwatchd.service.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/doorwatchd.service
	$(INSTALL) -m 0644 systemd/doorwatch.sysusers $(DESTDIR)$(SYSUSERSDIR)/doorwatch.conf
	$(INSTALL) -m 0644 systemd/doorwatch.tmpfiles $(DESTDIR)$(TMPFILESDIR)/doorwatch.conf
	@set -e; for p in $(MAN_PAGES); do \
		s=$${p##*.}; \
		echo "$(INSTALL) -D -m 0644 $$p $(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; \
		$(INSTALL) -D -m 0644 "$$p" "$(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; \
	done
	@# The configuration names people, addresses and phones: the directory is
	@# 0750 (root:doorwatch once systemd-tmpfiles has run), the files inside 0644.
	$(INSTALL) -d -m 0750 $(DESTDIR)$(CONFDIR) $(DESTDIR)$(CONFDIR)/secrets
	@set -e; for f in $(CONF_FILES); do \
		dst="$(DESTDIR)$(CONFDIR)/$${f#conf/}"; \
		if [ -e "$$dst" ] || [ -L "$$dst" ]; then \
			echo "install: $$dst exists, not overwritten"; \
		else \
			$(INSTALL) -D -m 0644 "$$f" "$$dst"; \
			echo "install: $$dst"; \
		fi; \
	done
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v systemd-sysusers >/dev/null; then \
		echo "systemd-sysusers doorwatch.conf && systemd-tmpfiles --create doorwatch.conf"; \
		systemd-sysusers $(SYSUSERSDIR)/doorwatch.conf; \
		systemd-tmpfiles --create $(TMPFILESDIR)/doorwatch.conf; \
		if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi; \
		echo "install: next: edit $(CONFDIR), then systemctl enable --now doorwatchd"; \
	fi

# Removes what `install` put outside $(CONFDIR); the configuration and the
# database (/var/lib/doorwatch) are data and stay.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/doorwatchd $(DESTDIR)$(BINDIR)/doorwatchctl $(DESTDIR)$(BINDIR)/doorwatch-sim
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/doorwatchd.service
	rm -f $(DESTDIR)$(SYSUSERSDIR)/doorwatch.conf $(DESTDIR)$(TMPFILESDIR)/doorwatch.conf
	@set -e; for p in $(MAN_PAGES); do \
		s=$${p##*.}; rm -f "$(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; \
	done
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "uninstall: kept $(DESTDIR)$(CONFDIR) and /var/lib/doorwatch (configuration and data); remove them by hand if wanted"

# Checks for `make check`.
install-check:
	tests/check-install.sh
unit-security-check:
	tests/check-unit-security.sh

# IPC Lab Grader.  `make` builds the grader and every reference program;
# `make test` runs the project's own tests; see README.md.

# The grader's version, compiled in (grader --version, results): only here.
VERSION := 0.1.0

PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc
CFLAGS  ?= -O2 -g

# Required flags live here; the user's CFLAGS come last so they can add to them.
WARN      := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
             -Werror=implicit-function-declaration
REQ_FLAGS := -std=c11 $(WARN) -MMD -MP
SANITIZE  ?=
ifneq ($(SANITIZE),)
REQ_FLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDSAN     := -fsanitize=$(SANITIZE)
endif

PKGS       := yaml-0.1 jansson libseccomp nettle libarchive
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lyaml -ljansson -lseccomp -lnettle -larchive) -lrt
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -pthread)

B := build

GRADER_SRC  := $(wildcard grader/*.c)
GRADER_LIB  := $(filter-out grader/main.c grader/linebuf.c,$(GRADER_SRC))
GRADER_OBJ  := $(GRADER_LIB:grader/%.c=$(B)/obj/%.o)

# Every reference/<topic>/<name>.c is one program, built as build/ref/<name>.
REF_SRC  := $(wildcard reference/*/*.c)
REF_BIN  := $(foreach s,$(REF_SRC),$(B)/ref/$(basename $(notdir $(s))))

# Hostile little programs the sandbox tests run (segfault, fork bomb, ...).
HELPER_SRC := $(wildcard tests/helpers/*.c)
HELPER_BIN := $(HELPER_SRC:tests/helpers/%.c=$(B)/helpers/%)

TEST_SRC := $(wildcard tests/check_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)

.PHONY: all refs test check run-tests valgrind bench deps install uninstall clean example
all: $(B)/grader $(B)/libipcgrader-linebuf.so refs
refs: $(REF_BIN)

$(B)/obj/%.o: grader/%.c | $(B)/obj
	$(CC) $(REQ_FLAGS) $(PKG_CFLAGS) $(CFLAGS) -c $< -o $@

# main.o has PREFIX compiled in (where an installed grader finds its labs):
# a stamp named after the prefix rebuilds it when PREFIX changes.
PREFIX_STAMP := $(B)/obj/prefix$(subst /,_,$(PREFIX)).stamp
$(PREFIX_STAMP): | $(B)/obj
	rm -f $(B)/obj/prefix*.stamp
	touch $@

$(B)/obj/main.o: grader/main.c $(PREFIX_STAMP) | $(B)/obj
	$(CC) $(REQ_FLAGS) $(PKG_CFLAGS) -DPREFIX='"$(PREFIX)"' $(CFLAGS) -c $< -o $@

# version.o has VERSION compiled in: a stamp named after it rebuilds it.
VERSION_STAMP := $(B)/obj/version-$(VERSION).stamp
$(VERSION_STAMP): | $(B)/obj
	rm -f $(B)/obj/version-*.stamp
	touch $@

$(B)/obj/version.o: grader/version.c $(VERSION_STAMP) | $(B)/obj
	$(CC) $(REQ_FLAGS) -DGRADER_VERSION='"$(VERSION)"' $(CFLAGS) -c $< -o $@

$(B)/grader: $(B)/obj/main.o $(GRADER_OBJ)
	$(CC) $(CFLAGS) $(LDSAN) $(LDFLAGS) $^ -o $@ $(PKG_LIBS)

# Preloaded into every program the grader runs: makes stdout line-buffered so that
# every line a never-ending server printed reaches the checks although it is killed.
$(B)/libipcgrader-linebuf.so: grader/linebuf.c | $(B)
	$(CC) -std=c11 $(WARN) -fPIC -shared $(CFLAGS) $< -o $@

define REF_RULE
$(B)/ref/$(basename $(notdir $(1))): $(1) $(wildcard $(dir $(1))*.h) | $(B)/ref
	$$(CC) $$(REQ_FLAGS) $$(CFLAGS) $$(LDSAN) $$(LDFLAGS) $(1) -o $$@ -lrt -pthread
endef
$(foreach s,$(REF_SRC),$(eval $(call REF_RULE,$(s))))

$(B)/helpers/%: tests/helpers/%.c | $(B)/helpers
	$(CC) -std=c11 $(WARN) $(CFLAGS) $< -o $@ -lrt

$(B)/tests/%: tests/%.c $(GRADER_OBJ) | $(B)/tests
	$(CC) $(REQ_FLAGS) $(PKG_CFLAGS) -Igrader $(CFLAGS) $(LDSAN) $(LDFLAGS) $< $(GRADER_OBJ) -o $@ $(PKG_LIBS) $(CHECK_LIBS)

$(B) $(B)/obj $(B)/ref $(B)/helpers $(B)/tests:
	mkdir -p $@

# The test command README.md gives.  Every suite runs even when one fails.
# Under sudo, build/ goes back to the user who ran it: their next make needs no root.
GIVE_BACK = if [ -n "$$SUDO_UID" ] && [ "$$(id -u)" -eq 0 ]; then chown -R "$$SUDO_UID:$$SUDO_GID" $(B); fi

test check: deps
	@$(MAKE) --no-print-directory run-tests; rc=$$?; $(GIVE_BACK); exit $$rc

# The sandbox and integration suites need namespaces: where the machine gives
# none, say so plainly (and how to get them) rather than fail 40 checks.
run-tests: all $(HELPER_BIN) $(TEST_BIN)
	@if ! $(B)/grader doctor | grep -q '^sandbox  *namespaces'; then \
	  echo "make test needs the sandbox's namespaces, which this machine does not give now:"; \
	  $(B)/grader doctor | sed 's/^/  /'; exit 1; fi
	@rc=0; for t in $(TEST_BIN); do echo "== $$t"; $$t || rc=1; done; exit $$rc

# Unit tests under memcheck, in one process so that leaks are attributed
# (the integration, hostile and teardown suites run the grader binary: not theirs).
# Cases tagged no-memcheck exercise what Valgrind cannot emulate (a refused
# namespace clone); they run in `make test`.
VALGRIND := valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no
valgrind: all $(HELPER_BIN) $(TEST_BIN)
	@rc=0; for t in $(filter-out %/check_integration %/check_hostile %/check_teardown %/check_units,$(TEST_BIN)); do echo "== valgrind $$t"; \
	  CK_FORK=no CK_DEFAULT_TIMEOUT=120 CK_EXCLUDE_TAGS=no-memcheck $(VALGRIND) $$t || rc=1; done; exit $$rc

bench: all $(B)/bench_sandbox
	@sh tests/bench.sh

$(B)/bench_sandbox: tests/bench_sandbox.c $(GRADER_OBJ) | $(B)
	$(CC) $(REQ_FLAGS) $(PKG_CFLAGS) -Igrader $(CFLAGS) $(LDSAN) $(LDFLAGS) $< $(GRADER_OBJ) -o $@ $(PKG_LIBS)

# Grade the bundled fixtures of tcp-hello and print the report (README's first command).
example: deps
	@$(MAKE) --no-print-directory all; rc=$$?; $(GIVE_BACK); exit $$rc
	@for f in fixtures/tcp-hello/good-reference fixtures/tcp-hello/bug-slide-code; do \
	  echo "### $(B)/grader grade tcp-hello $$f"; $(B)/grader grade tcp-hello $$f; done; true

deps:
	@sh tests/deps.sh

# The class report of real gradings, checked in headless Chromium (skipped,
# saying so, without it: apt-get install chromium); the screenshot is
# $(B)/class-report.png.  Not part of `make test`: it grades for a minute.
.PHONY: class-report
class-report: all
	@sh tests/class_report.sh $(B)/class-report.png

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/ipc-grader/ref $(DESTDIR)$(PREFIX)/share/ipc-grader
	install -m 755 $(B)/grader $(DESTDIR)$(PREFIX)/bin/grader
	install -m 755 $(B)/libipcgrader-linebuf.so $(DESTDIR)$(PREFIX)/libexec/ipc-grader/
	install -m 755 $(REF_BIN) $(DESTDIR)$(PREFIX)/libexec/ipc-grader/ref/
	cp -R labs $(DESTDIR)$(PREFIX)/share/ipc-grader/
	@# The manual page, with this PREFIX's paths and the VERSION.
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	sed -e 's|/usr/local/|$(PREFIX)/|g' -e 's|^\(\.TH .*\)"ipc-grader"|\1"ipc-grader $(VERSION)"|' \
	  docs/grader.1 > $(DESTDIR)$(PREFIX)/share/man/man1/grader.1
	chmod 644 $(DESTDIR)$(PREFIX)/share/man/man1/grader.1
	@# AppArmor profile granting user namespaces (packaging/apparmor/ipc-grader.in):
	@# installed where the kernel restricts them (Ubuntu 23.10+) and the system has
	@# /etc/apparmor.d, or always with APPARMOR=1 (never with APPARMOR=0); loaded
	@# when installing to this system (no DESTDIR) with AppArmor enabled.
	@if [ "$(APPARMOR)" = 1 ] || { [ "$(APPARMOR)" != 0 ] && [ -d /etc/apparmor.d ] && \
	     [ -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ]; }; then \
	  aa="$(DESTDIR)/etc/apparmor.d/ipc-grader"; \
	  install -d "$(DESTDIR)/etc/apparmor.d" && \
	  sed 's|@BINDIR@|$(PREFIX)/bin|g' packaging/apparmor/ipc-grader.in > "$$aa.tmp" && \
	  chmod 644 "$$aa.tmp" && mv -f "$$aa.tmp" "$$aa" || exit 1; \
	  if [ -z "$(DESTDIR)" ] && [ -d /sys/kernel/security/apparmor ] && \
	     command -v apparmor_parser >/dev/null 2>&1; then \
	    apparmor_parser -r "$$aa" || { echo "apparmor_parser could not load $$aa" >&2; exit 1; }; \
	    echo "installed the AppArmor profile $$aa: the grader may create user namespaces"; \
	  fi; \
	fi

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/grader $(DESTDIR)$(PREFIX)/libexec/ipc-grader $(DESTDIR)$(PREFIX)/share/ipc-grader
	rm -f $(DESTDIR)$(PREFIX)/share/man/man1/grader.1
	@aa="$(DESTDIR)/etc/apparmor.d/ipc-grader"; \
	if [ -z "$(DESTDIR)" ] && command -v apparmor_parser >/dev/null 2>&1 && \
	   grep -q '^ipc-grader ' /sys/kernel/security/apparmor/profiles 2>/dev/null; then \
	  if [ -f "$$aa" ]; then apparmor_parser -R "$$aa"; \
	  else printf 'profile ipc-grader {}\n' | apparmor_parser -R; fi; \
	fi; \
	rm -f "$$aa"

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)

# The Docker image for CI and Gradescope (docker/README.md: building offline,
# the `docker run` flags that give every test its namespaces).  Where only the
# host reaches the package mirror: make docker DOCKER_BUILD_FLAGS=--network=host
DOCKER_BUILD_FLAGS ?=
.PHONY: docker
docker:
	docker build $(DOCKER_BUILD_FLAGS) -f docker/Dockerfile -t ipc-grader .

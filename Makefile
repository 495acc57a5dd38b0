# vhostd - jailed multi-process vhost-user device host.
#
#   make            build build/vhostd
#   make check      unit, integration and end-to-end tests, then the unit
#                   and integration tests again under ASan+UBSan
#   make sanitize   build the ASan+UBSan tree (build-san/)
#   make fuzz       libFuzzer targets (clang), FUZZ_TIME=30 s each
#   make check-fuzz every fuzz target for 20 s (part of make check)
#   make bench      benchmarks (not tests)
#   make bench-net  only the net rows of make bench (DPDK testpmd peer)
#   make soak       64 devices, random kills and reconnects for SOAK_SECS
#                   (default 180), then SIGTERM (not part of make check)
#   make lint       the include graph, clang-tidy, cppcheck, mandoc -Tlint
#   make check-lint the include graph check and its self-test (in check)
#   make compdb     compile_commands.json
#   make install    PREFIX, DESTDIR honoured

# The version: git describe at build time, else the release's number.
VERSION	?= $(shell git describe --tags --always --dirty 2>/dev/null || \
	    echo 0.1)
PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
DATADIR	?= $(PREFIX)/share
MANDIR	?= $(DATADIR)/man
POLICYDIR ?= $(DATADIR)/vhostd/policies
BUILD	?= build
SAN	?= 0
# COUNTERS=0: build without the I/O counters (util/counters.h), for the
# bench's "off" binary; use its own BUILD directory.
COUNTERS ?= 1
CC	?= cc

PKGS	:= libevent libseccomp libcap-ng liburing
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CRIT_CFLAGS := $(shell pkg-config --cflags criterion 2>/dev/null)
CRIT_LIBS   := $(shell pkg-config --libs criterion 2>/dev/null)

WARN	:= -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(SAN),1)
OPT	:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined -DVHOSTD_SANITIZE
SANLD	:= -fsanitize=address,undefined
else
OPT	:= -O2 -g -D_FORTIFY_SOURCE=2
SANLD	:=
endif
HARDEN	:= -fstack-protector-strong -fPIE -fstack-clash-protection \
	   -fcf-protection
CPPFLAGS += -D_GNU_SOURCE -DPOLICYDIR=\"$(POLICYDIR)\" -Isrc -Isandbox
ifeq ($(COUNTERS),0)
CPPFLAGS += -DVHOSTD_NO_COUNTERS
endif
CFLAGS	?=
CFLAGS	+= -std=gnu11 $(OPT) $(WARN) $(HARDEN) $(PKG_CFLAGS)
LDFLAGS	+= -pie -Wl,-z,relro,-z,now $(SANLD)
LDLIBS	+= $(PKG_LIBS)

# Library: everything but the entry point and the device registry (which is
# compiled twice: with and without the test-only devices).
LIB_SRCS := $(filter-out src/main.c src/devices/device.c, \
	    $(wildcard src/*.c src/*/*.c sandbox/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIB	:= $(BUILD)/libvhostd.a

# The generated table of named policy constants (see below).
POLCONST := $(BUILD)/sandbox/policy_consts_gen
LIB_OBJS += $(POLCONST).o

FE_SRCS	:= $(wildcard tests/frontend/*.c)
FE_OBJS	:= $(FE_SRCS:%.c=$(BUILD)/%.o)
FE_LIB	:= $(BUILD)/libvuf.a

TESTDEV_SRCS := $(wildcard tests/devices/*.c)
TESTDEV_OBJS := $(TESTDEV_SRCS:%.c=$(BUILD)/%.o)

UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)
INTEG_SRCS := $(wildcard tests/integration/*_test.c)
INTEG_BINS := $(INTEG_SRCS:%.c=$(BUILD)/%)
# A test split by area: the .c files of tests/unit/NAME/ (or
# tests/integration/NAME/), its shared set-up in a harness file there,
# link into one binary, build/tests/unit/NAME_test.
UNIT_DIRS := $(patsubst %/,%,$(sort $(dir $(wildcard tests/unit/*/*.c))))
INTEG_DIRS := $(patsubst %/,%,$(sort $(dir \
	    $(wildcard tests/integration/*/*.c))))
UNIT_BINS += $(UNIT_DIRS:%=$(BUILD)/%_test)
INTEG_BINS += $(INTEG_DIRS:%=$(BUILD)/%_test)
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:%.c=$(BUILD)/%)

PROG	:= $(BUILD)/vhostd
# Device types with a backend-program personality (vhostd-TYPE) and a
# libvirt description file.
PERSONAS := $(patsubst data/vhost-user/50-vhostd-%.json,%,\
	    $(wildcard data/vhost-user/50-vhostd-*.json))
PERSONA_LINKS := $(PERSONAS:%=$(BUILD)/vhostd-%)
PROG_TEST := $(BUILD)/vhostd_test

all: $(PROG) $(PERSONA_LINKS) $(TOOL_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# Named policy constants: every integer macro with a policy prefix of the
# headers in sandbox/policy_headers.h, as a table the compiler evaluates
# (sandbox/gen-policy-consts.sh).  Regenerated when the generator, the
# header list or those headers change (the generator writes $@.d).
$(POLCONST).c: sandbox/gen-policy-consts.sh sandbox/policy_headers.h
	@mkdir -p $(dir $@)
	CC='$(CC)' sandbox/gen-policy-consts.sh $@ $(CPPFLAGS)

$(POLCONST).o: $(POLCONST).c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/src/devices/device-test.o: src/devices/device.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DVHOSTD_TESTING $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(FE_LIB): $(FE_OBJS)
	rm -f $@
	ar rcs $@ $^

# The policy directory is compiled in: rebuild main.o when it changes
# (make install PREFIX=/usr after a default build).
$(BUILD)/policydir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(POLICYDIR)' | cmp -s - $@ || echo '$(POLICYDIR)' > $@
$(BUILD)/src/main.o: $(BUILD)/policydir $(BUILD)/version
$(BUILD)/src/main.o: CPPFLAGS += -DVHOSTD_VERSION=\"$(VERSION)\"
$(BUILD)/version: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@

$(PROG): $(BUILD)/src/main.o $(BUILD)/src/devices/device.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The backend-program personalities, in the build tree as installed
# (build/vhostd-blk runs as vhostd blk).
$(PERSONA_LINKS): $(BUILD)/vhostd-%: | $(PROG)
	ln -sf vhostd $@

$(PROG_TEST): $(BUILD)/src/main.o $(BUILD)/src/devices/device-test.o \
	    $(TESTDEV_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fixtures shared by the unit tests (tests/unit/*.c that are not tests).
UNIT_FIXTURES := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(UNIT_SRCS),\
	    $(wildcard tests/unit/*.c)))

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(UNIT_FIXTURES) $(FE_LIB) $(BUILD)/src/devices/device.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRIT_LIBS)

# Shared by the integration tests (tests/integration/*.c that are not
# tests: itest.c, the state behind itest.h).
INTEG_FIXTURES := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(INTEG_SRCS),\
	    $(wildcard tests/integration/*.c)))

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(INTEG_FIXTURES) $(FE_LIB) $(BUILD)/src/devices/device.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRIT_LIBS)

# A split test (UNIT_DIRS, INTEG_DIRS): DIR_test from DIR/*.c and what
# the other tests of its kind link with ($(2)).
define split_test
$(BUILD)/$(1)_test: $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(1)/*.c)) $(2)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(CRIT_LIBS)
endef
$(foreach d,$(UNIT_DIRS),$(eval $(call split_test,$(d),\
    $(UNIT_FIXTURES) $(FE_LIB) $(BUILD)/src/devices/device.o $(LIB))))
$(foreach d,$(INTEG_DIRS),$(eval $(call split_test,$(d),\
    $(INTEG_FIXTURES) $(FE_LIB) $(BUILD)/src/devices/device.o $(LIB))))

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(FE_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%.o: CFLAGS += $(CRIT_CFLAGS)
$(BUILD)/tests/%.o: CPPFLAGS += -Itests/frontend

tests: $(PROG) $(PERSONA_LINKS) $(PROG_TEST) $(UNIT_BINS) $(INTEG_BINS) $(TOOL_BINS)

# Test runner: scripts/run-tests prints one line per suite and a closing
# "N passed, N failed, N skipped" line.
check-unit: tests
	scripts/run-tests unit $(BUILD) $(UNIT_BINS)

check-integration: tests
	VHOSTD=$(abspath $(PROG)) VHOSTD_TEST=$(abspath $(PROG_TEST)) \
	    VHOSTD_POLICYDIR=$(abspath policies/x86_64) \
	    scripts/run-tests integration $(BUILD) $(INTEG_BINS)

check-e2e: tests
	VHOSTD=$(abspath $(PROG)) VHOSTD_POLICYDIR=$(abspath policies/x86_64) \
	    scripts/run-tests e2e $(BUILD) \
	    $(filter-out tests/e2e/lib.sh tests/e2e/%-bench.sh,\
	    $(wildcard tests/e2e/*.sh))

check-man: $(PROG)
	VHOSTD=$(abspath $(PROG)) scripts/run-tests man $(BUILD) \
	    tests/man/check-man.sh

# The include graph points one way, without cycles
# (tests/lint/include-graph.sh); the self-test shows the check can fail.
# A tracked file is executable in git exactly when it has a #! line
# (tests/lint/exec-modes.sh).
LINT_TESTS := tests/lint/include-graph.sh tests/lint/include-graph-selftest.sh \
	      tests/lint/exec-modes.sh
check-lint:
	scripts/run-tests lint $(BUILD) $(LINT_TESTS)

check-install:
	scripts/run-tests install $(BUILD) tests/install/check-install.sh

sanitize:
	$(MAKE) BUILD=build-san SAN=1 tests

# Every libFuzzer target for CHECK_FUZZ_TIME seconds (default 20) each;
# skipped with a reason without clang/libFuzzer.  make fuzz: long runs.
check-fuzz:
	scripts/run-tests fuzz $(BUILD) $(sort $(wildcard tests/fuzz/*_fuzz.c))

check:
	rm -f build/results.txt build-san/results.txt
	@st=0; \
	$(MAKE) -k check-lint check-unit check-integration check-e2e \
	    check-man check-install check-fuzz || st=1; \
	$(MAKE) -k BUILD=build-san SAN=1 check-unit check-integration || st=1; \
	scripts/run-tests summary build build-san || st=1; \
	exit $$st

fuzz:
	$(MAKE) -C tests/fuzz BUILD=$(abspath $(BUILD))/fuzz

# The counters line (scripts/bench-counters) compares with a vhostd built
# without counters, in its own directory.
bench: $(PROG) tests
	$(MAKE) BUILD=$(BUILD)-nocounters COUNTERS=0 $(BUILD)-nocounters/vhostd
	scripts/bench $(BUILD)

# The net rows of make bench alone (vhostd against DPDK's vhost + tap).
bench-net: $(PROG) tests
	scripts/bench-net $(BUILD)

# The soak (tests/tools/vuf-soak.c): SOAK_SECS=30 for a quick run.
SOAK_SECS ?= 180
SOAK_DEVICES ?= 64
soak: $(PROG) $(BUILD)/tests/tools/vuf-soak
	$(BUILD)/tests/tools/vuf-soak --vhostd=$(abspath $(PROG)) \
	    --policy-dir=$(abspath policies/x86_64) --secs=$(SOAK_SECS) \
	    --devices=$(SOAK_DEVICES)
.PHONY: soak

# Unit tests under valgrind (memcheck, definite leaks are errors).  The
# policy and jail tests load seccomp filters and enter namespaces, which
# valgrind cannot follow: they are left to the ASan build.
valgrind: tests
	@mkdir -p $(BUILD)/logs
	@for t in $(filter-out %/policy_test %/jail_test,$(UNIT_BINS)); do \
		n=$$(basename $$t); \
		valgrind -q --trace-children=yes --error-exitcode=9 \
		    --leak-check=full --errors-for-leak-kinds=definite \
		    $$t -j1 >$(BUILD)/logs/valgrind-$$n.log 2>&1 || \
		    { echo "FAIL valgrind $$n: $(BUILD)/logs/valgrind-$$n.log"; \
		    exit 1; }; \
		echo "PASS valgrind $$n"; \
	done

compdb:
	bear -- $(MAKE) -B tests

lint:
	sh tests/lint/include-graph.sh
	$(MAKE) compdb
	clang-tidy -p . --quiet $(LIB_SRCS) src/main.c src/devices/device.c
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -Isrc -Isandbox src sandbox
	mandoc -Tlint -W warning man/*.[0-9]

VHOSTUSERDIR ?= $(DATADIR)/qemu/vhost-user
UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
DOCDIR	?= $(DATADIR)/doc/vhostd
# The children's user: created by make install (DESTDIR empty only) when
# missing, through systemd-sysusers where it exists, else useradd.
VHOSTD_USER ?= vhostd
SYSUSERS ?= systemd-sysusers
USERADD	?= useradd
# The man pages name the default paths (PREFIX=/usr/local); installed
# pages name the ones this install uses.
MANSUBST = sed -e 's|/usr/local/share/vhostd/policies|$(POLICYDIR)|g' \
	    -e 's|/usr/local/share|$(DATADIR)|g' \
	    -e 's|/usr/local/bin|$(BINDIR)|g' -e 's|/usr/local|$(PREFIX)|g'

install: $(PROG)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(POLICYDIR) \
	    $(DESTDIR)$(VHOSTUSERDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(DOCDIR)
	install -m 0755 $(PROG) $(DESTDIR)$(BINDIR)/vhostd
	for t in $(PERSONAS); do \
		ln -sf vhostd $(DESTDIR)$(BINDIR)/vhostd-$$t; \
		sed 's|@BINDIR@|$(BINDIR)|g' data/vhost-user/50-vhostd-$$t.json \
		    > $(DESTDIR)$(VHOSTUSERDIR)/50-vhostd-$$t.json; \
	done
	install -m 0644 policies/x86_64/*.policy $(DESTDIR)$(POLICYDIR)/
	for m in man/*.8 man/*.5; do \
		s=$${m##*.}; \
		$(MANSUBST) $$m > $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; \
	done
	for u in data/systemd/*; do \
		sed 's|@BINDIR@|$(BINDIR)|g' $$u > \
		    $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	done
	sed 's|@VHOSTD_USER@|$(VHOSTD_USER)|g' data/sysusers.d/vhostd.conf \
	    > $(DESTDIR)$(SYSUSERSDIR)/vhostd.conf
	install -m 0644 data/example.conf $(DESTDIR)$(DOCDIR)/example.conf
	@if [ -z "$(DESTDIR)" ] && ! id -u $(VHOSTD_USER) >/dev/null 2>&1; then \
		if command -v $(SYSUSERS) >/dev/null 2>&1; then \
			echo "creating system user $(VHOSTD_USER): $(SYSUSERS)"; \
			$(SYSUSERS) $(SYSUSERSDIR)/vhostd.conf; \
		else \
			echo "creating system user $(VHOSTD_USER): $(USERADD)"; \
			$(USERADD) --system --user-group --no-create-home \
			    --home-dir / --shell /usr/sbin/nologin \
			    --comment 'vhostd jailed device children' \
			    $(VHOSTD_USER); \
		fi; \
	fi

# Leaves the vhostd user in place: files may still belong to it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vhostd
	for t in $(PERSONAS); do \
		rm -f $(DESTDIR)$(BINDIR)/vhostd-$$t \
		    $(DESTDIR)$(VHOSTUSERDIR)/50-vhostd-$$t.json; \
	done
	for u in data/systemd/*; do \
		rm -f $(DESTDIR)$(UNITDIR)/$$(basename $$u); \
	done
	rm -rf $(DESTDIR)$(POLICYDIR)
	rm -f $(DESTDIR)$(MANDIR)/man8/vhostd.8 \
	    $(DESTDIR)$(MANDIR)/man5/vhostd.policy.5 \
	    $(DESTDIR)$(MANDIR)/man5/vhostd.conf.5 \
	    $(DESTDIR)$(SYSUSERSDIR)/vhostd.conf \
	    $(DESTDIR)$(DOCDIR)/example.conf
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null

clean:
	rm -rf build build-san compile_commands.json

.PHONY: all tests check check-lint check-unit check-integration check-e2e \
	check-man \
	check-install check-fuzz valgrind FORCE \
	sanitize fuzz bench bench-net compdb lint install uninstall clean
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

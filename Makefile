# plugind — privilege-separated Docker-compatible plugin manager.
# Plain GNU make; every object goes to build/ (build-asan/ with SANITIZE=1,
# so a sanitizer build never mixes objects with the normal one).

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/plugind
SYSCONFDIR	?= /etc
DATADIR		?= $(PREFIX)/share
MANDIR		?= $(DATADIR)/man
DOCDIR		?= $(DATADIR)/doc/plugind
BASHCOMPDIR	?= $(DATADIR)/bash-completion/completions
# systemd reads /usr/local/lib/systemd/system and /usr/lib/systemd/system
# (systemd.unit(5), "Unit File Load Path"); another PREFIX needs
# UNITDIR=/etc/systemd/system.
UNITDIR		?= $(PREFIX)/lib/systemd/system
B		?= $(if $(filter 1,$(SANITIZE)),build-asan,build)
Q		:= $(if $(V),,@)

CC		?= cc

# One package list per program: exactly the libraries its own objects
# call, so each binary's NEEDED entries are its own and nothing else.
# The programs link with -Wl,--no-as-needed (PROG_LDFLAGS): the toolchain's
# default --as-needed (dropped by -fsanitize anyway) never hides a library
# a list names but the program does not use.  tests/integration/
# test_link.sh holds the expected NEEDED list of each binary.
#   plugind: no libseccomp, no libcap-ng: `info` and the CapEff check read
#	the data tables (common/role.c, common/sandbox-seccomp.c);
#	the loaders (sandbox-load.c, privdrop.c) are in libpdhelper, which
#	only the helpers link.  libcrypto: common/digest.c hashes blobs.
#   pluginctl: libarchive tars the `create` context; libcrypto decodes
#	the base64 "auth" of ~/.docker/config.json (credentials()).
#   plugind-fetcher: libcurl (libssl comes with it, never called directly).
PLUGIND_PKGS	:= jansson libcrypto
CTL_PKGS	:= jansson libarchive libcrypto
FETCH_PKGS	:= libcurl jansson libcrypto libseccomp libcap-ng
EXTRACT_PKGS	:= libarchive zlib jansson libcrypto libseccomp libcap-ng
API_PKGS	:= jansson libseccomp libcap-ng
LOGGER_PKGS	:= libseccomp libcap-ng
#   plugind-gateway: jansson parses the plugin's answers; it links the API
#	process's HTTP server side (api/http.c) for the engine's request.
GATEWAY_PKGS	:= jansson libseccomp libcap-ng
# common/ headers name jansson, OpenSSL, libseccomp and libcap-ng types.
COMMON_PKGS	:= jansson libcrypto libseccomp libcap-ng
# Unit tests and tools exercise several libraries each: they link them all.
TEST_PKGS	:= libcurl jansson libarchive zlib openssl libseccomp libcap-ng
pkg_cflags	= $(shell pkg-config --cflags $(1) 2>/dev/null)
pkg_libs	= $(shell pkg-config --libs $(1) 2>/dev/null)

WARN		:= -Wall -Wextra -Werror -Wformat=2 -Wformat-security \
		   -Wshadow -Wpointer-arith -Wcast-qual -Wwrite-strings \
		   -Wstrict-prototypes -Wmissing-prototypes -Wnull-dereference \
		   -Wimplicit-fallthrough -Wvla -Wundef -Wno-unused-parameter
HARDEN		:= -fPIE -fstack-protector-strong -fstack-clash-protection \
		   -D_FORTIFY_SOURCE=2 -fno-strict-aliasing
OPT		?= -O2 -g
CFLAGS_ALL	:= -std=gnu11 $(OPT) $(WARN) $(HARDEN) -D_GNU_SOURCE \
		   -DLIBEXECDIR='"$(LIBEXECDIR)"' $(CFLAGS)
LDFLAGS_ALL	:= -pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack -pthread $(LDFLAGS)
PROG_LDFLAGS	= $(LDFLAGS_ALL) -Wl,--no-as-needed

# Include paths per folder: a program's objects see common/ and their own
# folder only (what the broker and pluginctl share is in common/defaults.h).
INC_common	:= -Icommon $(call pkg_cflags,$(COMMON_PKGS))
INC_broker	:= -Icommon -Ibroker $(call pkg_cflags,$(PLUGIND_PKGS))
INC_pluginctl	:= -Icommon -Ipluginctl $(call pkg_cflags,$(CTL_PKGS))
INC_fetcher	:= -Icommon -Ifetcher $(call pkg_cflags,$(FETCH_PKGS))
INC_extractor	:= -Icommon -Iextractor $(call pkg_cflags,$(EXTRACT_PKGS))
INC_api		:= -Icommon -Iapi $(call pkg_cflags,$(API_PKGS))
INC_logger	:= -Icommon -Ilogger $(call pkg_cflags,$(LOGGER_PKGS))
INC_gateway	:= -Icommon -Igateway -Iapi $(call pkg_cflags,$(GATEWAY_PKGS))
INC_tests	:= -Icommon -Ibroker -Ifetcher -Iextractor -Iapi -Igateway $(call pkg_cflags,$(TEST_PKGS))

# Test-only crash points (common/crashpoint.h); build into another B=.
ifeq ($(CRASHPOINTS),1)
CFLAGS_ALL	+= -DPD_CRASHPOINTS
endif

# ASan+UBSan; every UBSan report is fatal like an ASan one.  PD_SANITIZE
# compiles in what only a sanitizer build needs (docs/SANDBOX.md).
ifeq ($(SANITIZE),1)
CFLAGS_ALL	+= -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		   -fno-omit-frame-pointer -U_FORTIFY_SOURCE -DPD_SANITIZE
LDFLAGS_ALL	+= -fsanitize=address,undefined
endif

# libpdhelper: what only a sandboxed helper runs (start-up, the libcap-ng
# privilege drop, the libseccomp loader); libpdcommon: everything else.
HELPER_SRCS	:= common/child.c common/privdrop.c common/sandbox-load.c
COMMON_SRCS	:= $(filter-out common/sandbox-null.c $(HELPER_SRCS),$(wildcard common/*.c))
BROKER_SRCS	:= $(filter-out broker/ctl/plugind.c,$(wildcard broker/*/*.c))
CTL_SRCS	:= $(wildcard pluginctl/*.c)
FETCH_SRCS	:= $(filter-out fetcher/fetcher.c,$(wildcard fetcher/*.c))
EXTRACT_SRCS	:= $(filter-out extractor/extractor.c,$(wildcard extractor/*.c))
API_SRCS	:= $(filter-out api/api.c,$(wildcard api/*.c))
GATEWAY_SRCS	:= $(filter-out gateway/gateway.c,$(wildcard gateway/*.c))
TEST_SRCS	:= $(wildcard tests/unit/test_*.c tests/sandbox/*.c)
TOOL_SRCS	:= $(wildcard tests/tools/*.c)
FIXTURE_SRCS	:= $(wildcard tests/fixtures/*.c)

obj		= $(patsubst %.c,$(B)/obj/%.o,$(1))
LIBCOMMON	:= $(B)/libpdcommon.a
LIBHELPER	:= $(B)/libpdhelper.a
LIBBROKER	:= $(B)/libpdbroker.a
LIBFETCH	:= $(B)/libpdfetch.a
LIBEXTRACT	:= $(B)/libpdextract.a
LIBAPI		:= $(B)/libpdapi.a
LIBGATEWAY	:= $(B)/libpdgateway.a
LIBS_ALL	:= $(LIBBROKER) $(LIBFETCH) $(LIBEXTRACT) $(LIBAPI) $(LIBGATEWAY) \
		   $(LIBHELPER) $(LIBCOMMON)

PROGS		:= $(B)/plugind $(B)/plugind-fetcher $(B)/plugind-extractor \
		   $(B)/plugind-api $(B)/plugind-logger $(B)/plugind-gateway \
		   $(B)/pluginctl
TESTS		:= $(patsubst %.c,$(B)/tests/%,$(notdir $(TEST_SRCS)))
TOOLS		:= $(patsubst %.c,$(B)/tests/tools/%,$(notdir $(TOOL_SRCS)))
FIXTURES	:= $(patsubst %.c,$(B)/fixtures/%,$(notdir $(FIXTURE_SRCS)))

# The manual pages, the bash completion and the sample config are printed
# by the programs from their own tables (pluginctl/doc.c,
# broker/ctl/manpage.c), so they describe exactly what was built.
MANPAGES	:= $(B)/man/pluginctl.1 $(B)/man/plugind.json.5 $(B)/man/plugind.8
EXTRAS		:= $(MANPAGES) $(B)/completion/pluginctl $(B)/plugind.json

all: $(PROGS) $(EXTRAS)

$(B)/obj/%.o: %.c $(wildcard common/*.h broker/*/*.h pluginctl/*.h fetcher/*.h extractor/*.h api/*.h gateway/*.h tests/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS_ALL) $(INC_$(firstword $(subst /, ,$<))) -c -o $@ $<

# LIBEXECDIR is compiled into the broker: rebuild when it changes.
$(B)/libexecdir.stamp: FORCE
	@mkdir -p $(B)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' > $@
$(B)/obj/broker/state/conf.o $(B)/obj/broker/ctl/plugind.o \
    $(B)/obj/broker/ctl/manpage.o: $(B)/libexecdir.stamp
FORCE:

$(LIBCOMMON): $(call obj,$(COMMON_SRCS))
$(LIBHELPER): $(call obj,$(HELPER_SRCS))
$(LIBBROKER): $(call obj,$(BROKER_SRCS))
$(LIBFETCH): $(call obj,$(FETCH_SRCS))
$(LIBEXTRACT): $(call obj,$(EXTRACT_SRCS))
$(LIBAPI): $(call obj,$(API_SRCS))
$(LIBGATEWAY): $(call obj,$(GATEWAY_SRCS))
$(B)/lib%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^ $(if $^,,$(B)/obj/empty.o)

$(B)/obj/empty.o:
	@mkdir -p $(dir $@)
	echo 'extern int pd_empty_unit; int pd_empty_unit;' | $(CC) -x c -c -o $@ -
$(LIBS_ALL): | $(B)/obj/empty.o

$(B)/plugind: $(call obj,broker/ctl/plugind.c) $(LIBBROKER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(PLUGIND_PKGS))
$(B)/pluginctl: $(call obj,$(CTL_SRCS)) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(CTL_PKGS))
$(B)/plugind-fetcher: $(call obj,fetcher/fetcher.c) $(LIBFETCH) $(LIBHELPER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(FETCH_PKGS))
$(B)/plugind-extractor: $(call obj,extractor/extractor.c) $(LIBEXTRACT) $(LIBHELPER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(EXTRACT_PKGS))
$(B)/plugind-api: $(call obj,api/api.c) $(LIBAPI) $(LIBHELPER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(API_PKGS))
$(B)/plugind-logger: $(call obj,logger/logger.c) $(LIBHELPER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(LOGGER_PKGS))
$(B)/plugind-gateway: $(call obj,gateway/gateway.c api/http.c) $(LIBGATEWAY) $(LIBHELPER) $(LIBCOMMON)
	$(CC) $(PROG_LDFLAGS) -o $@ $^ $(call pkg_libs,$(GATEWAY_PKGS))

$(B)/man/pluginctl.1: $(B)/pluginctl
	@mkdir -p $(dir $@)
	$< help --man >$@.tmp && mv $@.tmp $@
$(B)/man/plugind.json.5: $(B)/plugind
	@mkdir -p $(dir $@)
	$< --man 5 >$@.tmp && mv $@.tmp $@
$(B)/man/plugind.8: $(B)/plugind
	@mkdir -p $(dir $@)
	$< --man 8 >$@.tmp && mv $@.tmp $@
$(B)/completion/pluginctl: $(B)/pluginctl
	@mkdir -p $(dir $@)
	$< completion bash >$@.tmp && mv $@.tmp $@
# The built-in defaults, every key: the sample config (plugind.json(5)).
$(B)/plugind.json: $(B)/plugind
	$< --print-config >$@.tmp && mv $@.tmp $@

# Unit tests and probes: one program per file, linked against every library.
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(TEST_PKGS))
$(B)/tests/%: $(B)/obj/tests/sandbox/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(TEST_PKGS))
$(B)/tests/tools/%: $(B)/obj/tests/tools/%.o $(LIBS_ALL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(call pkg_libs,$(TEST_PKGS))
# Test fixtures (sample plugins) are static so they run in a bare rootfs.
$(B)/fixtures/%: tests/fixtures/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Werror -static -o $@ $<

tests: $(TESTS) $(TOOLS) $(FIXTURES)

# check and demo install their own dependencies first (README.md).
# `make check SANITIZE=1` builds into build-asan/ and runs the same suite
# there; tests/run.sh turns on the sanitizer report checks itself.
check:
	tests/deps.sh
	$(MAKE) all tests
	PD_BUILD=$(abspath $(B)) tests/run.sh

demo:
	tests/deps.sh
	$(MAKE) all tests
	tests/demo.sh

bench: all tests
	PD_BUILD=$(abspath $(B)) tests/bench/run.sh

# plugind beside Debian's dockerd (tests/bench/docker_bench.sh).
bench-docker: all tests
	sh tests/deps.sh
	PD_BUILD=$(abspath $(B)) bash tests/bench/docker_bench.sh

# The crash-safety test at length: 500 broker kills per verb (make check
# runs 50), about half an hour.
CRASH_KILLS	?= 500
crash: all tests
	CRASH_KILLS=$(CRASH_KILLS) TESTS=test_crash tests/run.sh

# Longer fuzzing runs of every harness (make check runs them briefly).
FUZZ_SECONDS	?= 60
fuzz: all tests
	for t in tests/fuzz/test_*.sh; do FUZZ_SECONDS=$(FUZZ_SECONDS) PD_TOP=$(CURDIR) \
	    PD_BUILD=$(abspath $(B)) sh $$t || exit 1; done

deps:
	tests/deps.sh

# DESTDIR stages the files (a package); the users and group are created
# only for a real install (the .deb's postinst creates its own).
# /etc/default/plugind is the operator's: an existing one is kept.
install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/default
	install -m 0755 $(B)/plugind $(DESTDIR)$(SBINDIR)/plugind
	install -m 0755 $(B)/pluginctl $(DESTDIR)$(BINDIR)/pluginctl
	install -m 0755 $(B)/plugind-fetcher $(B)/plugind-extractor \
	    $(B)/plugind-api $(B)/plugind-logger $(B)/plugind-gateway \
	    $(DESTDIR)$(LIBEXECDIR)/
	install -m 0644 $(B)/man/pluginctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(B)/man/plugind.json.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(B)/man/plugind.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(B)/completion/pluginctl $(DESTDIR)$(BASHCOMPDIR)/pluginctl
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/docs/
	install -m 0644 $(B)/plugind.json $(DESTDIR)$(DOCDIR)/examples/plugind.json
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	    -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' docs/plugind.service.in \
	    >$(DESTDIR)$(UNITDIR)/plugind.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/plugind.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/plugind ] || \
	    install -m 0644 docs/plugind.default $(DESTDIR)$(SYSCONFDIR)/default/plugind
	if [ -z "$(DESTDIR)" ]; then \
		getent group plugind >/dev/null || groupadd --system plugind; \
		for u in _pd_fetch _pd_extract _pd_api _pd_log _pd_gw; do \
			getent passwd $$u >/dev/null || useradd --system --no-create-home \
			    --home-dir /nonexistent --shell /usr/sbin/nologin $$u; \
		done; \
	fi

# The Debian package (debian/), built by dpkg-buildpackage from a copy of
# the tree in $(B)/deb/, so the tree itself stays clean; the .deb lands
# in $(B)/deb/.  The package's make must not inherit this one's variables
# (B=, PREFIX=... on this command line travel in MAKEFLAGS and the
# environment): debian/rules
# sets its own.
DEBDIR		= $(abspath $(B))/deb
DEB_UNSET	:= MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES B PREFIX BINDIR \
		   SBINDIR LIBEXECDIR SYSCONFDIR DATADIR MANDIR DOCDIR BASHCOMPDIR \
		   UNITDIR DESTDIR SANITIZE CRASHPOINTS OPT V
deb:
	rm -rf $(DEBDIR)
	mkdir -p $(DEBDIR)/plugind
	tar -C $(CURDIR) --exclude=./.git --exclude='./build' \
	    --exclude='./build-*' -cf - . | tar -C $(DEBDIR)/plugind -xf -
	cd $(DEBDIR)/plugind && env $(addprefix -u ,$(DEB_UNSET)) \
	    dpkg-buildpackage -us -uc -b -Jauto
	ls $(DEBDIR)/*.deb

clean:
	rm -rf $(B)

.PHONY: all tests check demo bench bench-docker crash fuzz deps install deb clean FORCE
.SECONDARY:

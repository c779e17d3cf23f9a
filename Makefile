# Makefile for oms, built with PGXS.
#
#   make && sudo make install     build and install into the server pg_config names
#   make demo                     the whole flow on a private, throwaway cluster
#   make test                     every suite on a throwaway cluster; ends "N passed, N failed"
#   make stop                     stop the demo cluster
#   make fuzz                     fuzz every oms function on a throwaway cluster (FUZZ_SECONDS, FUZZ_SEED)
#   make valgrind                 regress, isolation and the fuzzer under valgrind memcheck
#   make test-citus               oms on Citus 13.2.2: a coordinator and two workers (builds Citus once)
#
# demo, test, fuzz and valgrind install what they need (Debian packages) themselves, so they
# work before pg_config exists; everything else needs PostgreSQL's PGXS.

EXTENSION = oms
EXTVERSION = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = oms
OBJS = \
	src/oms.o \
	src/helpers.o \
	src/catalog.o \
	src/guard.o \
	src/ledger.o \
	src/input.o \
	src/route.o \
	src/search.o \
	src/explain.o \
	src/stock.o \
	src/reserve.o \
	src/backorder.o \
	src/order.o \
	src/money.o \
	src/demand.o \
	src/lifecycle.o \
	src/events.o \
	src/fulfil.o \
	src/payment.o \
	src/hold.o \
	src/worker.o \
	src/cache.o \
	src/insert.o \
	src/sync.o \
	src/atp.o \
	src/feed.o \
	src/returns.o \
	src/report.o \
	src/histogram.o \
	src/refund.o \
	src/exchange.o \
	src/citus.o

# The install script of this version is assembled from one file per object
# group.  src/upgrade/ keeps the released install scripts exactly as they
# shipped (CREATE EXTENSION oms VERSION '0.1.0') and the upgrade script from
# each release to the next; released scripts are never edited.
SQL_SOURCES = $(sort $(wildcard src/sql/*.sql))
# The upgrade script to the version in development may take a new object
# group of src/sql whole, with a line "--@include src/sql/NN_group.sql"; the
# release writes the included text into the script itself.
UPGRADE_NEXT = $(wildcard src/upgrade/$(EXTENSION)--*--$(EXTVERSION).sql)
DATA_built = src/$(EXTENSION)--$(EXTVERSION).sql $(patsubst src/upgrade/%,src/%,$(UPGRADE_NEXT))
DATA = $(filter-out $(UPGRADE_NEXT),$(wildcard src/upgrade/$(EXTENSION)--*.sql))

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=plpgsql

ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation

EXTRA_CLEAN = $(DATA_built)

# The -Wno-* are what PostgreSQL's own headers need.  WERROR=1 (make test,
# CI, development) turns warnings into errors; a user's build against a newer
# compiler or server is not stopped by a new warning.  These go to the C
# compiler only, not to the LLVM bitcode step.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
	-Wno-missing-field-initializers -Wno-cast-function-type
ifeq ($(WERROR),1)
PG_CFLAGS += -Werror
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
else
all install installcheck:
	@echo "pg_config not found: install postgresql-server-dev-N for your server's major N (or run 'make demo' / 'make test', which do)" >&2
	@exit 1
endif

# Every object includes the shared header (PGXS tracks no header dependencies).
$(OBJS) $(OBJS:.o=.bc): src/oms.h src/compat.h

src/$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control
	cat $(SQL_SOURCES) > $@

src/$(EXTENSION)--%--$(EXTVERSION).sql: src/upgrade/$(EXTENSION)--%--$(EXTVERSION).sql $(SQL_SOURCES)
	awk '/^--@include /{ while ((getline line < $$2) > 0) print line; close($$2); next } { print }' $< > $@

.PHONY: bench-route bench-report bench-sync demo test test-citus stop bench dist fuzz valgrind
demo:
	@test/demo/demo.sh
test:
	@test/tools/test.sh
test-citus:
	@test/citus/citus.sh
stop:
	@test/tools/cluster.sh stop demo
bench:
	@test/bench/bench.sh

bench-route:
	@test/bench/route/route.sh

bench-report:
	@test/bench/report/report.sh

bench-sync:
	@test/bench/sync/sync.sh

fuzz:
	@test/fuzz/fuzz.sh
valgrind:
	@test/fuzz/valgrind.sh

dist:
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD

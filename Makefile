# TherapyAssistance: the PostgreSQL extension (PGXS) and the entry points of the whole stack.
#   make up      start PostgreSQL, the proxy and nginx with the SPA locally (see README); REPLICA=1 adds a replica
#   make down    stop them
#   make psql    psql on the local database as its owner
#   make test    every test suite
#   make fuzz    every libFuzzer harness in fuzz/ for FUZZ_SECONDS (default 60) each
#   make bench   benchmark the whole stack into bench/REPORT.md (under 10 minutes); make bench-quick: a minute; make bench-cpu: the proxy's CPU µs per request
#   make backup  back up the local database (prints the file last); make restore FILE=... [YES=1]
#   make restore TIME='YYYY-MM-DD HH:MM:SS' (or TIME=latest): point-in-time recovery with pgBackRest (ops/pitr.sh)

EXTENSION = therapyassistance
MODULE_big = therapyassistance
OBJS = extension/module.o extension/base64url.o extension/jwt.o extension/validators.o \
       extension/audit_queue.o extension/audit_defer.o extension/audit_writer.o \
       extension/constant_time.o extension/json_rows.o extension/zone_offset.o extension/caller.o \
       extension/reminder_plan.o
# The version is therapyassistance.control's default_version, stated nowhere else. Released
# scripts are frozen in sql/releases/ and shipped as they are; the current version's install
# script and the step in the making (sql/upgrade/FROM--TO/) are built by sql/build.sh.
TA_VERSION := $(shell sed -n "s/^default_version = '\(.*\)'$$/\1/p" therapyassistance.control)
RELEASED = $(wildcard sql/releases/therapyassistance--*.sql)
STEPS_IN_MAKING = $(filter-out $(notdir $(RELEASED)), \
                    $(patsubst sql/upgrade/%/,therapyassistance--%.sql,$(wildcard sql/upgrade/*--*/)))
DATA = $(RELEASED)
DATA_built = $(filter-out $(notdir $(RELEASED)),therapyassistance--$(TA_VERSION).sql) $(STEPS_IN_MAKING)
# The build does not depend on the checkout's path, so any checkout can tell whether the
# installed files are its own (make up compares them byte for byte); quoted for a path with spaces.
PG_CFLAGS = '-ffile-prefix-map=$(CURDIR)=.' -std=gnu11 -Wextra -Wno-unused-parameter \
            -Wno-missing-field-initializers -Wno-sign-compare -Werror
EXTRA_CLEAN = sql/fallback/therapyassistance.sql sql/fallback/upgrade.sql

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif
# No LLVM bitcode: JIT inlining is not worth a clang dependency (after PGXS, which sets it).
with_llvm = no
# PGXS tracks no header dependencies: the audit queue's files share its struct layout.
extension/audit_queue.o extension/audit_defer.o extension/audit_writer.o extension/module.o: \
    extension/audit_queue.h extension/audit_writer.h
extension/jwt.o extension/caller.o: extension/jwt.h

# The two installs are built from the same files; only native.sql has a SQL twin.
SQL_SOURCES = $(wildcard sql/*.sql sql/fallback/native.sql sql/fallback/*head.sql sql/upgrade/*.sql \
                         sql/upgrade/*/*.sql sql/releases/*) sql/build.sh therapyassistance.control
therapyassistance--$(TA_VERSION).sql: $(SQL_SOURCES)
	sql/build.sh install extension $(TA_VERSION) > $@
$(STEPS_IN_MAKING): therapyassistance--%.sql: $(SQL_SOURCES)
	sql/build.sh step extension $(subst --, ,$*) > $@
sql/fallback/therapyassistance.sql: $(SQL_SOURCES)
	sql/build.sh install fallback $(TA_VERSION) > $@
sql/fallback/upgrade.sql: $(SQL_SOURCES)
	sql/build.sh fallback-upgrade > $@

# `make up INSTALL=fallback` runs on the plain-SQL install. (PGXS uses INSTALL for the
# install program, so the choice travels to the scripts as TA_INSTALL.)
TA_INSTALL := $(if $(filter fallback,$(INSTALL)),fallback,extension)
export TA_INSTALL PORT WEB_PORT DB_PORT JWT_SECRET ALLOWED_ORIGINS REPLICA
# The notifier's delivery settings (make up starts it when SMTP_URL or SMSAPI_TOKEN is set).
export SMTP_URL MAIL_FROM APP_URL SMSAPI_TOKEN SMSAPI_URL SMSAPI_FROM

.PHONY: up down psql test regress fallback-sql backup restore fuzz bench bench-quick bench-cpu extension-files
fallback-sql: sql/fallback/therapyassistance.sql sql/fallback/upgrade.sql
# The files `make install` puts into PostgreSQL's extension folder (make up compares them).
extension-files:
	@echo therapyassistance.control $(DATA) $(DATA_built)

up:
	@stack/up.sh
down:
	@stack/down.sh
psql:
	@stack/psql.sh
test:
	@stack/test.sh
bench:
	@bench/run.sh full
bench-quick:
	@bench/run.sh quick
# The proxy's CPU µs, context switches and system calls per request; BINS="a b" compares builds side by side.
bench-cpu:
	@bench/run.sh cpu $(BINS)
fuzz:
	@$(MAKE) -s -C fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)
regress: all fallback-sql
	@regress/run.sh

# Backup and restore of the local database, with the code deploy-mikrus.sh uses (ops/).
backup:
	@ops/stack-db.sh backup
restore:
	@$(if $(TIME),ops/stack-pitr.sh restore "$(TIME)",ops/stack-db.sh restore $(FILE)) $(if $(YES),--yes)

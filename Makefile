# TherapyAssistance: the PostgreSQL extension (PGXS) and the entry points of the whole stack.
#   make up      start PostgreSQL, the proxy and nginx with the SPA locally (see README); REPLICA=1 adds a replica
#   make down    stop them
#   make psql    psql on the local database as its owner
#   make test    every test suite
#   make fuzz    every libFuzzer harness in fuzz/ for FUZZ_SECONDS (default 60) each
#   make bench   benchmark the whole stack into bench/REPORT.md (under 10 minutes); make bench-quick: a minute
#   make backup  back up the local database (prints the file last); make restore FILE=... [YES=1]

EXTENSION = therapyassistance
MODULE_big = therapyassistance
OBJS = extension/module.o extension/base64url.o extension/jwt.o extension/validators.o \
       extension/constant_time.o
DATA_built = therapyassistance--1.0.sql
# The build does not depend on the checkout's path, so any checkout can tell whether the
# installed files are its own (make up compares them byte for byte).
PG_CFLAGS = -ffile-prefix-map=$(CURDIR)=. -std=gnu11 -Wextra -Wno-unused-parameter \
            -Wno-missing-field-initializers -Wno-sign-compare -Werror
EXTRA_CLEAN = sql/fallback/therapyassistance.sql

# No LLVM bitcode: JIT inlining is not worth a clang dependency.
with_llvm = no
PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
endif

# The two installs are built from the same files; only native.sql has a SQL twin.
SHARED_SQL = sql/namespaces.sql sql/tables.sql sql/throttle.sql sql/api.sql sql/audit.sql
therapyassistance--1.0.sql: sql/extension_head.sql sql/namespaces.sql sql/native.sql \
                            sql/tables.sql sql/throttle.sql sql/api.sql sql/audit.sql sql/extension_tail.sql
	cat $^ > $@
sql/fallback/therapyassistance.sql: sql/fallback/head.sql sql/namespaces.sql \
                                    sql/fallback/native.sql sql/tables.sql sql/throttle.sql sql/api.sql \
                                    sql/audit.sql
	cat $^ > $@

# `make up INSTALL=fallback` runs on the plain-SQL install. (PGXS uses INSTALL for the
# install program, so the choice travels to the scripts as TA_INSTALL.)
TA_INSTALL := $(if $(filter fallback,$(INSTALL)),fallback,extension)
export TA_INSTALL PORT WEB_PORT DB_PORT JWT_SECRET ALLOWED_ORIGINS REPLICA

.PHONY: up down psql test regress fallback-sql backup restore fuzz bench bench-quick
fallback-sql: sql/fallback/therapyassistance.sql

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
fuzz:
	@$(MAKE) -s -C fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60)
regress: all fallback-sql
	@regress/run.sh

# Backup and restore of the local database, with the code deploy-mikrus.sh uses (ops/).
backup:
	@ops/stack-db.sh backup
restore:
	@ops/stack-db.sh restore $(FILE) $(if $(YES),--yes)

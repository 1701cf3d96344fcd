# Makefile for segext (PGXS)
EXTENSION = segext
EXTVERSION = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big = segext
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

# The install script is assembled from one SQL file per concept, in order;
# the upgrade script from the released version from one part per concept.
# Released install scripts are kept as they shipped (src/sql/released/).
PREVIOUS_VERSION = 0.1.0
SQL_PARTS = $(sort $(wildcard src/sql/*.sql))
UPGRADE_PARTS = $(sort $(wildcard src/sql/upgrade/$(EXTENSION)--$(PREVIOUS_VERSION)--$(EXTVERSION)/*.sql))
UPGRADE_SCRIPT = $(EXTENSION)--$(PREVIOUS_VERSION)--$(EXTVERSION).sql
DATA_built = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_SCRIPT)
DATA = $(sort $(wildcard src/sql/released/$(EXTENSION)--*.sql))

# pg_regress: every test/regress/sql/NAME.sql with test/regress/expected/NAME.out.
REGRESS = $(patsubst test/regress/sql/%.sql,%,$(sort $(wildcard test/regress/sql/*.sql)))
REGRESS_OPTS = --inputdir=test/regress --load-extension=$(EXTENSION)

# Isolation specs: test/isolation/specs/NAME.spec with test/isolation/expected/NAME.out.
ISOLATION = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src -DSEGEXT_VERSION=\"$(EXTVERSION)\"
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

# make SANITIZE=1 builds segext with AddressSanitizer and UBSan; the server
# must then run with the sanitizer runtime preloaded (scripts/sanitize.sh).
ifeq ($(SANITIZE),1)
PG_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SHLIB_LINK += -fsanitize=address,undefined
endif

EXTRA_CLEAN = output_iso results regression.diffs regression.out test/client/*.o test/client/segext_client

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) $(EXTENSION).control
	cat $(SQL_PARTS) > $@

$(UPGRADE_SCRIPT): $(UPGRADE_PARTS) $(EXTENSION).control
	cat $(UPGRADE_PARTS) > $@

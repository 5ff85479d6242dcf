# opsbot's entry points. The logic lives in scripts/; this file only names the steps.
#
#   make run                 set up .venv if needed, then run the bot (python -m bot)
#   make test                set up .venv and the Debian packages the tests use, then pytest
#   make test PYTEST_ARGS='tests/unit -k blocks'
#   make bench               run every bench/*.py (each prints its figures; installs wrk for ingest_wrk.py)
#   make clean               remove caches and build leftovers (keeps .venv)
#   make distclean           clean, and remove .venv too

PYTHON_VENV := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: help install run test system-deps bench clean distclean

help:
	@sed -n 's/^#   //p' Makefile

install:
	@scripts/bootstrap.sh

run: install
	exec $(PYTHON_VENV) -m bot

system-deps:
	@scripts/ensure-system-deps.sh

# pytest exits 5 when it collected no test; .ci/run sets OPSBOT_ALLOW_NO_TESTS=1 to accept that.
test: install system-deps
	@$(PYTHON_VENV) -m pytest -q $(PYTEST_ARGS) || { \
		rc=$$?; \
		if [ $$rc -eq 5 ] && [ "$${OPSBOT_ALLOW_NO_TESTS:-}" = 1 ]; then \
			echo "make test: pytest collected no test"; \
		else \
			exit $$rc; \
		fi; \
	}

# bench/ingest_wrk.py drives the bot with Debian's wrk: installed here, not on the test path.
bench: install
	@scripts/ensure-system-deps.sh wrk
	@status=0; found=0; \
	for script in bench/*.py; do \
		[ -e "$$script" ] || continue; \
		case "$${script##*/}" in _*) continue ;; esac; \
		found=1; \
		echo "== $$script"; \
		$(PYTHON_VENV) "$$script" || { echo "!! $$script failed"; status=1; }; \
	done; \
	[ $$found -eq 1 ] || echo "make bench: no bench/*.py yet"; \
	exit $$status

clean:
	find . -path ./.venv -prune -o -path ./.git -prune -o \
		\( -name __pycache__ -o -name .pytest_cache -o -name '*.egg-info' \) -type d \
		-prune -exec rm -rf {} +
	rm -rf build dist .tmp

distclean: clean
	rm -rf .venv

#!/usr/bin/env bash
# Prints the folder of PostgreSQL's initdb and pg_ctl, or fails: the
# database drill starts its own throwaway cluster with them.
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -r); do
	if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; exit 0; fi
done
exit 1

# assets.mk: the vendored State design system (DSFR), included by the main Makefile.
#
#   make dsfr                      refresh assets/dsfr/ from @gouvfr/dsfr@$(DSFR_VERSION)
#   make dsfr DSFR_VERSION=1.x.y   move to another 1.x release (then update the pin below)
#
# The target asks the npm registry for that one package (npm pack, no install, no
# scripts), unpacks it in a temporary directory and copies only what the pages use
# from its dist/ folder, keeping dist/'s layout so the relative url()s inside the
# CSS (fonts/, icons/, ../../icons/) keep resolving. Nothing else is downloaded.
#
# Kept (see assets/dsfr/README.md for why):
#   dsfr.min.css, dsfr.module.min.js, dsfr.nomodule.min.js
#   utility/icons/icons.min.css and every icons/<category>/*.svg (all referenced by it)
#   fonts/*.woff2 (every modern browser takes woff2; the .woff fallbacks are dropped)
#   favicon/favicon.svg, favicon.ico, apple-touch-icon.png
#   LICENSE.md of the package (the Marianne font and the brand block are restricted
#   to State services)

DSFR_VERSION ?= 1.15.3
DSFR_DIR     := assets/dsfr

.PHONY: dsfr
dsfr:
	@command -v npm >/dev/null || { echo "dsfr: npm is required" >&2; exit 1; }
	@set -eu; \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	( cd "$$tmp" && npm pack --silent --ignore-scripts "@gouvfr/dsfr@$(DSFR_VERSION)" >/dev/null ); \
	tar -xzf "$$tmp"/gouvfr-dsfr-*.tgz -C "$$tmp"; \
	src="$$tmp/package/dist"; dst="$(DSFR_DIR)"; \
	test -f "$$src/dsfr.min.css" || { echo "dsfr: unexpected package layout" >&2; exit 1; }; \
	find "$$dst" -mindepth 1 ! -name README.md -delete 2>/dev/null || true; \
	mkdir -p "$$dst/fonts" "$$dst/favicon" "$$dst/utility/icons"; \
	cp "$$src/dsfr.min.css" "$$src/dsfr.module.min.js" "$$src/dsfr.nomodule.min.js" "$$dst/"; \
	cp "$$src/utility/icons/icons.min.css" "$$dst/utility/icons/"; \
	( cd "$$src" && find icons -type f -name '*.svg' ) | while read -r f; do \
		mkdir -p "$$dst/$$(dirname "$$f")"; cp "$$src/$$f" "$$dst/$$f"; done; \
	cp "$$src"/fonts/*.woff2 "$$dst/fonts/"; \
	cp "$$src/favicon/favicon.svg" "$$src/favicon/favicon.ico" "$$src/favicon/apple-touch-icon.png" "$$dst/favicon/"; \
	cp "$$tmp/package/LICENSE.md" "$$dst/LICENSE.md"; \
	echo "$(DSFR_VERSION)" > "$$dst/VERSION"; \
	echo "dsfr: vendored @gouvfr/dsfr@$(DSFR_VERSION) into $$dst ($$(du -sh "$$dst" | cut -f1))"

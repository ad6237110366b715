# Developer entry points; CI runs .ci/run, which uses the same commands.
PG_DSN ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: generate lint test test-postgres bench build tour

build:
	# -buildvcs=auto: record the commit for --version even where GOFLAGS turns it off.
	go build -buildvcs=auto -o bin/ ./cmd/...

generate:
	buf format -w
	buf generate

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...
	buf lint
	golangci-lint run ./...

test:
	go test -race ./...

test-postgres:
	QA_TEST_POSTGRES_DSN='$(PG_DSN)' go test -race -count=1 ./...

bench:
	go test -run '^$$' -bench . -benchmem ./...

# The README's Quick tour against a fresh server (CI runs it too).
tour:
	scripts/tour.sh

# ltv-operator. `make demo` runs the operator on sample data in a local control plane;
# `make test` runs every test. See README.md.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= ghcr.io/ltv-operator/ltv-operator:latest
LOCALBIN := $(CURDIR)/bin
CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN := $(LOCALBIN)/controller-gen
KUSTOMIZE_VERSION ?= v5.7.1
GO_TEST_FLAGS ?=

export KUBEBUILDER_ASSETS ?= $(LOCALBIN)/k8s

.PHONY: all
all: build

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) rbac:roleName=ltv-operator-manager crd:allowDangerousTypes=false paths="./api/...;./controllers/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: docs
docs: manifests ## Regenerate docs/api.md from the CRDs.
	go run ./hack/apidocs config/crd/bases docs/api.md

.PHONY: fmt
fmt: ## go fmt.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: verify
verify: manifests generate docs ## Fail when generated files or formatting drifted from the sources.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- api config docs/api.md || { echo "generated files are out of date: run 'make manifests generate docs' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api config docs/api.md)" || { echo "untracked generated files:"; git status --porcelain -- api config docs/api.md; exit 1; }

.PHONY: envtest
envtest: ## Provide kube-apiserver, etcd and kubectl under bin/k8s (download, or build from the Go module proxy).
	./hack/envtest-binaries.sh

.PHONY: test
test: envtest ## Run every test: unit tests and integration tests against a real API server and PostgreSQL.
	go vet ./...
	go test $(GO_TEST_FLAGS) -count=1 -timeout 45m ./...

.PHONY: bench
bench: ## Run the benchmarks (see docs/benchmarks.md).
	go test -run '^$$' -bench . -benchmem ./internal/...

##@ Build

.PHONY: build
build: ## Build the manager and ltvctl into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/ltvctl ./cmd/ltvctl

.PHONY: run
run: manifests generate ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager

.PHONY: demo
demo: build envtest ## Local control plane + operator + sample data; prints the results. DEMO_KEEP=1 keeps it running.
	./hack/demo.sh

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

KUSTOMIZE := $(LOCALBIN)/kustomize
$(KUSTOMIZE):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

.PHONY: install
install: manifests ## Install the CRDs into the current cluster.
	kubectl apply --server-side -f config/crd/bases

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy the operator with image IMG into the current cluster.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) ## Remove the operator from the current cluster.
	$(KUSTOMIZE) build config/default | kubectl delete --ignore-not-found -f -

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

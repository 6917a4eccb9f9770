# ltv-operator. `make demo` runs the operator on sample data in a local control plane;
# `make test` runs every test. See README.md.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

# The version stamped into the binaries (internal/version) and the image (its tag and labels):
# `git describe` at a v* tag, else v0.0.0-<describe>, e.g. v0.0.0-14370ed-dirty.
GIT_DESCRIBE := $(shell git describe --tags --always --dirty --match 'v*' 2>/dev/null)
VERSION ?= $(if $(filter v%,$(GIT_DESCRIBE)),$(GIT_DESCRIBE),v0.0.0-$(or $(GIT_DESCRIBE),dev))
REVISION ?= $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
# Every time in the image (file times, created): the HEAD commit's, so the same source gives the
# same image digest.
SOURCE_DATE_EPOCH ?= $(or $(shell git log -1 --format=%ct 2>/dev/null),0)
VERSION_PKG := github.com/ltv-operator/ltv-operator/internal/version
LDFLAGS ?= -s -w -X $(VERSION_PKG).Version=$(VERSION) -X $(VERSION_PKG).Revision=$(REVISION)
IMG ?= ghcr.io/ltv-operator/ltv-operator:$(VERSION)
IMAGE_ARCH ?= $(shell go env GOARCH)
# Evaluate each once, so that one make run stamps one version even while HEAD moves.
VERSION := $(VERSION)
REVISION := $(REVISION)
SOURCE_DATE_EPOCH := $(SOURCE_DATE_EPOCH)
IMAGE_ARCH := $(IMAGE_ARCH)
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
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd:allowDangerousTypes=false paths="./api/...;./controllers/..." \
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
verify: manifests generate docs chart ## Fail when generated files, the chart's copies, dist/install.yaml or formatting drifted.
	@$(MAKE) --no-print-directory build-installer IMG=$(RELEASE_IMG)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	@git diff --exit-code -- api config docs/api.md charts dist || { echo "generated files are out of date: run 'make manifests generate docs chart build-installer' and commit"; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api config docs/api.md charts dist)" || { echo "untracked generated files:"; git status --porcelain --untracked-files=all -- api config docs/api.md charts dist; exit 1; }

.PHONY: envtest
envtest: ## Provide kube-apiserver, etcd and kubectl under bin/k8s (download, or build from the Go module proxy).
	./hack/envtest-binaries.sh

.PHONY: test
test: envtest helm ## Run every test: unit tests and integration tests against a real API server and PostgreSQL.
	./hack/test-deps.sh
	go vet ./...
	go build -o $(LOCALBIN)/testsummary ./hack/testsummary
	go test $(GO_TEST_FLAGS) -count=1 -timeout 45m -json ./... | $(LOCALBIN)/testsummary

.PHONY: bench
bench: ## Run the benchmarks (see docs/benchmarks.md).
	go test -run '^$$' -bench . -benchmem ./internal/...

##@ Build

.PHONY: build
build: ## Build the manager and ltvctl into bin/, stamped with VERSION and REVISION.
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/ltvctl ./cmd/ltvctl

.PHONY: run
run: manifests generate ## Run the manager against the cluster of the current kubeconfig.
	go run ./cmd/manager

.PHONY: demo
demo: build envtest ## Local control plane + operator + sample data; prints the results. DEMO_KEEP=1 keeps it running.
	./hack/demo.sh

.PHONY: image
image: ## Build the image IMG as an OCI archive in bin/image/ without a container engine (ctr images import).
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/image/linux-$(IMAGE_ARCH)/manager ./cmd/manager
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags '$(LDFLAGS)' -o $(LOCALBIN)/image/linux-$(IMAGE_ARCH)/ltvctl ./cmd/ltvctl
	go run ./hack/image -name '$(IMG)' -version '$(VERSION)' -revision '$(REVISION)' \
		-source-date-epoch '$(SOURCE_DATE_EPOCH)' -arch '$(IMAGE_ARCH)' \
		-manager $(LOCALBIN)/image/linux-$(IMAGE_ARCH)/manager -ltvctl $(LOCALBIN)/image/linux-$(IMAGE_ARCH)/ltvctl \
		-o $(LOCALBIN)/image/ltv-operator-$(VERSION)-linux-$(IMAGE_ARCH).oci.tar

.PHONY: node-binaries
node-binaries: ## Provide kube-controller-manager, kube-scheduler and kubelet too (bin/k8s) for the e2e node.
	./hack/envtest-binaries.sh --node

.PHONY: e2e
e2e: image helm node-binaries ## Real node (hack/node.sh, as root): install the chart and dist/install.yaml, run test/e2e against the operator Pod.
	E2E_IMAGE='$(IMG)' E2E_IMAGE_TAR=$(LOCALBIN)/image/ltv-operator-$(VERSION)-linux-$(IMAGE_ARCH).oci.tar ./hack/e2e.sh

.PHONY: docker-build
docker-build: ## Build the image IMG with a Docker engine (the same files and labels as `make image`).
	docker build --build-arg VERSION='$(VERSION)' --build-arg REVISION='$(REVISION)' \
		--build-arg SOURCE_DATE_EPOCH='$(SOURCE_DATE_EPOCH)' \
		--build-arg CREATED="$$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r $(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)" \
		-t $(IMG) .

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

# The release the committed artifacts describe: the chart's appVersion (bump it, and the chart's
# version, to release). dist/install.yaml pins RELEASE_IMG unless IMG is given explicitly.
CHART := charts/ltv-operator
RELEASE_VERSION := $(shell sed -n 's/^appVersion://p' $(CHART)/Chart.yaml | tr -d '" ')
RELEASE_IMG := ghcr.io/ltv-operator/ltv-operator:$(RELEASE_VERSION)
INSTALLER_IMG = $(if $(filter command line environment environment override,$(origin IMG)),$(IMG),$(RELEASE_IMG))
HELM_VERSION ?= v3.22.0
HELM := $(LOCALBIN)/helm
# helm built by `go install` assumes Kubernetes v1.20 for template and lint; render for the version we test.
HELM_KUBE_VERSION ?= 1.37.2

.PHONY: helm
helm: $(HELM)-$(HELM_VERSION) ## Install helm HELM_VERSION into bin/ (built from the Go module proxy once, then cached).
	@ln -sf $(notdir $<) $(HELM)
$(HELM)-$(HELM_VERSION):
	GOBIN=$(LOCALBIN)/helm-install go install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(LOCALBIN)/helm-install/helm $@ && rmdir $(LOCALBIN)/helm-install

.PHONY: chart
chart: manifests ## Copy the CRDs, RBAC rules and Grafana dashboard from config/ into the Helm chart.
	rm -f $(CHART)/crds/*.yaml
	mkdir -p $(CHART)/crds $(CHART)/files/rbac $(CHART)/dashboards
	cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/rbac/role.yaml config/rbac/leader_election_role.yaml $(CHART)/files/rbac/
	cp config/grafana/ltv-operator.json $(CHART)/dashboards/ltv-operator.json

.PHONY: build-installer
build-installer: manifests $(KUSTOMIZE) ## Write dist/install.yaml (CRDs, namespace, RBAC, manager) from config/; image IMG if given, else the release's.
	@mkdir -p dist
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp -R config "$$tmp/" && \
	  (cd "$$tmp/config/manager" && $(KUSTOMIZE) edit set image controller=$(INSTALLER_IMG)) && \
	  { echo "# ltv-operator: kubectl apply --server-side -f install.yaml (docs/install.md)."; \
	    echo "# Generated from config/ by 'make build-installer'; do not edit."; \
	    $(KUSTOMIZE) build "$$tmp/config/default"; } > dist/install.yaml.tmp
	@mv dist/install.yaml.tmp dist/install.yaml
	@echo "dist/install.yaml: image $(INSTALLER_IMG)"

.PHONY: helm-lint
helm-lint: helm chart ## Lint the chart and render it with the default values and with every toggle on.
	$(HELM) lint --strict --kube-version $(HELM_KUBE_VERSION) $(CHART)
	$(HELM) lint --strict --kube-version $(HELM_KUBE_VERSION) $(CHART) -f $(CHART)/ci/all-toggles-values.yaml
	$(HELM) template ltv-operator $(CHART) -n ltv-operator-system --kube-version $(HELM_KUBE_VERSION) >/dev/null
	$(HELM) template ltv-operator $(CHART) -n ltv-operator-system --kube-version $(HELM_KUBE_VERSION) -f $(CHART)/ci/all-toggles-values.yaml >/dev/null

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-14s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

# Kong LLM gateway for Amazon Bedrock.
PYTHON ?= python3
PYTEST_ARGS ?=
CLAUDE_CODE_VERSION ?= 2.1.197
CODEX_VERSION ?= 0.169.0
AI_SDK_PACKAGES ?= ai@6.0.326 @ai-sdk/openai@3.0.141 @ai-sdk/anthropic@3.0.140 @ai-sdk/amazon-bedrock@4.0.186 zod@4.6.7
COMPOSE ?= docker compose
ENV ?= poc
NAMESPACE ?= llm-gateway
CHART_VERSION ?= 2.41.1
# eks/config and eks/deploy: the operator's consumers file (deploy/consumers.example.yaml; kept out of git) and
# the Redis every pod shares (budgets, Responses items, rate limits). REDIS_TLS=true for ElastiCache's in-transit
# encryption; Redis's password comes from the environment variable REDIS_PASSWORD, API keys from DECK_* variables.
CONSUMERS ?=
REDIS_HOST ?=
REDIS_PORT ?= 6379
REDIS_TLS ?= false
DBLESS_SECRET = kong-declarative
# kube-prometheus-stack's Helm release: its default selectors take ServiceMonitors and PrometheusRules by `release`.
PROMETHEUS_RELEASE ?= kube-prometheus-stack
# eks/lb-controller: eks-charts' aws-load-balancer-controller chart, pinned. Chart 3.5.0 runs controller v3.5.0, whose
# IAM policy is infra/terraform/modules/lb-controller-irsa/iam-policy-v3.5.0.json: bump both together.
LB_CONTROLLER_CHART_VERSION ?= 3.5.0
# eks/deploy: an ACM certificate ARN for the gateway's DNS name. Set, TLS ends at the NLB on 443 (forwarded to Kong's
# plain 8000); unset, 443 is passed through to Kong's self-signed certificate on 8443 (README "Deployment").
ACM_CERT_ARN ?=
TF = terraform -chdir=infra/terraform/environments/$(ENV)

.PHONY: help install checkov claude-code codex ai-sdk test test/unit dev dump bench soak validate security-scan \
        local/up local/down local/logs local/test eks/plan eks/apply eks/lb-controller eks/preflight eks/config \
        eks/observability eks/deploy eks/status

help:
	@echo "make local/up      the real Kong 3.6 stack in Docker (kong, emulator, redis, prometheus, grafana)"
	@echo "make local/down | local/logs | local/test"
	@echo "make test          the whole test suite, as CI runs it"
	@echo "make dev           emulator + Kong 3.6 harness + plugin server on 127.0.0.1:8000 (no Docker)"
	@echo "make bench         gateway overhead vs LiteLLM, PDK round trips, memory; guardrail speed and pasted code"
	@echo "make soak          200 streaming clients for 60 s: errors, hung clients, plugin-server RSS and fds"
	@echo "make validate      schema checks of kong.yaml, compose, Helm values, Terraform, alert rules"
	@echo "make security-scan checkov on Terraform and the secrets scan of configs"
	@echo "make eks/plan | eks/apply | eks/lb-controller | eks/deploy | eks/status   (ENV=$(ENV), NAMESPACE=$(NAMESPACE))"
	@echo "                   eks/deploy needs CONSUMERS=consumers.yaml REDIS_HOST=host; ACM_CERT_ARN=arn for TLS"
	@echo "                   at the NLB (README \"Deployment\")"
	@echo "make eks/observability   alerts, dashboards, ServiceMonitor (PROMETHEUS_RELEASE=$(PROMETHEUS_RELEASE))"
	@echo "make dump          the plugin info JSON Kong reads (query_cmd)"

install:
	$(PYTHON) -m pip install -e '.[dev]'

checkov:       ## checkov in its own venv: it pins an old boto3 and ships its own `hcl2` module
	@test -x .dev/checkov/bin/checkov || \
	  ($(PYTHON) -m venv .dev/checkov && .dev/checkov/bin/pip install --quiet --disable-pip-version-check checkov==3.3.30)

claude-code:   ## Claude Code for the e2e tests (its binary comes in an npm package)
	@test -x .dev/claude-code/node_modules/.bin/claude || \
	  npm install --silent --no-audit --no-fund --prefix .dev/claude-code @anthropic-ai/claude-code@$(CLAUDE_CODE_VERSION)

codex:         ## OpenAI's Codex CLI for the e2e tests (its binary comes in an npm package)
	@test -x .dev/codex/node_modules/.bin/codex || \
	  npm install --silent --no-audit --no-fund --prefix .dev/codex @openai/codex@$(CODEX_VERSION)

ai-sdk:        ## the Vercel AI SDK and its OpenAI, Anthropic and Bedrock providers, for the e2e tests
	@test -f .dev/ai-sdk/node_modules/@ai-sdk/amazon-bedrock/package.json || \
	  npm install --silent --no-audit --no-fund --prefix .dev/ai-sdk $(AI_SDK_PACKAGES)

test:
	$(PYTHON) -m pytest -q --durations=30 --durations-min=5 $(PYTEST_ARGS)

test/unit:
	$(PYTHON) -m pytest -q tests/unit tests/guardrails $(PYTEST_ARGS)

dev:
	$(PYTHON) -m tests.stack

dump:
	@kong-bedrock-plugins --dump

BENCH_ARGS ?=
bench:         ## prints tables and writes bench/results/*.json (bounded, loopback only; ~15 min, BENCH_ARGS=--quick ~2 min)
	$(PYTHON) -m bench.compare $(BENCH_ARGS)
	$(PYTHON) -m bench.wakeups
	$(PYTHON) -m bench.placement
	$(PYTHON) -m bench.prompt_size
	$(PYTHON) -m bench.guardrails
	$(PYTHON) -m bench.pasted_code
	$(PYTHON) -m bench.documents
	$(PYTHON) -m bench.custom_tool_stream

soak:          ## 200 concurrent streaming clients for 60 s (bounded, loopback only); prints RSS and fds
	SOAK_CLIENTS=200 SOAK_SECONDS=60 SOAK_RSS_GROWTH_LIMIT_PCT=5 $(PYTHON) -m pytest -q -s tests/reliability/test_soak.py $(PYTEST_ARGS)

validate: checkov
	$(PYTHON) -m pytest -q tests/deploy tests/unit/test_dump.py $(PYTEST_ARGS)

security-scan: checkov
	$(PYTHON) -m pytest -q tests/deploy/test_terraform.py tests/deploy/test_checkov.py tests/deploy/test_terraform_structure.py \
	  tests/deploy/test_secrets.py $(PYTEST_ARGS)

BEDROCK_MODE ?= emulator

local/up:      ## BEDROCK_MODE=aws: real Bedrock with your AWS profile/keys instead of the emulator
ifeq ($(BEDROCK_MODE),aws)
	BEDROCK_ENDPOINT_URL= GATEWAY_AWS_ACCESS_KEY_ID="$${AWS_ACCESS_KEY_ID:-}" \
	GATEWAY_AWS_SECRET_ACCESS_KEY="$${AWS_SECRET_ACCESS_KEY:-}" GATEWAY_AWS_SESSION_TOKEN="$${AWS_SESSION_TOKEN:-}" \
	  $(COMPOSE) up -d --build
else
	$(COMPOSE) up -d --build
endif
	@echo "Kong proxy http://localhost:8000  status http://localhost:8100  Prometheus http://localhost:9090  Grafana http://localhost:3000"

local/down:
	$(COMPOSE) down -v

local/logs:
	$(COMPOSE) logs -f kong

local/test:
	curl -fsS localhost:8000/health && \
	curl -fsS localhost:8000/v1/messages -H 'X-API-Key: dev-developer-key' -H 'content-type: application/json' \
	  -d '{"model":"haiku","max_tokens":32,"messages":[{"role":"user","content":"Hello"}]}'

eks/plan:
	$(TF) init -input=false && $(TF) plan -input=false

eks/apply:
	$(TF) apply -input=false

# The AWS Load Balancer Controller, bound to its IRSA role: it gives Kong's proxy Service its NLB. Values (cluster,
# region, VPC, service account) from this environment's Terraform outputs; --wait: its webhook serves before Kong's
# Service is created.
eks/lb-controller:
	helm repo add eks https://aws.github.io/eks-charts && helm repo update eks
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  $(TF) output -raw lb_controller_helm_values > "$$dir/values.yaml" && \
	  helm upgrade --install aws-load-balancer-controller eks/aws-load-balancer-controller \
	    --version $(LB_CONTROLLER_CHART_VERSION) -n kube-system -f "$$dir/values.yaml" --wait --timeout 5m

lc = $(shell printf '%s' '$(1)' | tr '[:upper:]' '[:lower:]')

eks/config:    ## kong/kong.yaml + CONSUMERS, dev consumers out, state on Redis: the Secret dblessConfig.secret names
	@test -n "$(CONSUMERS)" -a -n "$(REDIS_HOST)" || { echo "usage: make $@ CONSUMERS=consumers.yaml \
	REDIS_HOST=host [REDIS_PORT=6379 REDIS_TLS=true REDIS_USERNAME=user REDIS_CLUSTER=true \
	RATE_LIMITING_REDIS_HOST=host [RATE_LIMITING_REDIS_PORT=6379] | RATE_LIMITING_LOCAL=true \
	BEDROCK_GUARDRAIL_ID=arn BEDROCK_GUARDRAIL_VERSION=n [BEDROCK_GUARDRAIL_ROLES=a,b BEDROCK_GUARDRAIL_TRACE=true]]; \
	keys in the DECK_* variables, REDIS_PASSWORD" >&2; exit 2; }
	kubectl apply -f helm/manifests/namespace.yaml
	dir=$$(mktemp -d) && trap 'rm -rf "$$dir"' EXIT && \
	  $(PYTHON) -m deploy.render_config --consumers '$(CONSUMERS)' --redis-host '$(REDIS_HOST)' \
	    --redis-port '$(REDIS_PORT)' $(if $(REDIS_USERNAME),--redis-username '$(REDIS_USERNAME)') \
	    $(if $(filter true 1 yes,$(call lc,$(REDIS_TLS))),--redis-ssl) \
	    $(if $(filter true 1 yes,$(call lc,$(REDIS_CLUSTER))),--redis-cluster) \
	    $(if $(RATE_LIMITING_REDIS_HOST),--rate-limiting-redis-host '$(RATE_LIMITING_REDIS_HOST)') \
	    $(if $(RATE_LIMITING_REDIS_PORT),--rate-limiting-redis-port '$(RATE_LIMITING_REDIS_PORT)') \
	    $(if $(filter true 1 yes,$(call lc,$(RATE_LIMITING_LOCAL))),--rate-limiting-local) -o "$$dir/kong.yml" && \
	  kubectl -n $(NAMESPACE) create secret generic $(DBLESS_SECRET) --from-file=kong.yml="$$dir/kong.yml" \
	    --dry-run=client -o yaml | kubectl apply -f -

eks/observability:   ## a PrometheusRule of deploy/observability/alerts, dashboards, the plugin server's ServiceMonitor
	$(PYTHON) -m deploy.render_observability --namespace $(NAMESPACE) --release '$(PROMETHEUS_RELEASE)' | \
	  kubectl apply -f -

# TLS at the NLB (ACM_CERT_ARN): a TLS listener on 443 with the certificate (TLS 1.2 and 1.3 only: the controller's
# default policy still takes 1.0), TCP to the targets, and the Service's 443 pointed at Kong's plain-HTTP 8000 (the
# chart's proxy.tls.overrideServiceTargetPort).
NLB_ANNOTATION = proxy.annotations.service\.beta\.kubernetes\.io/aws-load-balancer-
ACM_TLS_VALUES = --set-string '$(NLB_ANNOTATION)ssl-cert=$(ACM_CERT_ARN)' \
  --set-string '$(NLB_ANNOTATION)ssl-ports=443' \
  --set-string '$(NLB_ANNOTATION)ssl-negotiation-policy=ELBSecurityPolicy-TLS13-1-2-2021-06' \
  --set-string '$(NLB_ANNOTATION)backend-protocol=tcp' --set proxy.tls.overrideServiceTargetPort=8000

# Refuses before anything is applied: no load balancer controller (the proxy would wait for an NLB forever), or an
# ACM_CERT_ARN that is not one.
eks/preflight:
	@kubectl get deployments -A -l app.kubernetes.io/name=aws-load-balancer-controller -o name | grep -q . || \
	  { echo "no AWS Load Balancer Controller on the cluster: Kong's proxy would get no load balancer. \
	Run make eks/lb-controller ENV=$(ENV) first (README \"Deployment\")" >&2; exit 2; }
	@case '$(ACM_CERT_ARN)' in ''|arn:aws*:acm:*:[0-9]*:certificate/?*) ;; \
	  *) echo "ACM_CERT_ARN must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)" >&2; \
	     exit 2;; esac

# Chart 2.41.1 checksums only an inline dblessConfig.config, and DB-less Kong reads its file at start only: the
# Secret's checksum as a pod annotation rolls the pods when the config changed, and only then.
eks/deploy: eks/preflight eks/config eks/observability
	helm repo add kong https://charts.konghq.com && helm repo update kong
	config=$$(kubectl -n $(NAMESPACE) get secret $(DBLESS_SECRET) -o 'jsonpath={.data.kong\.yml}') && \
	  test -n "$$config" && sum=$$(printf %s "$$config" | sha256sum | cut -c1-64) && \
	  helm upgrade --install kong kong/kong --version $(CHART_VERSION) -n $(NAMESPACE) -f helm/kong-values.yaml \
	    --set-string podAnnotations.checksum/dbless-config=$$sum \
	    --set-string serviceMonitor.labels.release='$(PROMETHEUS_RELEASE)' $(if $(ACM_CERT_ARN),$(ACM_TLS_VALUES))
	kubectl apply -f helm/manifests/
	kubectl -n $(NAMESPACE) rollout status deployment/kong-kong --timeout=300s
	kubectl -n $(NAMESPACE) delete configmap kong-declarative --ignore-not-found   # the old dev-key config

eks/status:
	kubectl -n $(NAMESPACE) get pods,svc,hpa,pdb
	kubectl -n $(NAMESPACE) rollout status deployment/kong-kong --timeout=120s

# Sourced by the benchmark scripts: `deployed` becomes the runtime settings the generated Deployment gives the API
# (trace sampling, Redis command tracing, GC limits), as NAME=value, read from aspire-manifests/api.yaml, so that the
# API is measured as it runs in a cluster.
deployed=()
while read -r setting; do deployed+=("$setting"); done < <(grep -E '^  (DOTNET_|OTEL_TRACES_|Aspire__)' aspire-manifests/api.yaml | sed -E 's/^ +//; s/: /=/; s/"//g')

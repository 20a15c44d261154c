#!/usr/bin/env bash
# `make demo`: start the sandbox certificate service, run the demo playbook against six local
# "servers", and stop the sandbox again whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${DEMO_OUTPUT:-$root/demo-output}
rm -rf "$out"
mkdir -p "$out"

ir-sandbox init --dir "$out/sandbox" >/dev/null
# Like the real service as far as it is known: a certificate is ready about 20 s after the request,
# and until then GetCertificate answers FAIL with a code the client has never been told about.
delay=${DEMO_RETRIEVAL_DELAY:-20}
url=$(ir-sandbox start --dir "$out/sandbox" --profile real --retrieval-delay "$delay" \
      --not-ready-code PKI517 --not-ready-message "Certificate is not yet available")
trap 'ir-sandbox stop --dir "$out/sandbox" >/dev/null' EXIT
echo "Sandbox certificate service running at $url"
echo "It takes ${delay} s to issue a certificate, as the real service does: the enrollment and renewal"
echo "steps wait for it and show their progress."

export ANSIBLE_COLLECTIONS_PATH=$root/.build/collections
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_RETRY_FILES_ENABLED=false
export ANSIBLE_LOCALHOST_WARNING=false
export ANSIBLE_INVENTORY_UNPARSED_WARNING=false
start=$(date +%s)
ansible-playbook -i demo/inventory.yml demo/demo.yml \
    -e "sandbox_dir=$out/sandbox" -e "sandbox_url=$url" -e "demo_dir=$out" \
    -e "audit_output_dir=$out/report" -e incomes_register_renew_fail_on_attention=false
echo
echo "Demo finished in $(( $(date +%s) - start )) s."
echo "Expiry report: $out/report/certificate-expiry.html (also .csv, .json and .prom)"

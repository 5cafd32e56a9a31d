#!/usr/bin/env bash
# The external zone (--external-zone, CoreDNS's k8s_external) with dig against the real binary: a LoadBalancer
# Service's address and SRV, an ELB-style hostname (CNAME), spec.externalIPs, PTR (--external-ptr), the apex
# SOA/NS with ns1.dns.<zone> glued to kube-dns's load balancer, NXDOMAIN/NODATA, and a load balancer address
# that changes while the server runs (the same freshness as a cluster record).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_init

M=$WORK/manifests
cp -r "$EXAMPLES" "$M"
norm() { tr -s ' \t' '  '; }   # dig aligns with tabs: compare RRs with single spaces

# The walkthrough's last step: my-nginx exposed through a LoadBalancer, as `kubectl get -o yaml` shows it
# once the cloud controller has written its status; one more behind an ELB-style hostname; and kube-dns's own
# load balancer (the zone's NS glue).
cat >"$M/loadbalancers.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: my-nginx-lb, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 10.0.171.239
  externalIPs: [198.51.100.7]
  selector: {run: my-nginx}
  ports:
  - {name: http, port: 80, protocol: TCP, targetPort: 80, nodePort: 31080}
status:
  loadBalancer:
    ingress:
    - ip: 203.0.113.10
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: default}
spec:
  type: LoadBalancer
  clusterIP: 10.0.171.240
  ports:
  - {name: https, port: 443, protocol: TCP}
status:
  loadBalancer:
    ingress:
    - hostname: a1b2c3.elb.example.net
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns-external, namespace: kube-system}
spec:
  type: LoadBalancer
  clusterIP: 10.0.0.53
  ports:
  - {name: dns, port: 53, protocol: UDP}
status:
  loadBalancer:
    ingress:
    - ip: 192.0.2.53
YAML

start_server ext --source "file:$M" --external-zone example.org --external-ptr \
  --dns-service kube-system/kube-dns-external
LB=my-nginx-lb.default.example.org
SOA_RE='^example\.org\. 5 IN SOA ns1\.dns\.example\.org\. hostmaster\.dns\.example\.org\. [0-9]+ 7200 1800 86400 5$'

out=$(q A $LB)
expect_eq "$LB status" NOERROR "$(dig_status "$out")"
expect_eq "$LB flags (aa)" "qr aa rd" "$(dig_flags "$out")"
expect_eq "$LB: load balancer IP and external IP, TTL 5" \
  "$(printf '%s\n' "$LB. 5 IN A 198.51.100.7" "$LB. 5 IN A 203.0.113.10")" "$(dig_section "$out" ANSWER | norm | sort)"
out=$(q SRV _http._tcp.$LB)
expect_eq "SRV _http._tcp.$LB" "_http._tcp.$LB. 5 IN SRV 0 100 80 $LB." "$(dig_section "$out" ANSWER | norm)"
expect_eq "SRV: the target's addresses as additional data" 2 "$(dig_section "$out" ADDITIONAL | norm | grep -c " IN A ")"
expect_eq "over TCP too" "$(printf '%s\n' 198.51.100.7 203.0.113.10)" "$(qs A $LB +tcp)"
expect_eq "PTR of the load balancer IP (--external-ptr)" "$LB." "$(q +short -x 203.0.113.10)"
expect_eq "the cluster name is unchanged" 10.0.171.239 "$(qs A my-nginx-lb.default.svc.cluster.local)"

out=$(q A shop.default.example.org)
expect_eq "ELB hostname: CNAME" "shop.default.example.org. 5 IN CNAME a1b2c3.elb.example.net." \
  "$(dig_section "$out" ANSWER | norm)"
expect_eq "SRV targets the hostname" "0 100 443 a1b2c3.elb.example.net." "$(qs SRV _https._tcp.shop.default.example.org)"

out=$(q SOA example.org)
expect_match "apex SOA" "$SOA_RE" "$(dig_section "$out" ANSWER | norm)"
out=$(q NS example.org)
expect_eq "apex NS" "example.org. 5 IN NS ns1.dns.example.org." "$(dig_section "$out" ANSWER | norm)"
expect_eq "NS glue: the DNS service's load balancer" "ns1.dns.example.org. 5 IN A 192.0.2.53" \
  "$(dig_section "$out" ADDITIONAL | norm)"

out=$(q A my-nginx.default.example.org)
expect_eq "a service without an external address: NXDOMAIN" NXDOMAIN "$(dig_status "$out")"
expect_match "... with the zone's SOA" "$SOA_RE" "$(dig_section "$out" AUTHORITY | norm)"
out=$(q TXT $LB)
expect_eq "another type: NODATA" "NOERROR 0" "$(dig_status "$out") $(dig_section "$out" ANSWER | grep -c .)"
expect_match "... with the zone's SOA" "$SOA_RE" "$(dig_section "$out" AUTHORITY | norm)"
out=$(q A default.example.org)
expect_eq "the namespace: NODATA" "NOERROR 0" "$(dig_status "$out") $(dig_section "$out" ANSWER | grep -c .)"

# The cloud controller moves the load balancer: the new address answers as fast as a cluster record would.
sed -i 's/- ip: 203\.0\.113\.10/- ip: 203.0.113.77/' "$M/loadbalancers.yaml"
moved() { [ "$(qs A $LB)" == "$(printf '%s\n' 198.51.100.7 203.0.113.77)" ]; }
if wait_for "the new load balancer address" 100 0.02 moved; then
  ok "load balancer moved: answered after ${WAITED_MS} ms"
else
  bad "load balancer moved: still $(qs A $LB | tr '\n' ' ')"
fi
expect_eq "PTR follows" "$LB." "$(q +short -x 203.0.113.77)"
expect_eq "old PTR gone" NXDOMAIN "$(dig_status "$(q -x 203.0.113.10)")"
# The status is cleared (the Service turned back into ClusterIP): only the external IP is left.
sed -i '/- ip: 203\.0\.113\.77/d' "$M/loadbalancers.yaml"
lb_only() { [ "$(qs A $LB)" == "198.51.100.7" ]; }
if wait_for "the load balancer address to go" 100 0.02 lb_only; then ok "load balancer address gone"; else bad "still $(qs A $LB | tr '\n' ' ')"; fi

# A flag naming the cluster domain's parent is refused at start-up.
if "$CLUSTERDNS" --source none --external-zone local --listen 127.0.0.1:0 >"$WORK/bad.log" 2>&1; then
  bad "--external-zone local accepted"
else
  expect_match "--external-zone over the cluster domain refused" "holds the cluster domain" "$(cat "$WORK/bad.log")"
fi

finish

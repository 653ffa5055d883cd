#!/usr/bin/env bash
# Records the seed corpus of api_response_fuzz (fuzz/corpus/api_response/) from the
# emulator's real answers: starts build/tcloud-emulator on the default world, buys a few
# instances with `reconciler api`, and saves each action's answer as {"Response": ...}
# behind the two bytes that make the fuzz target make that call (byte 0: the call, see
# kCalls in api_response_fuzz.cpp; byte 1: 0, HTTP 200). Error answers are added as the
# cloud's documented envelope. Run it again when the answers' shapes change:
#   fuzz/record_api_seeds.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
dir=fuzz/corpus/api_response
mkdir -p "$dir"
rm -f "$dir"/*

log=$(mktemp)
"$build/tcloud-emulator" --world emulator/worlds/default.yaml --listen 127.0.0.1:0 >"$log" &
emulator=$!
trap 'kill $emulator 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do [[ -s $log ]] && break; sleep 0.1; done
export TENCENTCLOUD_ENDPOINT=$(head -n 1 "$log") TENCENTCLOUD_REGION=ap-beijing
export TENCENTCLOUD_SECRET_ID=AKIDEMULATORDEMOKEY0000000000000001
export TENCENTCLOUD_SECRET_KEY=emulator-demo-secret-key-0000000001
export HOME=/nonexistent

api() { "$build/reconciler" api "$@"; }
# seed NAME CALL ACTION [ARGS...]: the answer of ACTION as the input for call number CALL.
seed() {
  local name=$1 call=$2
  shift 2
  local answer
  answer=$(api "$@")
  { printf "\\x$(printf %02x "$call")\\x00"; printf '{"Response":%s}' "$answer"; } >"$dir/$name"
}

replica='{"DBVersion":"12.22","InstanceChargeType":"POSTPAID_BY_HOUR","InstanceCount":2,"MasterDBInstanceId":"postgres-abcdef","Period":1,"ProjectId":1,"SecurityGroupIds":["sg-iwnfp51z"],"SpecCode":"pg.it.small2","Storage":100,"SubnetId":"subnet-1i9huswn","VpcId":"vpc-8btfafeo","Zone":"ap-beijing-4","TagList":{"TagKey":"reconciler/operation","TagValue":"fuzz/ReadOnlyInstance/a/op-fuzzseed0001"}}'
prepaid='{"DBVersion":"14.9","InstanceChargeType":"PREPAID","InstanceCount":1,"MasterDBInstanceId":"postgres-prepaid1","Period":1,"ProjectId":0,"SpecCode":"pg.it.small2","Storage":100,"SubnetId":"subnet-1i9huswn","VpcId":"vpc-8btfafeo","Zone":"ap-beijing-4"}'
seed create-dryrun 9 CreateReadOnlyDBInstance --data "$(echo "$replica" | sed 's/^{/{"DryRun":true,/')"
seed create-postpaid 8 CreateReadOnlyDBInstance --data "$replica"
seed create-prepaid 8 CreateReadOnlyDBInstance --data "$prepaid"
deals=$(grep -ao '"[0-9]\{20,\}"' "$dir/create-prepaid" | paste -sd, -)
ids=$(grep -ao '"pgro-[a-z0-9]*"' "$dir/create-postpaid" | paste -sd, -)
first=$(echo "$ids" | cut -d, -f1 | tr -d '"')
second=$(echo "$ids" | cut -d, -f2 | tr -d '"')
seed create-group 11 CreateReadOnlyGroup --data '{"MasterDBInstanceId":"postgres-abcdef","Name":"g","ProjectId":0,"VpcId":"vpc-8btfafeo","SubnetId":"subnet-1i9huswn"}'
seed create-serverless 10 CreateServerlessDBInstance --data '{"Zone":"ap-beijing-1","DBInstanceName":"sandbox","DBVersion":"10.4","DBCharset":"UTF8","TagList":[{"TagKey":"reconciler/stack","TagValue":"fuzz"}]}'
seed orders-pending 7 DescribeOrders --data "{\"DealNames\":[$deals]}"
sleep 3  # the emulator's default world delivers and boots in about two seconds
seed orders 7 DescribeOrders --data "{\"DealNames\":[$deals]}"
seed list-all 0 DescribeDBInstances --data '{"Limit":100,"Offset":0}'
seed list-tagged 0 DescribeDBInstances --data '{"Limit":100,"Offset":0,"Filters":[{"Name":"db-tag-key","Values":["reconciler/stack","reconciler/operation"]}]}'
seed list-stack 15 DescribeDBInstances --data '{"Limit":100,"Offset":0,"Filters":[{"Name":"db-tag-key","Values":["reconciler/operation"]}]}'
seed list-by-id 17 DescribeDBInstances --data "{\"Limit\":100,\"Offset\":0,\"Filters\":[{\"Name\":\"db-instance-id\",\"Values\":[$ids]}]}"
seed serverless 1 DescribeServerlessDBInstances --data '{"Limit":100,"Offset":0}'
seed serverless-stack 16 DescribeServerlessDBInstances --data '{"Limit":100,"Offset":0}'
seed groups 2 DescribeReadOnlyGroups --data '{"Filters":[{"Name":"db-master-instance-id","Values":["postgres-abcdef"]}]}'
seed attribute 3 DescribeDBInstanceAttribute --data "{\"DBInstanceId\":\"$first\"}"
seed zones 4 DescribeZones
seed classes 5 DescribeClasses --data '{"Zone":"ap-beijing-4","DBEngine":"postgresql","DBMajorVersion":"12"}'
seed price 6 InquiryPriceCreateDBInstances --data '{"Zone":"ap-beijing-4","SpecCode":"pg.it.small2","Storage":100,"InstanceCount":2,"Period":1,"InstanceChargeType":"POSTPAID","InstanceType":"readonly","DBEngine":"postgresql"}'
seed modify-spec 12 ModifyDBInstanceSpec --data "{\"DBInstanceId\":\"$first\",\"Memory\":4,\"Storage\":200,\"Cpu\":2}"
seed tag 13 TagResources --service tag --data "{\"ResourceList\":[\"qcs::postgres:ap-beijing:uin/:DBInstanceId/$first\"],\"Tags\":[{\"TagKey\":\"reconciler/stack\",\"TagValue\":\"fuzz\"}]}"
seed isolate 14 IsolateDBInstances --data "{\"DBInstanceIdSet\":[\"$second\"]}"

# The cloud's error envelope, as the API documents it.
for call in 0 3 7 8; do
  printf "\\x$(printf %02x $call)\\x00"'{"Response":{"Error":{"Code":"ResourceNotFound.InstanceNotFoundError","Message":"The instance does not exist."},"RequestId":"6f2b6fb8-2b1e-4d1a-9f57-fuzzseed0000"}}' >"$dir/error-$call"
done
printf '\x08\x00{"Response":{"Error":{"Code":"InternalError","Message":"internal error"},"RequestId":"6f2b6fb8-2b1e-4d1a-9f57-fuzzseed0001"}}' >"$dir/error-internal"
printf '\x08\xf0<html>502 Bad Gateway</html>' >"$dir/http-502"
ls "$dir" | wc -l | xargs echo "recorded seeds:"

#!/usr/bin/env bash
# Fails when the module layering is broken: base <- schemas <- storage <- {ingest, query} <- server.
# Only server/ (and tools/) may include Boost.Beast/Asio or gRPC, only storage/ (and tools/) RocksDB,
# ingest and query never include each other, and lower layers never include higher ones.
set -u
root=${1:-.}
cd "$root" || exit 2
fail=0
check() {  # check DIRS REGEX WHAT
  local dirs=$1 regex=$2 what=$3 hits
  for d in $dirs; do
    [ -d "$d" ] || continue
    hits=$(grep -rnE "$regex" "$d" --include='*.h' --include='*.cc' 2>/dev/null)
    if [ -n "$hits" ]; then
      echo "layering violation: $what"
      echo "$hits" | head -n 5
      fail=1
    fi
  done
}
check "base schemas storage ingest query" '#include *[<"]boost/(beast|asio)' "Beast/Asio outside server/"
check "base schemas storage ingest query" '#include *[<"](grpc|grpcpp|google/protobuf)/' "gRPC outside server/"
check "base schemas ingest query server" '#include *[<"]rocksdb/' "RocksDB outside storage/"
check "ingest" '#include *"query/' "ingest includes query"
check "query" '#include *"ingest/' "query includes ingest"
check "base" '#include *"(schemas|storage|ingest|query|server)/' "base includes a higher layer"
check "storage" '#include *"(ingest|query|server)/' "storage includes a higher layer"
check "ingest query" '#include *"server/' "ingest/query include server"
check "storage ingest query" '#include *"base/config.h"' "a module reads the server configuration (server/ assembles its options)"
[ $fail -eq 0 ] && echo "layering ok"
exit $fail

// The edgewise server process: configuration, start-up order, the ready line and the graceful
// shutdown. edgewise_main.cc is a thin main over RunEdgewise.
//
// Start-up: parse flags/config (--help: print help, exit 0; errors: stderr, exit 2), set the log
// level, create the data directory, open the store at <data-dir>/db, start ingest (replays the
// ingest log), create the query service, bind the HTTP listeners and the OTLP/gRPC one (unless
// --otlp-grpc-addr off), print `edgewise ready otlp=HOST:PORT http=HOST:PORT grpc=HOST:PORT`
// (no grpc= when off). SIGTERM/SIGINT: stop accepting, answer the gRPC calls in flight, drain
// connections, IngestService::Shutdown (flushes everything), exit 0. A start-up failure after
// parsing exits 1 with the reason on stderr.
//
// Thread-safety: call once, from main.
#pragma once

namespace ew::server {

int RunEdgewise(int argc, const char* const* argv);

}  // namespace ew::server

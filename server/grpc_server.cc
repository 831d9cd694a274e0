#include "server/grpc_server.h"

#include <grpc/slice.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <climits>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "base/log.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.grpc.pb.h"
#include "server/auth.h"
#include "server/grpc_status.h"
#include "server/routes.h"

namespace grpc::internal {

// byte_buffer.h befriends this class (gRPC's own tests use it); it is the way to the raw
// grpc_byte_buffer, whose `compression` field says whether the message is still compressed.
// ByteBuffer::Dump would inflate it without a size limit.
class GrpcByteBufferPeer {
 public:
  static grpc_byte_buffer* Raw(const ByteBuffer* b) {
    return const_cast<ByteBuffer*>(b)->c_buffer();
  }
};

}  // namespace grpc::internal

namespace ew::server {
namespace {

namespace otlp = opentelemetry::proto::collector::trace::v1;

// THE call into ingest: the serialized ExportTraceServiceRequest (gzip when `gzip`) goes the
// way a POST /v1/traces protobuf body goes.
void ExportToIngest(ingest::IngestService* ingest, std::string body, bool gzip, std::string tenant,
                    std::function<void(ingest::ExportResponse)> done) {
  ingest::ExportRequest request;
  request.tenant = std::move(tenant);
  request.body = std::move(body);
  request.decoder = &ingest::OtlpProtobufDecoder();
  request.gzip = gzip;
  ingest->Export(std::move(request), std::move(done));
}

// The message bytes as received (one copy: the ingest request owns its body).
std::string CopyMessage(const grpc_byte_buffer* raw) {
  const grpc_slice_buffer& slices = raw->data.raw.slice_buffer;
  std::string out;
  out.reserve(slices.length);
  for (size_t i = 0; i < slices.count; ++i) {
    out.append(reinterpret_cast<const char*>(GRPC_SLICE_START_PTR(slices.slices[i])),
               GRPC_SLICE_LENGTH(slices.slices[i]));
  }
  return out;
}

class TraceService final
    : public otlp::TraceService::WithRawCallbackMethod_Export<otlp::TraceService::Service> {
 public:
  TraceService(const GrpcServerOptions& options, ingest::IngestService* ingest,
               MetricsRegistry* metrics)
      : auth_(options.auth), ingest_(ingest), metrics_(metrics) {}

  grpc::ServerUnaryReactor* Export(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    AuthDecision who = Resolve(*context);
    if (who.outcome != AuthDecision::kOk) {
      const int code = who.outcome == AuthDecision::kUnauthorized ? kGrpcUnauthenticated
                       : who.outcome == AuthDecision::kForbidden  ? kGrpcPermissionDenied
                                                                  : kGrpcInvalidArgument;
      Finish(reactor, {code, std::move(who.message), "", ""}, nullptr);
      return reactor;
    }
    const grpc_byte_buffer* raw = grpc::internal::GrpcByteBufferPeer::Raw(request);
    if (raw == nullptr || raw->type != GRPC_BB_RAW) {
      Finish(reactor, {kGrpcInvalidArgument, "no request message", "", ""}, nullptr);
      return reactor;
    }
    const grpc_compression_algorithm algorithm = raw->data.raw.compression;
    if (algorithm != GRPC_COMPRESS_NONE && algorithm != GRPC_COMPRESS_GZIP) {
      Finish(reactor, {kGrpcUnimplemented, "unsupported message compression (use gzip)", "", ""},
             nullptr);
      return reactor;
    }
    ExportToIngest(ingest_, CopyMessage(raw), algorithm == GRPC_COMPRESS_GZIP,
                   std::move(who.principal.tenant),
                   [this, reactor, response](ingest::ExportResponse r) {
                     Finish(reactor, ExportToGrpc(std::move(r)), response);
                   });
    return reactor;
  }

 private:
  AuthDecision Resolve(const grpc::CallbackServerContext& context) const {
    const auto& metadata = context.client_metadata();
    auto value = [&metadata](const char* key) {
      auto it = metadata.find(key);
      return it == metadata.end() ? std::string_view()
                                  : std::string_view(it->second.data(), it->second.size());
    };
    if (auth_ == nullptr) return AuthDecision{};
    return auth_->Resolve(value("authorization"), value("x-scope-orgid"), kScopeIngest);
  }

  void Finish(grpc::ServerUnaryReactor* reactor, GrpcAnswer answer, grpc::ByteBuffer* response) {
    metrics_
        ->GetCounter("ew_grpc_requests_total", "OTLP/gRPC calls answered, by method and status",
                     {{"method", "Export"}, {"code", std::string(GrpcCodeName(answer.code))}})
        ->Add();
    if (answer.code == kGrpcOk) {
      grpc::Slice slice(answer.body);
      *response = grpc::ByteBuffer(&slice, 1);
      reactor->Finish(grpc::Status::OK);
      return;
    }
    reactor->Finish(grpc::Status(static_cast<grpc::StatusCode>(answer.code),
                                 std::move(answer.message), std::move(answer.details)));
  }

  const Authenticator* const auth_;
  ingest::IngestService* const ingest_;
  MetricsRegistry* const metrics_;
};

}  // namespace

struct GrpcServer::Impl {
  std::unique_ptr<TraceService> service;
  std::unique_ptr<grpc::Server> server;
  std::string bound;
  bool shut_down = false;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcServer::~GrpcServer() { Shutdown(std::chrono::milliseconds(0)); }

const std::string& GrpcServer::bound() const { return impl_->bound; }

namespace {

Result<std::string> ReadPem(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return Status::InvalidArgument(flag + " " + path + ": unreadable");
  if (text.empty()) return Status::InvalidArgument(flag + " " + path + ": missing or empty");
  return text;
}

// Plaintext, or TLS from the PEM files (mutual with a client CA).
Result<std::shared_ptr<grpc::ServerCredentials>> Credentials(const GrpcServerOptions& o) {
  if (o.tls_cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl(
      o.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  EW_ASSIGN_OR_RETURN(std::string cert, ReadPem("tls-cert", o.tls_cert));
  EW_ASSIGN_OR_RETURN(std::string key, ReadPem("tls-key", o.tls_key));
  ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
  if (!o.tls_client_ca.empty()) {
    EW_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadPem("tls-client-ca", o.tls_client_ca));
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(const GrpcServerOptions& options,
                                                      ingest::IngestService* ingest,
                                                      MetricsRegistry* metrics) {
  auto impl = std::make_unique<Impl>();
  impl->service = std::make_unique<TraceService>(options, ingest, metrics);
  auto credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.addr, *credentials, &port);
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint64_t>(options.max_message_bytes, INT_MAX)));
  // The handler gets gzip messages as they came and inflates them with a bound (see header).
  builder.AddChannelArgument(GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
  builder.SetCompressionAlgorithmSupportStatus(GRPC_COMPRESS_DEFLATE, false);
  // A port in use is a start-up error, as for the HTTP listeners (gRPC sets SO_REUSEPORT).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (impl->server == nullptr || port == 0) {
    return Status::IOError("cannot listen on " + options.addr + " (otlp-grpc)");
  }
  impl->bound = options.addr.substr(0, options.addr.rfind(':')) + ":" + std::to_string(port);
  EW_LOG(kInfo) << "server: OTLP/gRPC listening on " << impl->bound;
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

void GrpcServer::Shutdown(std::chrono::milliseconds timeout) {
  if (impl_ == nullptr || impl_->shut_down) return;
  impl_->shut_down = true;
  impl_->server->Shutdown(std::chrono::system_clock::now() + timeout);
  impl_->server->Wait();
}

}  // namespace ew::server

#include "tools/grpc_export.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <string>
#include <vector>

namespace ew::tools {

constexpr char kExportMethod[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

struct GrpcExporter::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<grpc::GenericStub> stub;
};

GrpcExporter::GrpcExporter(const HostPort& target) : impl_(std::make_unique<Impl>()) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
  args.SetMaxSendMessageSize(-1);
  impl_->channel = grpc::CreateCustomChannel(target.host + ":" + std::to_string(target.port),
                                             grpc::InsecureChannelCredentials(), args);
  impl_->stub = std::make_unique<grpc::GenericStub>(impl_->channel);
}

GrpcExporter::~GrpcExporter() = default;

PostResult GrpcExporter::Export(std::string_view message, bool gzip) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (gzip) context.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  grpc::Slice slice(message.data(), message.size());
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  impl_->stub->UnaryCall(&context, kExportMethod, grpc::StubOptions(), &request, &response,
                         [&done](grpc::Status s) { done.set_value(std::move(s)); });
  const grpc::Status status = done.get_future().get();
  PostResult r;
  r.http_status = static_cast<int>(status.error_code());
  if (!status.ok()) {
    r.outcome = status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                        impl_->channel->GetState(false) != GRPC_CHANNEL_READY
                    ? PostOutcome::kUnreachable
                    : PostOutcome::kRefused;
    r.message = status.error_message();
    return r;
  }
  std::vector<grpc::Slice> slices;
  std::string body;
  if (response.Valid() && response.Dump(&slices).ok()) {
    for (const auto& s : slices) body.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  r.rejected = RejectedSpans(body, false);
  r.outcome = r.rejected == 0 ? PostOutcome::kAcked : PostOutcome::kPartial;
  return r;
}

}  // namespace ew::tools

// The OTLP/gRPC status mapping (server/grpc_status.h): every Export outcome's code, and the
// google.rpc.Status + RetryInfo details read back with libprotobuf's wire parser.
#include "server/grpc_status.h"

#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include "ingest/decoders/otlp_response.h"

namespace ew::server {
namespace {

using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;
using ingest::ExportOutcome;

ingest::ExportResponse Outcome(ExportOutcome o, std::string body, int retry_after_s = 0) {
  ingest::ExportResponse r;
  r.outcome = o;
  r.body = std::move(body);
  r.retry_after_s = retry_after_s;
  return r;
}

// The fields with `number` in a parsed message.
std::vector<const UnknownField*> Fields(const UnknownFieldSet& set, int number) {
  std::vector<const UnknownField*> out;
  for (int i = 0; i < set.field_count(); ++i) {
    if (set.field(i).number() == number) out.push_back(&set.field(i));
  }
  return out;
}

// Decodes google.rpc.Status; returns the RetryInfo delay in seconds, or -1 without one.
int64_t ReadStatus(const std::string& bytes, int* code, std::string* message) {
  UnknownFieldSet status;
  EXPECT_TRUE(status.ParseFromString(bytes));
  auto codes = Fields(status, 1);
  *code = codes.empty() ? 0 : static_cast<int>(codes[0]->varint());
  auto messages = Fields(status, 2);
  *message = messages.empty() ? "" : messages[0]->length_delimited();
  auto details = Fields(status, 3);
  if (details.empty()) return -1;
  EXPECT_EQ(details.size(), 1u);
  UnknownFieldSet any;
  EXPECT_TRUE(any.ParseFromString(details[0]->length_delimited()));
  auto type_url = Fields(any, 1);
  auto value = Fields(any, 2);
  if (type_url.size() != 1 || value.size() != 1) return -2;
  EXPECT_EQ(type_url[0]->length_delimited(), "type.googleapis.com/google.rpc.RetryInfo");
  UnknownFieldSet retry_info, duration;
  EXPECT_TRUE(retry_info.ParseFromString(value[0]->length_delimited()));
  auto delay = Fields(retry_info, 1);
  if (delay.size() != 1) return -3;
  EXPECT_TRUE(duration.ParseFromString(delay[0]->length_delimited()));
  auto seconds = Fields(duration, 1);
  return seconds.size() == 1 ? static_cast<int64_t>(seconds[0]->varint()) : 0;
}

TEST(GrpcStatusTest, OkCarriesTheExportResponseBytes) {
  std::string body = ingest::EncodeExportResponseProtobuf(3, "3 spans too old");
  GrpcAnswer a = ExportToGrpc(Outcome(ExportOutcome::kOk, body));
  EXPECT_EQ(a.code, kGrpcOk);
  EXPECT_EQ(a.body, body);
  EXPECT_TRUE(a.message.empty());
  EXPECT_TRUE(a.details.empty());
}

TEST(GrpcStatusTest, RefusalsWithoutRetryInfo) {
  for (auto [outcome, code] : {std::pair{ExportOutcome::kMalformed, kGrpcInvalidArgument},
                               std::pair{ExportOutcome::kUnsupported, kGrpcInvalidArgument},
                               std::pair{ExportOutcome::kTooLarge, kGrpcResourceExhausted}}) {
    GrpcAnswer a = ExportToGrpc(Outcome(outcome, "what was wrong", 5));
    EXPECT_EQ(a.code, code);
    EXPECT_EQ(a.message, "what was wrong");
    EXPECT_TRUE(a.details.empty()) << "a client must not retry this";
    EXPECT_TRUE(a.body.empty());
  }
}

TEST(GrpcStatusTest, OverloadAndUnavailableCarryRetryInfo) {
  struct Case {
    ExportOutcome outcome;
    int retry_after_s;
    int code;
    int64_t delay;
  };
  for (const Case& c : {Case{ExportOutcome::kOverloaded, 2, kGrpcResourceExhausted, 2},
                        Case{ExportOutcome::kOverloaded, 0, kGrpcResourceExhausted, 1},
                        Case{ExportOutcome::kUnavailable, 30, kGrpcUnavailable, 30},
                        Case{ExportOutcome::kUnavailable, -4, kGrpcUnavailable, 1}}) {
    GrpcAnswer a = ExportToGrpc(Outcome(c.outcome, "busy, retry", c.retry_after_s));
    EXPECT_EQ(a.code, c.code);
    EXPECT_EQ(a.message, "busy, retry");
    int code = -1;
    std::string message;
    EXPECT_EQ(ReadStatus(a.details, &code, &message), c.delay);
    EXPECT_EQ(code, c.code);  // the details repeat the status, as gRPC requires
    EXPECT_EQ(message, "busy, retry");
  }
}

TEST(GrpcStatusTest, LongMessageAndLargeDelayEncodeMultiByteVarints) {
  std::string message(300, 'm');
  int code = -1;
  std::string read;
  EXPECT_EQ(ReadStatus(EncodeRpcStatusWithRetryInfo(14, message, 100'000), &code, &read), 100'000);
  EXPECT_EQ(code, 14);
  EXPECT_EQ(read, message);
  EXPECT_EQ(ReadStatus(EncodeRpcStatusWithRetryInfo(3, "", 0), &code, &read), -1);
  EXPECT_EQ(code, 3);
}

TEST(GrpcStatusTest, CodeNames) {
  EXPECT_EQ(GrpcCodeName(0), "OK");
  EXPECT_EQ(GrpcCodeName(kGrpcInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(kGrpcResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(kGrpcUnavailable), "UNAVAILABLE");
  EXPECT_EQ(GrpcCodeName(kGrpcUnauthenticated), "UNAUTHENTICATED");
  EXPECT_EQ(GrpcCodeName(17), "UNKNOWN");
  EXPECT_EQ(GrpcCodeName(-1), "UNKNOWN");
}

}  // namespace
}  // namespace ew::server

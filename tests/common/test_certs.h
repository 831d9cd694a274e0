// Test certificates made at test time by the openssl command (issue "A shared service": TLS
// tested with certificates made at test time): a CA (ca.pem, ca.key), a server certificate for
// 127.0.0.1 and localhost (server.pem, server.key) and a client certificate (client.pem,
// client.key), both signed by the CA, in one directory. Also Sh(): a shell command's exit code
// and output (stdout and stderr).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace ew::testing {

struct Shell {
  int code = -1;
  std::string out;
};

// Runs a shell command, capturing stdout (stderr goes to the test's log).
inline Shell Sh(const std::string& command) {
  Shell r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA.
inline bool MakeTestCertificates(const std::string& d) {
  const std::string key = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::ofstream(d + "/server.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                   << "extendedKeyUsage=serverAuth\n";
  std::ofstream(d + "/client.ext") << "extendedKeyUsage=clientAuth\n";
  const std::vector<std::string> steps = {
      "openssl req -x509" + key + " -keyout " + d + "/ca.key -out " + d +
          "/ca.pem -days 2 -subj /CN=edgewise-test-ca",
      "openssl req" + key + " -keyout " + d + "/server.key -out " + d +
          "/server.csr -subj /CN=127.0.0.1",
      "openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/server.pem -days 2 -extfile " + d + "/server.ext",
      "openssl req" + key + " -keyout " + d + "/client.key -out " + d +
          "/client.csr -subj /CN=edgewise-test-client",
      "openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.pem -CAkey " + d +
          "/ca.key -CAcreateserial -out " + d + "/client.pem -days 2 -extfile " + d + "/client.ext",
  };
  for (const auto& s : steps) {
    Shell r = Sh(s);
    if (r.code != 0) {
      ADD_FAILURE() << s << ": " << r.out;
      return false;
    }
  }
  return true;
}

}  // namespace ew::testing

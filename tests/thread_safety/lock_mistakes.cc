// Lock mistakes the clang thread-safety build must reject (tests/thread_safety/CMakeLists.txt).
// Compiled once per EW_MISTAKE value with -Wthread-safety -Werror; each mistake must fail with
// its diagnostic, and EW_MISTAKE=0 (the same code with the locks right) must compile.
#include "base/mutex.h"

#ifndef EW_MISTAKE
#define EW_MISTAKE 0
#endif

namespace {

class Account {
 public:
  void Deposit(int n) EXCLUDES(mu_) {
#if EW_MISTAKE != 1
    ew::MutexLock lock(&mu_);
#endif
    balance_ += n;  // 1: written without mu_
  }
  int Balance() EXCLUDES(mu_) {
#if EW_MISTAKE != 2
    ew::MutexLock lock(&mu_);
#endif
    return balance_;  // 2: read without mu_
  }
  void Add(int n) EXCLUDES(mu_) {
#if EW_MISTAKE != 3
    ew::MutexLock lock(&mu_);
#endif
    AddLocked(n);  // 3: a REQUIRES(mu_) function called without mu_
  }
  void WaitPositive() EXCLUDES(mu_) {
#if EW_MISTAKE != 4
    ew::MutexLock lock(&mu_);
#endif
    while (balance_ <= 0) cv_.Wait(mu_);  // 4: a wait without mu_
  }
  void Nested() EXCLUDES(mu_) {
    ew::MutexLock lock(&mu_);
#if EW_MISTAKE == 5
    Deposit(1);  // 5: an EXCLUDES(mu_) function called with mu_ held (self-deadlock)
#endif
  }
  void Audit(int n) EXCLUDES(table_mu_) {
#if EW_MISTAKE == 6
    ew::ReaderLock lock(&table_mu_);
#else
    ew::WriterLock lock(&table_mu_);
#endif
    audited_ = n;  // 6: written under a shared (reader) lock
  }
  void AuditWithBalance() EXCLUDES(mu_, table_mu_) {
#if EW_MISTAKE == 8
    ew::WriterLock table_lock(&table_mu_);
    ew::MutexLock lock(&mu_);  // 8: the lock order inverted (mu_ is ACQUIRED_BEFORE table_mu_)
#else
    ew::MutexLock lock(&mu_);
    ew::WriterLock table_lock(&table_mu_);
#endif
    audited_ = balance_;
  }
  void Relock() EXCLUDES(mu_) {
    ew::MutexLock lock(&mu_);
    lock.Unlock();
#if EW_MISTAKE != 7
    lock.Lock();
#endif
    balance_ = 0;  // 7: written after the scoped lock released mu_
  }

 private:
  void AddLocked(int n) REQUIRES(mu_) { balance_ += n; }

  ew::Mutex mu_ ACQUIRED_BEFORE(table_mu_);
  ew::CondVar cv_;
  int balance_ GUARDED_BY(mu_) = 0;
  ew::SharedMutex table_mu_;
  int audited_ GUARDED_BY(table_mu_) = 0;
};

}  // namespace

int main() {
  Account a;
  a.Deposit(1);
  a.Add(1);
  a.WaitPositive();
  a.Nested();
  a.Audit(1);
  a.Relock();
  a.AuditWithBalance();
  return a.Balance();
}
